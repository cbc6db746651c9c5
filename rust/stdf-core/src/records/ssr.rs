record! {
    /// SSR 1/93 — Scan Structure Record (V4-2007).
    Ssr = "SSR" (1, 93) {
        /// Scan structure name.
        ssr_nam: Cn,
        /// Number of chains.
        chn_cnt: U2,
        /// CDR indexes of the chains.
        chn_list: AU2[chn_cnt],
    }
}

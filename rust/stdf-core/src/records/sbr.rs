record! {
    /// SBR 1/50 — Software Bin Record.
    Sbr = "SBR" (1, 50) {
        /// Test head (255 = all sites).
        head_num: U1,
        /// Test site.
        site_num: U1,
        /// Software bin number.
        sbin_num: U2,
        /// Parts in the bin.
        sbin_cnt: U4,
        /// Pass/fail indication: 'P', 'F', space = unknown.
        sbin_pf: C1,
        /// Bin name.
        sbin_nam: Cn,
    }
}

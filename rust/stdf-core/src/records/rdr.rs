record! {
    /// RDR 1/70 — Retest Data Record.
    Rdr = "RDR" (1, 70) {
        /// Number of bins being retested (0 = all).
        num_bins: U2,
        /// Hardware bins being retested.
        rtst_bin: AU2[num_bins],
    }
}

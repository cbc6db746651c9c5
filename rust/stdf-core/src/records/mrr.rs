record! {
    /// MRR 1/20 — Master Results Record: the last record of a stream.
    Mrr = "MRR" (1, 20) {
        /// Time the last part finished.
        finish_t: U4,
        /// Lot disposition code (space = missing).
        disp_cod: C1,
        /// Lot description from the user.
        usr_desc: Cn,
        /// Lot description from the executive.
        exc_desc: Cn,
    }
}

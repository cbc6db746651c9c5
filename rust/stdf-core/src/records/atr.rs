record! {
    /// ATR 0/20 — Audit Trail Record: one per tool that modified the file.
    Atr = "ATR" (0, 20) {
        /// Time the file was modified (0 = missing).
        mod_tim: U4,
        /// Command line of the modifying program.
        cmd_line: Cn,
    }
}

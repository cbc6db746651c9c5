record! {
    /// DTR 50/30 — Datalog Text Record.
    Dtr = "DTR" (50, 30) {
        /// Free text.
        text_dat: Cn,
    }
}

record! {
    /// WIR 2/10 — Wafer Information Record.
    Wir = "WIR" (2, 10) {
        /// Test head.
        head_num: U1,
        /// Site group (255 = missing).
        site_grp: U1,
        /// First part of the wafer.
        start_t: U4,
        /// Wafer ID.
        wafer_id: Cn,
    }
}

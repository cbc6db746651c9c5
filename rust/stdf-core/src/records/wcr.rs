record! {
    /// WCR 2/30 — Wafer Configuration Record.
    Wcr = "WCR" (2, 30) {
        /// Wafer diameter (0 = missing).
        wafr_siz: R4,
        /// Die height (0 = missing).
        die_ht: R4,
        /// Die width (0 = missing).
        die_wid: R4,
        /// Units: 0 unknown, 1 inch, 2 cm, 3 mm, 4 mil.
        wf_units: U1,
        /// Flat/notch orientation U, D, L, R (space = missing).
        wf_flat: C1,
        /// X of the centre die (-32768 = missing).
        center_x: I2,
        /// Y of the centre die (-32768 = missing).
        center_y: I2,
        /// Positive X direction L or R (space = missing).
        pos_x: C1,
        /// Positive Y direction U or D (space = missing).
        pos_y: C1,
    }
}

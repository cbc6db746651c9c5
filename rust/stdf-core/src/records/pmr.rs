record! {
    /// PMR 1/60 — Pin Map Record: one per channel/pin.
    Pmr = "PMR" (1, 60) {
        /// Unique pin index (1..32767).
        pmr_indx: U2,
        /// Channel type (0 = missing).
        chan_typ: U2,
        /// Channel name.
        chan_nam: Cn,
        /// Physical pin name.
        phy_nam: Cn,
        /// Logical pin name.
        log_nam: Cn,
        /// Head the channel belongs to (default 1).
        head_num: U1,
        /// Site the channel belongs to (default 1).
        site_num: U1,
    }
}

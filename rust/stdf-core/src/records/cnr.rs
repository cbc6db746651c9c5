record! {
    /// CNR 1/92 — Cell Name Record (V4-2007).
    Cnr = "CNR" (1, 92) {
        /// Chain number.
        chn_num: U2,
        /// Bit position in the chain.
        bit_pos: U4,
        /// Scan cell name.
        cell_nam: Sn,
    }
}

record! {
    /// PRR 5/20 — Part Results Record: closes a part.
    Prr = "PRR" (5, 20) {
        /// Test head.
        head_num: U1,
        /// Test site.
        site_num: U1,
        /// Part flags: bit0/1 supersede by ID / XY, bit2 abnormal end, bit3 failed, bit4 P/F invalid.
        part_flg: B1,
        /// Tests executed.
        num_test: U2,
        /// Hardware bin.
        hard_bin: U2,
        /// Software bin (65535 = missing).
        soft_bin: U2,
        /// Wafer X coordinate (-32768 = missing).
        x_coord: I2,
        /// Wafer Y coordinate (-32768 = missing).
        y_coord: I2,
        /// Elapsed test time in ms (0 = missing).
        test_t: U4,
        /// Part identification.
        part_id: Cn,
        /// Part description.
        part_txt: Cn,
        /// Part repair information.
        part_fix: Bn,
    }
}

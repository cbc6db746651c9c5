record! {
    /// PCR 1/30 — Part Count Record (per site, or all sites with HEAD_NUM 255).
    Pcr = "PCR" (1, 30) {
        /// Test head (255 = all sites).
        head_num: U1,
        /// Test site.
        site_num: U1,
        /// Parts tested.
        part_cnt: U4,
        /// Parts retested (4294967295 = missing).
        rtst_cnt: U4,
        /// Aborts during testing (4294967295 = missing).
        abrt_cnt: U4,
        /// Good parts (4294967295 = missing).
        good_cnt: U4,
        /// Functional parts (4294967295 = missing).
        func_cnt: U4,
    }
}

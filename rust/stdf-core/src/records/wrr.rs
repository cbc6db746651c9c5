record! {
    /// WRR 2/20 — Wafer Results Record.
    Wrr = "WRR" (2, 20) {
        /// Test head.
        head_num: U1,
        /// Site group (255 = missing).
        site_grp: U1,
        /// Last part of the wafer.
        finish_t: U4,
        /// Parts tested.
        part_cnt: U4,
        /// Parts retested (4294967295 = missing).
        rtst_cnt: U4,
        /// Aborts (4294967295 = missing).
        abrt_cnt: U4,
        /// Good parts (4294967295 = missing).
        good_cnt: U4,
        /// Functional parts (4294967295 = missing).
        func_cnt: U4,
        /// Wafer ID (supersedes WIR's).
        wafer_id: Cn,
        /// Fab wafer ID.
        fabwf_id: Cn,
        /// Wafer frame ID.
        frame_id: Cn,
        /// Wafer mask ID.
        mask_id: Cn,
        /// Description from the user.
        usr_desc: Cn,
        /// Description from the executive.
        exc_desc: Cn,
    }
}

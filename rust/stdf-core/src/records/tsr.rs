record! {
    /// TSR 10/30 — Test Synopsis Record.
    Tsr = "TSR" (10, 30) {
        /// Test head (255 = all sites).
        head_num: U1,
        /// Test site.
        site_num: U1,
        /// Test type P, F, M (space = missing).
        test_typ: C1,
        /// Test number.
        test_num: U4,
        /// Executions (4294967295 = missing).
        exec_cnt: U4,
        /// Failures (4294967295 = missing).
        fail_cnt: U4,
        /// Alarmed executions (4294967295 = missing).
        alrm_cnt: U4,
        /// Test name.
        test_nam: Cn,
        /// Sequencer (program segment) name.
        seq_name: Cn,
        /// Test label.
        test_lbl: Cn,
        /// Optional data flags (bit set = field invalid).
        opt_flag: B1,
        /// Average test time in seconds.
        test_tim: R4,
        /// Lowest result.
        test_min: R4,
        /// Highest result.
        test_max: R4,
        /// Sum of results.
        tst_sums: R4,
        /// Sum of squared results.
        tst_sqrs: R4,
    }
}

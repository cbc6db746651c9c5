record! {
    /// FTR 15/20 — Functional Test Record.
    Ftr = "FTR" (15, 20) {
        /// Test number.
        test_num: U4,
        /// Test head.
        head_num: U1,
        /// Test site.
        site_num: U1,
        /// Test flags.
        test_flg: B1,
        /// Optional data flags.
        opt_flag: B1,
        /// Cycle count of the vector.
        cycl_cnt: U4,
        /// Relative vector address.
        rel_vadr: U4,
        /// Repeat count of the vector.
        rept_cnt: U4,
        /// Number of pins with one or more failures.
        num_fail: U4,
        /// X logical failure address.
        xfail_ad: I4,
        /// Y logical failure address.
        yfail_ad: I4,
        /// Offset from the vector of interest.
        vect_off: I2,
        /// Count of return data PMR indexes (j).
        rtn_icnt: U2,
        /// Count of programmed state indexes (k).
        pgm_icnt: U2,
        /// Return data PMR indexes.
        rtn_indx: AU2[rtn_icnt],
        /// Returned states (nibbles).
        rtn_stat: AN1[rtn_icnt],
        /// Programmed state PMR indexes.
        pgm_indx: AU2[pgm_icnt],
        /// Programmed states (nibbles).
        pgm_stat: AN1[pgm_icnt],
        /// Failing pin bitfield.
        fail_pin: DnK,
        /// Vector module pattern name.
        vect_nam: Cn,
        /// Time set name.
        time_set: Cn,
        /// Vector op code.
        op_code: Cn,
        /// Test description.
        test_txt: Cn,
        /// Alarm names.
        alarm_id: Cn,
        /// Additional programmed information.
        prog_txt: Cn,
        /// Additional result information.
        rslt_txt: Cn,
        /// Pattern generator number (255 = missing).
        patg_num: U1,
        /// Bit map of enabled comparators.
        spin_map: DnK,
    }
}

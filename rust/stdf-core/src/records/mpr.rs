record! {
    /// MPR 15/15 — Multiple-Result Parametric Record.
    Mpr = "MPR" (15, 15) {
        /// Test number.
        test_num: U4,
        /// Test head.
        head_num: U1,
        /// Test site.
        site_num: U1,
        /// Test flags.
        test_flg: B1,
        /// Parametric test flags.
        parm_flg: B1,
        /// Number of pin indexes / returned states (j).
        rtn_icnt: U2,
        /// Number of results (k).
        rslt_cnt: U2,
        /// Returned state per pin (nibbles).
        rtn_stat: AN1[rtn_icnt],
        /// Results in base units.
        rtn_rslt: AR4[rslt_cnt],
        /// Test description.
        test_txt: Cn,
        /// Alarm names.
        alarm_id: Cn,
        /// Optional data flags (default data from here on).
        opt_flag: B1,
        /// Result scaling exponent.
        res_scal: I1,
        /// Low limit scaling exponent.
        llm_scal: I1,
        /// High limit scaling exponent.
        hlm_scal: I1,
        /// Low test limit.
        lo_limit: R4,
        /// High test limit.
        hi_limit: R4,
        /// Starting input value (sweep).
        start_in: R4,
        /// Input increment.
        incr_in: R4,
        /// PMR index per element.
        rtn_indx: AU2[rtn_icnt],
        /// Units of the results.
        units: Cn,
        /// Units of the input condition.
        units_in: Cn,
        /// Result format string.
        c_resfmt: Cn,
        /// Low limit format string.
        c_llmfmt: Cn,
        /// High limit format string.
        c_hlmfmt: Cn,
        /// Low specification limit.
        lo_spec: R4,
        /// High specification limit.
        hi_spec: R4,
    }
}

record! {
    /// PTR 15/10 — Parametric Test Record.
    Ptr = "PTR" (15, 10) {
        /// Test number.
        test_num: U4,
        /// Test head.
        head_num: U1,
        /// Test site.
        site_num: U1,
        /// Test flags (bit1 result invalid, bit4 not executed, bit6 no P/F, bit7 failed).
        test_flg: B1,
        /// Parametric test flags.
        parm_flg: B1,
        /// Test result in base units.
        result: R4,
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
        /// Units of the result.
        units: Cn,
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

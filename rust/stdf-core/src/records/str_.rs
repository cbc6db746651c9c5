record! {
    /// STR 15/30 — Scan Test Record (V4-2007).
    StrRec = "STR" (15, 30) {
        /// Continuation flag.
        cont_flg: B1,
        /// Test number.
        test_num: U4,
        /// Test head.
        head_num: U1,
        /// Test site.
        site_num: U1,
        /// PSR index.
        psr_ref: U2,
        /// Test flags.
        test_flg: B1,
        /// Datalog type.
        log_typ: Cn,
        /// Test description.
        test_txt: Cn,
        /// Alarm names.
        alarm_id: Cn,
        /// Additional programmed information.
        prog_txt: Cn,
        /// Additional result information.
        rslt_txt: Cn,
        /// Z-state handling.
        z_val: U1,
        /// MASK_MAP / FAL_MAP validity flags.
        fmu_flg: B1,
        /// Globally masked pins.
        mask_map: DnK,
        /// Pins failing after the fail buffer filled.
        fal_map: DnK,
        /// Total cycles executed.
        cyc_cnt: U8,
        /// Total failures detected.
        totf_cnt: U4,
        /// Total failures logged.
        totl_cnt: U4,
        /// Cycle offset base.
        cyc_base: U8,
        /// Bit position base.
        bit_base: U4,
        /// Number of conditions.
        cond_cnt: U2,
        /// Number of per-pin limits.
        lim_cnt: U2,
        /// Width of CYC_OFST items.
        cyc_size: U1,
        /// Width of PMR_INDX items.
        pmr_size: U1,
        /// Width of CHN_NUM items.
        chn_size: U1,
        /// Width of PAT_NUM items.
        pat_size: U1,
        /// Width of BIT_POS items.
        bit_size: U1,
        /// Width of USR1 items.
        u1_size: U1,
        /// Width of USR2 items.
        u2_size: U1,
        /// Width of USR3 items.
        u3_size: U1,
        /// Length of each USER_TXT string.
        utx_size: U1,
        /// Capture cycle bit offset.
        cap_bgn: U2,
        /// PMR indexes with their own limits.
        lim_indx: AU2[lim_cnt],
        /// Fail-log limit per pin.
        lim_spec: AU4[lim_cnt],
        /// Test conditions.
        cond_lst: ACn[cond_cnt],
        /// Number of CYC_OFST entries.
        cyco_cnt: U2,
        /// Cycle offsets of logged failures.
        cyc_ofst: AUf[cyco_cnt; cyc_size],
        /// Number of PMR_INDX entries.
        pmr_cnt: U2,
        /// Pin of each logged failure.
        pmr_indx: AUf[pmr_cnt; pmr_size],
        /// Number of CHN_NUM entries.
        chn_cnt: U2,
        /// Chain of each logged failure.
        chn_num: AUf[chn_cnt; chn_size],
        /// Number of EXP_DATA entries.
        exp_cnt: U2,
        /// Expected data.
        exp_data: AU1[exp_cnt],
        /// Number of CAP_DATA entries.
        cap_cnt: U2,
        /// Captured data.
        cap_data: AU1[cap_cnt],
        /// Number of NEW_DATA entries.
        new_cnt: U2,
        /// New vector data.
        new_data: AU1[new_cnt],
        /// Number of PAT_NUM entries.
        pat_cnt: U2,
        /// Pattern number per failure.
        pat_num: AUf[pat_cnt; pat_size],
        /// Number of BIT_POS entries.
        bpos_cnt: U2,
        /// Chain bit position per failure.
        bit_pos: AUf[bpos_cnt; bit_size],
        /// Number of USR1 entries.
        usr1_cnt: U2,
        /// User data 1.
        usr1: AUf[usr1_cnt; u1_size],
        /// Number of USR2 entries.
        usr2_cnt: U2,
        /// User data 2.
        usr2: AUf[usr2_cnt; u2_size],
        /// Number of USR3 entries.
        usr3_cnt: U2,
        /// User data 3.
        usr3: AUf[usr3_cnt; u3_size],
        /// Number of USER_TXT entries.
        txt_cnt: U2,
        /// Fixed-width user strings.
        user_txt: ACf[txt_cnt; utx_size],
    }
}

record! {
    /// MIR 1/10 — Master Information Record: one per data stream.
    Mir = "MIR" (1, 10) {
        /// Job setup time.
        setup_t: U4,
        /// First part tested.
        start_t: U4,
        /// Tester station number.
        stat_num: U1,
        /// Test mode code (space = missing).
        mode_cod: C1,
        /// Lot retest code (space = missing).
        rtst_cod: C1,
        /// Data protection code (space = missing).
        prot_cod: C1,
        /// Burn-in time in minutes (65535 = missing).
        burn_tim: U2,
        /// Command mode code (space = missing).
        cmod_cod: C1,
        /// Lot ID.
        lot_id: Cn,
        /// Part type / product ID.
        part_typ: Cn,
        /// Node name of the tester host.
        node_nam: Cn,
        /// Tester type.
        tstr_typ: Cn,
        /// Job (test program) name.
        job_nam: Cn,
        /// Job revision.
        job_rev: Cn,
        /// Sublot ID.
        sblot_id: Cn,
        /// Operator name.
        oper_nam: Cn,
        /// Tester executive software type.
        exec_typ: Cn,
        /// Executive software version.
        exec_ver: Cn,
        /// Test phase or step code.
        test_cod: Cn,
        /// Test temperature.
        tst_temp: Cn,
        /// Generic user text.
        user_txt: Cn,
        /// Auxiliary data file name.
        aux_file: Cn,
        /// Package type.
        pkg_typ: Cn,
        /// Product family ID.
        famly_id: Cn,
        /// Date code.
        date_cod: Cn,
        /// Test facility ID.
        facil_id: Cn,
        /// Test floor ID.
        floor_id: Cn,
        /// Fabrication process ID.
        proc_id: Cn,
        /// Operation frequency or step.
        oper_frq: Cn,
        /// Test specification name.
        spec_nam: Cn,
        /// Test specification version.
        spec_ver: Cn,
        /// Test flow ID.
        flow_id: Cn,
        /// Test setup ID.
        setup_id: Cn,
        /// Device design revision.
        dsgn_rev: Cn,
        /// Engineering lot ID.
        eng_id: Cn,
        /// ROM code ID.
        rom_cod: Cn,
        /// Tester serial number.
        serl_num: Cn,
        /// Supervisor name.
        supr_nam: Cn,
    }
}

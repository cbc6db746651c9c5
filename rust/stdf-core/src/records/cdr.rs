record! {
    /// CDR 1/94 — Chain Description Record (V4-2007).
    Cdr = "CDR" (1, 94) {
        /// Continuation flag.
        cont_flg: B1,
        /// Chain record index.
        cdr_indx: U2,
        /// Chain name.
        chn_nam: Cn,
        /// Cells in the chain.
        chn_len: U4,
        /// PMR index of scan-in.
        sin_pin: U2,
        /// PMR index of scan-out.
        sout_pin: U2,
        /// Number of master clocks.
        mstr_cnt: U1,
        /// Master clock PMR indexes.
        m_clks: AU2[mstr_cnt],
        /// Number of slave clocks.
        slav_cnt: U1,
        /// Slave clock PMR indexes.
        s_clks: AU2[slav_cnt],
        /// Inversion (0 none, 1 inverted).
        inv_val: U1,
        /// Cells listed in this record.
        lst_cnt: U2,
        /// Cell names.
        cell_lst: ASn[lst_cnt],
    }
}

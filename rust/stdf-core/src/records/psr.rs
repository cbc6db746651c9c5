record! {
    /// PSR 1/90 — Pattern Sequence Record (V4-2007).
    Psr = "PSR" (1, 90) {
        /// Continuation flag: non-zero when another PSR continues this one.
        cont_flg: B1,
        /// PSR index referenced by STR.
        psr_indx: U2,
        /// Symbolic name.
        psr_nam: Cn,
        /// Optional data flags.
        opt_flg: B1,
        /// Pattern sets in the whole (continued) record.
        totp_cnt: U2,
        /// Pattern sets in this record.
        locp_cnt: U2,
        /// First cycle of each pattern.
        pat_bgn: AU8[locp_cnt],
        /// Last cycle of each pattern.
        pat_end: AU8[locp_cnt],
        /// Pattern file names.
        pat_file: ACn[locp_cnt],
        /// Pattern labels.
        pat_lbl: ACn[locp_cnt],
        /// File unique identifiers.
        file_uid: ACn[locp_cnt],
        /// ATPG descriptions.
        atpg_dsc: ACn[locp_cnt],
        /// Source IDs.
        src_id: ACn[locp_cnt],
    }
}

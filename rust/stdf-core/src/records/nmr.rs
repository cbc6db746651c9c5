record! {
    /// NMR 1/91 — Name Map Record (V4-2007): PMR index to ATPG name.
    Nmr = "NMR" (1, 91) {
        /// Continuation flag.
        cont_flg: B1,
        /// Total mappings across continuations.
        totm_cnt: U2,
        /// Mappings in this record.
        locm_cnt: U2,
        /// PMR indexes.
        pmr_indx: AU2[locm_cnt],
        /// ATPG signal names.
        atpg_nam: ACn[locm_cnt],
    }
}

record! {
    /// PGR 1/62 — Pin Group Record.
    Pgr = "PGR" (1, 62) {
        /// Group index (32768..65535).
        grp_indx: U2,
        /// Group name.
        grp_nam: Cn,
        /// Number of pins in the group.
        indx_cnt: U2,
        /// PMR indexes of the member pins.
        pmr_indx: AU2[indx_cnt],
    }
}

record! {
    /// PLR 1/63 — Pin List Record: display radix and mode of pins and groups.
    Plr = "PLR" (1, 63) {
        /// Number of pins or groups.
        grp_cnt: U2,
        /// Pin or group indexes.
        grp_indx: AU2[grp_cnt],
        /// Operating mode per group.
        grp_mode: AU2[grp_cnt],
        /// Display radix per group.
        grp_radx: AU1[grp_cnt],
        /// Programmed state characters (right or only character).
        pgm_char: ACn[grp_cnt],
        /// Returned state characters (right or only character).
        rtn_char: ACn[grp_cnt],
        /// Programmed state characters (left character).
        pgm_chal: ACn[grp_cnt],
        /// Returned state characters (left character).
        rtn_chal: ACn[grp_cnt],
    }
}

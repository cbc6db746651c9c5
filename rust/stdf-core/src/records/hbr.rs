record! {
    /// HBR 1/40 — Hardware Bin Record.
    Hbr = "HBR" (1, 40) {
        /// Test head (255 = all sites).
        head_num: U1,
        /// Test site.
        site_num: U1,
        /// Hardware bin number.
        hbin_num: U2,
        /// Parts in the bin.
        hbin_cnt: U4,
        /// Pass/fail indication: 'P', 'F', space = unknown.
        hbin_pf: C1,
        /// Bin name.
        hbin_nam: Cn,
    }
}

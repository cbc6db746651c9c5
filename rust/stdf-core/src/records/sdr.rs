record! {
    /// SDR 1/80 — Site Description Record.
    Sdr = "SDR" (1, 80) {
        /// Test head.
        head_num: U1,
        /// Site group number.
        site_grp: U1,
        /// Number of sites in the group.
        site_cnt: U1,
        /// Sites in the group.
        site_num: AU1[site_cnt],
        /// Handler or prober type.
        hand_typ: Cn,
        /// Handler or prober ID.
        hand_id: Cn,
        /// Probe card type.
        card_typ: Cn,
        /// Probe card ID.
        card_id: Cn,
        /// Load board type.
        load_typ: Cn,
        /// Load board ID.
        load_id: Cn,
        /// DIB board type.
        dib_typ: Cn,
        /// DIB board ID.
        dib_id: Cn,
        /// Interface cable type.
        cabl_typ: Cn,
        /// Interface cable ID.
        cabl_id: Cn,
        /// Handler contactor type.
        cont_typ: Cn,
        /// Handler contactor ID.
        cont_id: Cn,
        /// Laser type.
        lasr_typ: Cn,
        /// Laser ID.
        lasr_id: Cn,
        /// Extra equipment type.
        extr_typ: Cn,
        /// Extra equipment ID.
        extr_id: Cn,
    }
}

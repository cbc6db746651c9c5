record! {
    /// PIR 5/10 — Part Information Record: opens a part on a head/site.
    Pir = "PIR" (5, 10) {
        /// Test head.
        head_num: U1,
        /// Test site.
        site_num: U1,
    }
}

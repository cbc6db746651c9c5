record! {
    /// GDR 50/10 — Generic Data Record.
    Gdr = "GDR" (50, 10) {
        /// Number of data fields (pads included).
        fld_cnt: U2,
        /// Typed values.
        gen_data: Vn[fld_cnt],
    }
}

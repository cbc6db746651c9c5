record! {
    /// FAR 0/10 — File Attributes Record: the first record of every stream.
    Far = "FAR" (0, 10) {
        /// CPU type that wrote the file (0 VAX, 1 Sun/big-endian, 2 PC/little-endian).
        cpu_type: U1,
        /// STDF version (4).
        stdf_ver: U1,
    }
}

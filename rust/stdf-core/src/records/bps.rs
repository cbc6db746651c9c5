record! {
    /// BPS 20/10 — Begin Program Section.
    Bps = "BPS" (20, 10) {
        /// Program section (sequencer) name.
        seq_name: Cn,
    }
}

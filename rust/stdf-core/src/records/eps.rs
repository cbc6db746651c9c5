record! {
    /// EPS 20/20 — End Program Section (no fields).
    Eps = "EPS" (20, 20) {}
}

//! stdf-sql: the SQL of the repository's `sql/` folder, the single source of truth of the
//! analysis (`sql/analysis/*.sql`, DuckDB macros run on every connection, inside every archive
//! catalog and at `LOAD` of the extension) and of the archive (`sql/archive/*.sql`, templates
//! filled by the Python package). Embedded at build time so that the Python module and the
//! DuckDB extension carry the same text, wherever they are installed.

#![forbid(unsafe_code)]

include!(concat!(env!("OUT_DIR"), "/files.rs"));

/// The folder of the analysis macros: every file there is a sequence of `CREATE OR REPLACE
/// MACRO` statements, applied in path order.
pub const ANALYSIS_DIR: &str = "analysis/";

/// The text of `sql/<path>`, if it exists.
pub fn file(path: &str) -> Option<&'static str> {
    FILES.iter().find(|(p, _)| *p == path).map(|(_, t)| *t)
}

/// The analysis files (`sql/analysis/*.sql`), in the order they are applied.
pub fn analysis() -> impl Iterator<Item = (&'static str, &'static str)> {
    FILES
        .iter()
        .copied()
        .filter(|(p, _)| p.starts_with(ANALYSIS_DIR))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_archive_templates_and_the_analysis_are_embedded() {
        assert!(file("archive/scan.sql").is_some_and(|t| t.contains("read_parquet")));
        assert!(file("archive/view.sql").is_some_and(|t| t.contains("${scan}")));
        assert!(analysis().count() > 0);
        assert!(analysis().all(|(_, t)| t.contains("CREATE OR REPLACE MACRO")));
    }
}

//! Options of a table read, and the named parameters of the table functions.
//!
//! [`PARAMETERS`] is the one list of the named parameters every `stdf_<table>(path, ...)` function
//! takes (DuckDB's `name := value`, the Python keywords of `stdf_duck.read`, the SQL rewrite
//! route); [`ReadOptions::set`] is the one place their values are checked.

use stdf_core::scan::OnError;

/// The type of a named parameter's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// A list of integers (`[1000, 1001]`).
    IntList,
    /// A string.
    Text,
    /// A boolean.
    Bool,
    /// An integer.
    Int,
}

/// A named parameter of the table functions.
#[derive(Clone, Copy, Debug)]
pub struct Parameter {
    /// Its name (`tests`, `on_error`, ...).
    pub name: &'static str,
    /// The type of its value.
    pub kind: ParamKind,
    /// What it does, in one line.
    pub doc: &'static str,
}

/// The named parameters every table function takes.
pub const PARAMETERS: &[Parameter] = &[
    Parameter {
        name: "tests",
        kind: ParamKind::IntList,
        doc: "only these test numbers (results and the raw test-record tables)",
    },
    Parameter {
        name: "on_error",
        kind: ParamKind::Text,
        doc: "'raise' (default) or 'warn': report bad files in stdf_warnings and go on",
    },
    Parameter {
        name: "filename",
        kind: ParamKind::Bool,
        doc: "add a file_path column",
    },
    Parameter {
        name: "threads",
        kind: ParamKind::Int,
        doc: "worker threads across files (0 = number of cores)",
    },
];

/// A value given to a named parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamValue {
    /// For [`ParamKind::IntList`].
    IntList(Vec<i64>),
    /// For [`ParamKind::Text`].
    Text(String),
    /// For [`ParamKind::Bool`].
    Bool(bool),
    /// For [`ParamKind::Int`].
    Int(i64),
}

/// The `on_error` mode named `s`, or the error saying which names there are.
pub fn on_error(s: &str) -> Result<OnError, String> {
    OnError::parse(s).ok_or_else(|| format!("on_error must be 'raise' or 'warn', not '{s}'"))
}

/// Options of a table read.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// Table name without the `stdf_` prefix: "results", "parts", "ptr", ...
    pub table: String,
    /// Columns to build, in output order (None = all).
    pub columns: Option<Vec<String>>,
    /// Only these test numbers (results and raw test-record tables).
    pub tests: Option<Vec<u32>>,
    /// What a bad file does: fail the read, or become a warning row.
    pub on_error: OnError,
    /// Rows per batch (approximate upper bound for streaming tables).
    pub batch_size: usize,
    /// Worker threads across files (0 = number of cores).
    pub threads: usize,
    /// Add a `file_path` column.
    pub filename: bool,
}

impl ReadOptions {
    /// The defaults for `table`: every column, every test, `on_error = 'raise'`.
    pub fn new(table: &str) -> Self {
        ReadOptions {
            table: table.to_string(),
            columns: None,
            tests: None,
            on_error: OnError::Raise,
            batch_size: 65_536,
            threads: 0,
            filename: false,
        }
    }

    /// Set the named parameter `name` (one of [`PARAMETERS`]) to `value`; the error says which
    /// parameter and why, without the function's name.
    pub fn set(&mut self, name: &str, value: ParamValue) -> Result<(), String> {
        match (name, value) {
            ("tests", ParamValue::IntList(v)) => {
                let tests = v
                    .into_iter()
                    .map(|t| {
                        u32::try_from(t).map_err(|_| {
                            format!("tests must be test numbers (0..4294967295), not {t}")
                        })
                    })
                    .collect::<Result<Vec<u32>, String>>()?;
                self.tests = Some(tests);
            }
            ("on_error", ParamValue::Text(s)) => self.on_error = on_error(&s)?,
            ("filename", ParamValue::Bool(b)) => self.filename = b,
            ("threads", ParamValue::Int(n)) => {
                self.threads =
                    usize::try_from(n).map_err(|_| format!("threads must be >= 0, not {n}"))?;
            }
            (name, value) => {
                return Err(match PARAMETERS.iter().find(|p| p.name == name) {
                    Some(p) => format!("{name} takes a {:?} value, not {value:?}", p.kind),
                    None => format!("unknown named parameter {name}"),
                })
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_parameter_is_settable_and_checked() {
        let mut o = ReadOptions::new("results");
        o.set("tests", ParamValue::IntList(vec![0, 4_294_967_295]))
            .unwrap();
        o.set("on_error", ParamValue::Text("warn".into())).unwrap();
        o.set("filename", ParamValue::Bool(true)).unwrap();
        o.set("threads", ParamValue::Int(3)).unwrap();
        assert_eq!(o.tests, Some(vec![0, 4_294_967_295]));
        assert_eq!(
            (o.on_error, o.filename, o.threads),
            (OnError::Warn, true, 3)
        );

        let err = |n: &str, v| ReadOptions::new("results").set(n, v).unwrap_err();
        assert!(err("tests", ParamValue::IntList(vec![-1])).contains("not -1"));
        assert!(err("tests", ParamValue::IntList(vec![1 << 32])).contains("4294967296"));
        assert!(err("on_error", ParamValue::Text("ignore".into())).contains("'ignore'"));
        assert!(err("threads", ParamValue::Int(-2)).contains(">= 0"));
        assert!(err("threads", ParamValue::Bool(true)).contains("Int"));
        assert!(err("nope", ParamValue::Int(1)).contains("unknown named parameter nope"));
    }

    #[test]
    fn the_list_names_each_parameter_once() {
        let mut names: Vec<_> = PARAMETERS.iter().map(|p| p.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names, ["filename", "on_error", "tests", "threads"]);
    }
}

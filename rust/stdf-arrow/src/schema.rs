//! Table names and Arrow schemas (the contract of design.md §2, extended per
//! stdf-reference.md §4).

use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};
use stdf_core::records::{FieldKind, ALL_TYPES};

/// Which table a read produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    Files,
    Parts,
    Tests,
    Results,
    Bins,
    Wafers,
    Records,
    Warnings,
    /// One raw table per record type, by (typ, sub).
    Raw(&'static str, u8, u8),
}

const DERIVED: &[&str] = &[
    "files", "parts", "tests", "results", "bins", "wafers", "records", "warnings",
];

/// Every table name (without the `stdf_` prefix).
pub fn table_names() -> Vec<String> {
    let mut v: Vec<String> = DERIVED.iter().map(|s| s.to_string()).collect();
    v.extend(ALL_TYPES.iter().map(|(n, _, _)| n.to_ascii_lowercase()));
    v
}

impl Table {
    pub fn parse(name: &str) -> Option<Table> {
        let n = name.trim().to_ascii_lowercase();
        let n = n.strip_prefix("stdf_").unwrap_or(&n);
        Some(match n {
            "files" => Table::Files,
            "parts" => Table::Parts,
            "tests" => Table::Tests,
            "results" => Table::Results,
            "bins" => Table::Bins,
            "wafers" => Table::Wafers,
            "records" => Table::Records,
            "warnings" => Table::Warnings,
            other => {
                let (nm, t, s) = ALL_TYPES
                    .iter()
                    .find(|(nm, _, _)| nm.eq_ignore_ascii_case(other))?;
                Table::Raw(nm, *t, *s)
            }
        })
    }

    /// Every column of the table.
    pub fn full_schema(&self, filename: bool) -> Schema {
        use crate::tables::*;
        let mut f = match self {
            Table::Files => files::FileCols::fields(),
            Table::Parts => parts::PartCols::fields(),
            Table::Tests => tests::TestCols::fields(),
            Table::Results => results::ResultCols::fields(),
            Table::Bins => bins::BinCols::fields(),
            Table::Wafers => wafers::WaferCols::fields(),
            Table::Records => records::RecordCols::fields(),
            Table::Warnings => warnings::WarningCols::fields(),
            Table::Raw(name, _, _) => raw_fields(name),
        };
        if filename && !matches!(self, Table::Files | Table::Warnings) {
            f.push(Field::new("file_path", DataType::Utf8, true));
        }
        Schema::new(f)
    }
}

pub(crate) fn dict() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}
fn f(name: &str, t: DataType) -> Field {
    Field::new(name, t, true)
}
fn list(t: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", t, true)))
}

/// Arrow type of a raw field.
pub(crate) fn raw_type(k: FieldKind) -> DataType {
    use DataType::*;
    match k {
        FieldKind::U1 => UInt8,
        FieldKind::U2 => UInt16,
        FieldKind::U4 => UInt32,
        FieldKind::U8 => UInt64,
        FieldKind::I1 => Int8,
        FieldKind::I2 => Int16,
        FieldKind::I4 => Int32,
        FieldKind::R4 => Float32,
        FieldKind::R8 => Float64,
        FieldKind::C1 | FieldKind::Str => Utf8,
        FieldKind::Bytes => Binary,
        FieldKind::Dn => Struct(Fields::from(vec![f("nbits", UInt16), f("bytes", Binary)])),
        FieldKind::ArrU1 => list(UInt8),
        FieldKind::ArrU2 => list(UInt16),
        FieldKind::ArrU4 => list(UInt32),
        FieldKind::ArrU8 => list(UInt64),
        FieldKind::ArrR4 => list(Float32),
        FieldKind::ArrStr => list(Utf8),
        FieldKind::Gdr => list(Struct(gdr_fields())),
    }
}

pub(crate) fn gdr_fields() -> Fields {
    use DataType::*;
    Fields::from(vec![
        f("type_code", UInt8),
        f("type", Utf8),
        f("int_value", Int64),
        f("float_value", Float64),
        f("text_value", Utf8),
        f("bytes_value", Binary),
    ])
}

/// Test records carry `part_index`; wafer records `wafer_index`.
pub(crate) fn raw_has_part(name: &str) -> bool {
    matches!(name, "PIR" | "PRR" | "PTR" | "MPR" | "FTR" | "STR")
}
pub(crate) fn raw_has_wafer(name: &str) -> bool {
    matches!(name, "WIR" | "WRR")
}

pub(crate) fn raw_fields(name: &str) -> Vec<Field> {
    use DataType::*;
    let mut v = vec![
        f("file_id", dict()),
        f("stream_index", UInt16),
        f("record_index", UInt64),
        f("byte_offset", UInt64),
        f("rec_len", UInt16),
    ];
    if raw_has_part(name) {
        v.push(f("part_index", UInt32));
    }
    if raw_has_wafer(name) {
        v.push(f("wafer_index", UInt16));
    }
    let fields = stdf_core::records::fields_of(name).unwrap_or(&[]);
    for (n, k) in fields {
        v.push(f(n, raw_type(*k)));
    }
    if name == "FTR" {
        v.push(f("fail_pins", list(UInt16)));
    }
    v
}

/// The output schema of a read: the table's columns, projected to `columns` in that order.
pub fn schema_for(
    table: &str,
    columns: Option<&[String]>,
    filename: bool,
) -> Result<(Table, SchemaRef), String> {
    let t = Table::parse(table).ok_or_else(|| {
        format!(
            "unknown table '{table}': expected one of {}",
            table_names().join(", ")
        )
    })?;
    let full = t.full_schema(filename);
    let idx: Vec<usize> = match columns {
        None => (0..full.fields().len()).collect(),
        Some(cols) => {
            let mut v = Vec::with_capacity(cols.len());
            for c in cols {
                let i = full.index_of(&c.to_ascii_lowercase()).map_err(|_| {
                    let names: Vec<&str> =
                        full.fields().iter().map(|f| f.name().as_str()).collect();
                    format!(
                        "table stdf_{} has no column '{c}'; columns are: {}",
                        table.trim_start_matches("stdf_"),
                        names.join(", ")
                    )
                })?;
                v.push(i);
            }
            v
        }
    };
    let schema = Arc::new(full.project(&idx).map_err(|e| e.to_string())?);
    Ok((t, schema))
}

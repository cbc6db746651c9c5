//! Table names and Arrow schemas (the contract of design.md §2, extended per
//! stdf-reference.md §4).

use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
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
        let mut f = match self {
            Table::Files => files_fields(),
            Table::Parts => parts_fields(),
            Table::Tests => tests_fields(),
            Table::Results => results_fields(),
            Table::Bins => bins_fields(),
            Table::Wafers => wafers_fields(),
            Table::Records => records_fields(),
            Table::Warnings => warnings_fields(),
            Table::Raw(name, _, _) => raw_fields(name),
        };
        if filename && !matches!(self, Table::Files | Table::Warnings) {
            f.push(Field::new("file_path", DataType::Utf8, true));
        }
        Schema::new(f)
    }
}

fn dict() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}
fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Second, None)
}
fn f(name: &str, t: DataType) -> Field {
    Field::new(name, t, true)
}
fn utf8(names: &[&str]) -> Vec<Field> {
    names.iter().map(|n| f(n, DataType::Utf8)).collect()
}
fn context_fields() -> Vec<Field> {
    vec![
        f("part_typ", DataType::Utf8),
        f("test_stage", DataType::Utf8),
        f("lot_id", DataType::Utf8),
    ]
}
fn list(t: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", t, true)))
}

pub(crate) fn results_fields() -> Vec<Field> {
    use DataType::*;
    vec![
        f("file_id", dict()),
        f("stream_index", UInt16),
        f("part_typ", dict()),
        f("test_stage", dict()),
        f("lot_id", dict()),
        f("part_index", UInt32),
        f("head_num", UInt8),
        f("site_num", UInt8),
        f("record_index", UInt64),
        f("rec_type", dict()),
        f("test_id", UInt32),
        f("test_num", UInt32),
        f("test_name", dict()),
        f("test_txt", dict()),
        f("element_index", UInt16),
        f("pin_index", UInt16),
        f("pin_name", dict()),
        f("result", Float32),
        f("units", dict()),
        f("res_scal", Int8),
        f("lo_limit", Float32),
        f("hi_limit", Float32),
        f("lo_spec", Float32),
        f("hi_spec", Float32),
        f("limits_overridden", Boolean),
        f("input_value", Float32),
        f("rtn_stat", UInt8),
        f("test_flg", UInt8),
        f("parm_flg", UInt8),
        f("executed", Boolean),
        f("passed", Boolean),
        f("status", dict()),
        f("result_valid", Boolean),
        f("alarm", Boolean),
        f("seq_name", dict()),
    ]
}

pub(crate) fn parts_fields() -> Vec<Field> {
    use DataType::*;
    let mut v = vec![f("file_id", Utf8), f("stream_index", UInt16)];
    v.extend(context_fields());
    v.extend([
        f("sblot_id", Utf8),
        f("part_index", UInt32),
        f("wafer_index", UInt16),
        f("wafer_id", Utf8),
        f("head_num", UInt8),
        f("site_num", UInt8),
        f("part_id", Utf8),
        f("part_txt", Utf8),
        f("x_coord", Int16),
        f("y_coord", Int16),
        f("hard_bin", UInt16),
        f("soft_bin", UInt16),
        f("hbin_name", Utf8),
        f("sbin_name", Utf8),
        f("hbin_pf", Utf8),
        f("sbin_pf", Utf8),
        f("passed", Boolean),
        f("pass_source", Utf8),
        f("abnormal_end", Boolean),
        f("supersedes_id", Boolean),
        f("supersedes_xy", Boolean),
        f("retest_index", UInt16),
        f("is_final", Boolean),
        f("superseded_by", UInt32),
        f("num_test", UInt16),
        f("n_results", UInt32),
        f("n_failed_results", UInt32),
        f("first_fail_test_num", UInt32),
        f("first_fail_test_name", Utf8),
        f("test_time_ms", UInt32),
        f("part_flg", UInt8),
        f("part_fix", Binary),
        f("complete", Boolean),
        f("has_pir", Boolean),
        f("pir_record_index", UInt64),
        f("prr_record_index", UInt64),
    ]);
    v
}

pub(crate) fn tests_fields() -> Vec<Field> {
    use DataType::*;
    let mut v = vec![f("file_id", Utf8), f("stream_index", UInt16)];
    v.extend(context_fields());
    v.extend([
        f("test_id", UInt32),
        f("test_num", UInt32),
        f("test_name", Utf8),
        f("test_txt", Utf8),
        f("test_type", Utf8),
        f("seq_name", Utf8),
        f("test_lbl", Utf8),
        f("units", Utf8),
        f("display_units", Utf8),
        f("res_scal", Int8),
        f("llm_scal", Int8),
        f("hlm_scal", Int8),
        f("lo_limit", Float32),
        f("hi_limit", Float32),
        f("lo_spec", Float32),
        f("hi_spec", Float32),
        f("c_resfmt", Utf8),
        f("c_llmfmt", Utf8),
        f("c_hlmfmt", Utf8),
        f("opt_flag", UInt8),
        f("rtn_icnt", UInt16),
        f("rtn_indx", list(UInt16)),
        f("pin_names", list(Utf8)),
        f("start_in", Float32),
        f("incr_in", Float32),
        f("units_in", Utf8),
        f("patg_num", UInt8),
        f("limits_overridden", Boolean),
        f("n_executed", UInt64),
        f("n_failed", UInt64),
        f("n_alarmed", UInt64),
        f("tsr_exec_cnt", UInt64),
        f("tsr_fail_cnt", UInt64),
        f("tsr_alrm_cnt", UInt64),
        f("tsr_test_tim", Float32),
        f("tsr_test_min", Float32),
        f("tsr_test_max", Float32),
        f("tsr_sums", Float32),
        f("tsr_sqrs", Float32),
        f("tsr_source", Utf8),
        f("first_record_index", UInt64),
    ]);
    v
}

pub(crate) fn bins_fields() -> Vec<Field> {
    use DataType::*;
    let mut v = vec![f("file_id", Utf8), f("stream_index", UInt16)];
    v.extend(context_fields());
    v.extend([
        f("bin_type", Utf8),
        f("bin_num", UInt16),
        f("bin_name", Utf8),
        f("bin_pf", Utf8),
        f("is_summary", Boolean),
        f("head_num", UInt8),
        f("site_num", UInt8),
        f("bin_cnt", UInt32),
        f("n_parts", UInt32),
        f("n_parts_final", UInt32),
        f("record_index", UInt64),
    ]);
    v
}

pub(crate) fn wafers_fields() -> Vec<Field> {
    use DataType::*;
    let mut v = vec![f("file_id", Utf8), f("stream_index", UInt16)];
    v.extend(context_fields());
    v.extend([
        f("wafer_index", UInt16),
        f("head_num", UInt8),
        f("site_grp", UInt8),
    ]);
    v.extend(utf8(&[
        "wafer_id", "fabwf_id", "frame_id", "mask_id", "usr_desc", "exc_desc",
    ]));
    v.extend([
        f("start_time", ts()),
        f("finish_time", ts()),
        f("part_cnt", UInt32),
        f("rtst_cnt", UInt32),
        f("abrt_cnt", UInt32),
        f("good_cnt", UInt32),
        f("func_cnt", UInt32),
        f("complete", Boolean),
        f("wafr_siz", Float32),
        f("die_ht", Float32),
        f("die_wid", Float32),
        f("wf_units", Utf8),
        f("wf_flat", Utf8),
        f("pos_x", Utf8),
        f("pos_y", Utf8),
        f("center_x", Int16),
        f("center_y", Int16),
        f("n_parts", UInt32),
        f("n_dice", UInt32),
        f("n_retested", UInt32),
        f("n_passed_final", UInt32),
        f("yield_final", Float64),
    ]);
    v
}

pub(crate) const MIR_TEXT: &[&str] = &[
    "lot_id", "part_typ", "node_nam", "tstr_typ", "job_nam", "job_rev", "sblot_id", "oper_nam",
    "exec_typ", "exec_ver", "test_cod", "tst_temp", "user_txt", "aux_file", "pkg_typ", "famly_id",
    "date_cod", "facil_id", "floor_id", "proc_id", "oper_frq", "spec_nam", "spec_ver", "flow_id",
    "setup_id", "dsgn_rev", "eng_id", "rom_cod", "serl_num", "supr_nam",
];

pub(crate) fn files_fields() -> Vec<Field> {
    use DataType::*;
    let mut v = utf8(&["file_id", "file_path", "file_name", "content_hash"]);
    v.extend([
        f("file_size", UInt64),
        f("stream_size", UInt64),
        f("compression", Utf8),
        f("stream_index", UInt16),
        f("stream_count", UInt16),
        f("byte_order", Utf8),
        f("cpu_type", UInt8),
        f("stdf_ver", UInt8),
        f("stdf_extensions", list(Utf8)),
        f("setup_time", ts()),
        f("start_time", ts()),
        f("finish_time", ts()),
        f("stat_num", UInt8),
    ]);
    v.extend(utf8(&["mode_cod", "rtst_cod", "prot_cod", "cmod_cod"]));
    v.push(f("burn_tim", UInt16));
    v.extend(utf8(MIR_TEXT));
    v.extend(utf8(&["test_stage", "disp_cod", "usr_desc", "exc_desc"]));
    v.extend([
        f("part_cnt", UInt32),
        f("rtst_cnt", UInt32),
        f("abrt_cnt", UInt32),
        f("good_cnt", UInt32),
        f("func_cnt", UInt32),
        f("retest_bins", list(UInt16)),
        f(
            "audit_trail",
            list(DataType::Struct(Fields::from(vec![
                f("mod_time", ts()),
                f("cmd_line", Utf8),
            ]))),
        ),
        f("n_records", UInt64),
        f("n_parts", UInt32),
        f("n_parts_final", UInt32),
        f("n_passed_final", UInt32),
        f("yield_final", Float64),
        f("n_wafers", UInt16),
        f("n_sites", UInt16),
        f("n_tests", UInt32),
        f("n_results", UInt64),
        f("complete", Boolean),
        f("n_warnings", UInt32),
    ]);
    v
}

pub(crate) fn records_fields() -> Vec<Field> {
    use DataType::*;
    vec![
        f("file_id", dict()),
        f("stream_index", UInt16),
        f("record_index", UInt64),
        f("byte_offset", UInt64),
        f("rec_typ", UInt8),
        f("rec_sub", UInt8),
        f("rec_name", dict()),
        f("rec_len", UInt16),
        f("head_num", UInt8),
        f("site_num", UInt8),
        f("part_index", UInt32),
        f("decode_status", dict()),
        f("payload", Binary),
    ]
}

pub(crate) fn warnings_fields() -> Vec<Field> {
    use DataType::*;
    vec![
        f("file_id", Utf8),
        f("file_path", Utf8),
        f("record_index", UInt64),
        f("byte_offset", UInt64),
        f("code", Utf8),
        f("message", Utf8),
    ]
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
        FieldKind::Dn => {
            DataType::Struct(Fields::from(vec![f("nbits", UInt16), f("bytes", Binary)]))
        }
        FieldKind::ArrU1 => list(UInt8),
        FieldKind::ArrU2 => list(UInt16),
        FieldKind::ArrU4 => list(UInt32),
        FieldKind::ArrU8 => list(UInt64),
        FieldKind::ArrR4 => list(Float32),
        FieldKind::ArrStr => list(Utf8),
        FieldKind::Gdr => list(DataType::Struct(gdr_fields())),
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
) -> Result<(Table, SchemaRef, Vec<usize>), String> {
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
    Ok((t, schema, idx))
}

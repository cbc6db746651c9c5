//! The archive's results: stdf_results split in two tables that the archive's `results` view
//! joins back on (file_id, param_id).
//!
//! - `results` rows hold what changes from one execution to the next (the part, the site, the
//!   value, the MPR pin, the record's own TEST_TXT) and a `param_id`;
//! - `result_params` holds, once per file and distinct value, what a row shares with the other
//!   executions of its test: the test's identity and name, the limits, scales and units in
//!   force, the flags and what derives from them, the program section.
//!
//! A test on one site usually has one or two parameter sets (passed, failed) in a whole file,
//! so the 35 columns per row of stdf_results become 14 here (constant file_id included).

use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::builder::{BooleanBuilder, Float32Builder, Int8Builder, PrimitiveBuilder};
use arrow_array::types::{Int32Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type};
use arrow_array::{ArrayRef, DictionaryArray, Int32Array, RecordBatch, StringArray};
use arrow_schema::{ArrowError, Field, Schema, SchemaRef};
use stdf_core::records::flags::{self, test_flg, Status};
use stdf_core::semantics::{IntMap, TestType};

use super::columns;
use super::results::ResultRow;
use crate::builders::DictCol;
use crate::results::RowOut;

type B<T> = PrimitiveBuilder<T>;

/// A row of the archive's `results`: the execution and its parameter set.
pub(crate) struct SlimRow<'a, 'b, 'r> {
    pub r: &'a ResultRow<'b, 'r>,
    pub param_id: u32,
}

columns! {
    /// The builders of the archive's `results` rows (file_id is added per batch).
    pub(crate) struct SlimCols for SlimRow<'_, '_, '_> {
        /// As stdf_results.part_index.
        part_index: B<UInt32Type> => |b, r| b.append_option(r.r.base.part_index),
        /// As stdf_results.head_num.
        head_num: B<UInt8Type> => |b, r| b.append_value(r.r.base.head),
        /// As stdf_results.site_num.
        site_num: B<UInt8Type> => |b, r| b.append_value(r.r.base.site),
        /// As stdf_results.record_index.
        record_index: B<UInt64Type> => |b, r| b.append_value(r.r.base.record_index),
        /// As stdf_results.test_num (kept on the row: the files are sorted by it).
        test_num: B<UInt32Type> => |b, r| b.append_value(r.r.base.test_num),
        /// The row's parameter set (result_params.param_id of the same file_id).
        param_id: B<UInt32Type> => |b, r| b.append_value(r.param_id),
        /// As stdf_results.test_txt.
        test_txt: DictCol => |b, r| match r.r.base.test_txt {
            Some(s) if !s.trimmed_bytes().is_empty() => b.push_bytes_for(
                r.r.base.test_id as usize,
                s.trimmed_bytes(),
                || s.text().trim().to_string(),
            ),
            _ => b.push(None),
        },
        /// As stdf_results.element_index.
        element_index: B<UInt16Type> => |b, r| b.append_option(r.r.element),
        /// As stdf_results.pin_index.
        pin_index: B<UInt16Type> => |b, r| b.append_option(r.r.pin),
        /// As stdf_results.pin_name.
        pin_name: DictCol => |b, r| match r.r.pin {
            Some(p) => b.push_cached(p as usize, || r.r.st.pins.name(p)),
            None => b.push(None),
        },
        /// As stdf_results.result.
        result: Float32Builder => |b, r| b.append_option(r.r.result),
        /// As stdf_results.input_value.
        input_value: Float32Builder => |b, r| b.append_option(r.r.input_value),
        /// As stdf_results.rtn_stat.
        rtn_stat: B<UInt8Type> => |b, r| b.append_option(r.r.rtn_stat),
    }
}

/// What rows of one test share: one `result_params` row per distinct value in a file.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ParamKey {
    pub stream_index: u16,
    pub test_id: u32,
    pub rec_type: u8,
    pub test_flg: u8,
    pub parm_flg: Option<u8>,
    pub res_scal: Option<i8>,
    /// lo_limit, hi_limit, lo_spec, hi_spec as f32 bits (bit-exact, NaN included)
    pub limits: [Option<u32>; 4],
    pub limits_overridden: bool,
    pub units: Option<String>,
    pub test_name: Option<String>,
    pub seq_name: Option<String>,
}

/// A `result_params` row.
pub(crate) struct ParamRow<'a> {
    pub file_id: &'a str,
    pub param_id: u32,
    pub k: &'a ParamKey,
}

fn rec_type_of(code: u8) -> TestType {
    match code {
        0 => TestType::Ptr,
        1 => TestType::Mpr,
        2 => TestType::Ftr,
        _ => TestType::Str,
    }
}

fn f32_of(bits: Option<u32>) -> Option<f32> {
    bits.map(f32::from_bits)
}

columns! {
    /// The builders of the archive's `result_params`.
    pub(crate) struct ParamCols for ParamRow<'_> {
        /// Content id of the file.
        file_id: StringBuilder => |b, r| b.append_value(r.file_id),
        /// Key of the set within the file (results.param_id).
        param_id: B<UInt32Type> => |b, r| b.append_value(r.param_id),
        /// As stdf_results.stream_index.
        stream_index: B<UInt16Type> => |b, r| b.append_value(r.k.stream_index),
        /// As stdf_results.rec_type.
        rec_type: StringBuilder => |b, r| b.append_value(rec_type_of(r.k.rec_type).rec_name()),
        /// As stdf_results.test_id.
        test_id: B<UInt32Type> => |b, r| b.append_value(r.k.test_id),
        /// As stdf_results.test_name.
        test_name: StringBuilder => |b, r| b.append_option(r.k.test_name.as_deref()),
        /// As stdf_results.units.
        units: StringBuilder => |b, r| b.append_option(r.k.units.as_deref()),
        /// As stdf_results.res_scal.
        res_scal: Int8Builder => |b, r| b.append_option(r.k.res_scal),
        /// As stdf_results.lo_limit.
        lo_limit: Float32Builder => |b, r| b.append_option(f32_of(r.k.limits[0])),
        /// As stdf_results.hi_limit.
        hi_limit: Float32Builder => |b, r| b.append_option(f32_of(r.k.limits[1])),
        /// As stdf_results.lo_spec.
        lo_spec: Float32Builder => |b, r| b.append_option(f32_of(r.k.limits[2])),
        /// As stdf_results.hi_spec.
        hi_spec: Float32Builder => |b, r| b.append_option(f32_of(r.k.limits[3])),
        /// As stdf_results.limits_overridden.
        limits_overridden: BooleanBuilder => |b, r| b.append_value(r.k.limits_overridden),
        /// As stdf_results.test_flg.
        test_flg: B<UInt8Type> => |b, r| b.append_value(r.k.test_flg),
        /// As stdf_results.parm_flg.
        parm_flg: B<UInt8Type> => |b, r| b.append_option(r.k.parm_flg),
        /// As stdf_results.executed.
        executed: BooleanBuilder => |b, r| b.append_value(flags::executed(r.k.test_flg)),
        /// As stdf_results.passed.
        passed: BooleanBuilder => |b, r| b.append_option(flags::test_passed(r.k.test_flg)),
        /// As stdf_results.status.
        status: StringBuilder => |b, r| {
            b.append_value(Status::of(r.k.test_flg, r.k.parm_flg).as_str())
        },
        /// As stdf_results.result_valid.
        result_valid: BooleanBuilder => |b, r| {
            b.append_value(flags::result_valid(r.k.test_flg, r.k.parm_flg))
        },
        /// As stdf_results.alarm.
        alarm: BooleanBuilder => |b, r| b.append_value(r.k.test_flg & test_flg::ALARM != 0),
        /// As stdf_results.seq_name.
        seq_name: StringBuilder => |b, r| b.append_option(r.k.seq_name.as_deref()),
    }
}

/// Parameter sets remembered per test (passed and failed, a few sites' limits).
const RECENT: usize = 8;

fn bits(v: Option<f32>) -> Option<u32> {
    v.map(f32::to_bits)
}

/// The shared values of `row`, compared with `k` without allocating.
fn same_params(k: &ParamKey, row: &ResultRow, units: Option<&str>, name: Option<&str>) -> bool {
    let (b, res) = (row.base, &row.base.res);
    k.test_flg == b.test_flg
        && k.parm_flg == b.parm_flg
        && k.rec_type == b.rec_type as u8
        && k.res_scal == res.res_scal
        && k.limits
            == [
                bits(res.lo_limit),
                bits(res.hi_limit),
                bits(res.lo_spec),
                bits(res.hi_spec),
            ]
        && k.limits_overridden == res.limits_overridden
        && k.stream_index == row.st.stream_index
        && k.units.as_deref() == units
        && k.test_name.as_deref() == name
        && k.seq_name.as_deref() == seq_of(row)
}

fn seq_of<'a>(row: &'a ResultRow) -> Option<&'a str> {
    row.st
        .sections
        .last()
        .map(|s| s.as_str())
        .filter(|s| !s.is_empty())
}

/// The archive's results rows and their parameter sets, as a [`RowOut`].
pub(crate) struct ArchiveRows {
    cols: SlimCols,
    schema: SchemaRef,
    file_id: String,
    /// every parameter set of the file, by key
    ids: IntMap<ParamKey, u32>,
    /// the keys in param_id order not yet sent (`take_params`)
    new_params: Vec<ParamKey>,
    next_id: u32,
    /// per test_id of the current stream: the sets used last, most recent first, so that a
    /// repeat costs a few comparisons and no hashing
    last: Vec<Vec<(ParamKey, u32)>>,
    last_stream: u16,
}

impl ArchiveRows {
    pub fn new(file_id: &str) -> Self {
        let mut fields = vec![Field::new("file_id", crate::schema::dict(), true)];
        fields.extend(SlimCols::fields());
        let schema = Arc::new(Schema::new(fields));
        ArchiveRows {
            cols: SlimCols::for_schema(&schema),
            schema,
            file_id: file_id.to_string(),
            ids: IntMap::default(),
            new_params: Vec::new(),
            next_id: 0,
            last: Vec::new(),
            last_stream: u16::MAX,
        }
    }

    /// The schema of the rows.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// The schema of `result_params`.
    pub fn params_schema() -> SchemaRef {
        Arc::new(Schema::new(ParamCols::fields()))
    }

    fn param_id(&mut self, row: &ResultRow) -> u32 {
        let st = row.st;
        if st.stream_index != self.last_stream {
            self.last.clear();
            self.last_stream = st.stream_index;
        }
        let tid = row.base.test_id as usize;
        let def = st.catalog.tests.get(tid);
        let units: Option<std::borrow::Cow<str>> = match row.base.res.units_override {
            Some(u) => Some(match u.text() {
                std::borrow::Cow::Borrowed(s) => std::borrow::Cow::Borrowed(s.trim()),
                std::borrow::Cow::Owned(s) => std::borrow::Cow::Owned(s.trim().to_string()),
            }),
            None => def
                .and_then(|d| d.defaults.units.as_deref())
                .filter(|s| !s.is_empty())
                .map(std::borrow::Cow::Borrowed),
        };
        let name = def.and_then(|d| d.stream_name());
        if let Some(recent) = self.last.get_mut(tid) {
            if let Some(i) = recent
                .iter()
                .position(|(k, _)| same_params(k, row, units.as_deref(), name))
            {
                let id = recent[i].1;
                if i > 0 {
                    recent[..=i].rotate_right(1); // most recent first
                }
                return id;
            }
        }
        let (b, res) = (row.base, &row.base.res);
        let key = ParamKey {
            stream_index: st.stream_index,
            test_id: b.test_id,
            rec_type: b.rec_type as u8,
            test_flg: b.test_flg,
            parm_flg: b.parm_flg,
            res_scal: res.res_scal,
            limits: [
                bits(res.lo_limit),
                bits(res.hi_limit),
                bits(res.lo_spec),
                bits(res.hi_spec),
            ],
            limits_overridden: res.limits_overridden,
            units: units.map(|u| u.into_owned()),
            test_name: name.map(str::to_string),
            seq_name: seq_of(row).map(str::to_string),
        };
        let id = match self.ids.get(&key) {
            Some(&id) => id,
            None => {
                let id = self.next_id;
                self.next_id += 1;
                self.ids.insert(key.clone(), id);
                self.new_params.push(key.clone());
                id
            }
        };
        if self.last.len() <= tid {
            self.last.resize_with(tid + 1, Vec::new);
        }
        let recent = &mut self.last[tid];
        recent.insert(0, (key, id));
        recent.truncate(RECENT);
        id
    }

    /// The parameter sets first used since the last call, as `result_params` rows.
    pub fn take_params(&mut self) -> Result<RecordBatch, ArrowError> {
        let schema = Self::params_schema();
        let mut cols = ParamCols::for_schema(&schema);
        let first = self.next_id - self.new_params.len() as u32;
        let keys = std::mem::take(&mut self.new_params);
        for (i, k) in keys.iter().enumerate() {
            let row = ParamRow {
                file_id: &self.file_id,
                param_id: first + i as u32,
                k,
            };
            cols.push(&row);
        }
        super::batch(&schema, cols.finish(), keys.len(), "")
    }
}

/// A dictionary column of `n` copies of `value`.
fn constant_dict(value: &str, n: usize) -> ArrayRef {
    let keys = Int32Array::from(vec![0i32; n]);
    let values = Arc::new(StringArray::from(vec![value]));
    Arc::new(DictionaryArray::<Int32Type>::try_new(keys, values).expect("key 0 indexes one value"))
}

impl RowOut for ArchiveRows {
    #[inline]
    fn push(&mut self, row: &ResultRow) {
        let param_id = self.param_id(row);
        self.cols.push(&SlimRow { r: row, param_id });
    }
    fn builds(&self, name: &str) -> bool {
        // every column of stdf_results is in the rows or in their parameter set
        let _ = name;
        true
    }
    fn finish(&mut self, n: usize, path: &str) -> Result<RecordBatch, ArrowError> {
        let mut built = self.cols.finish();
        built.push(("file_id", constant_dict(&self.file_id, n)));
        super::batch(&self.schema, built, n, path)
    }
}

/// (column, table) of every stdf_results column in the archive: "results" (the rows),
/// "result_params" or "partition" (the Hive directories); in stdf_results order.
pub fn archive_result_columns() -> Vec<(&'static str, &'static str)> {
    let rows: Vec<&str> = SlimCols::COLUMNS.iter().map(|c| c.0).collect();
    let params: Vec<&str> = ParamCols::COLUMNS.iter().map(|c| c.0).collect();
    super::results::ResultCols::COLUMNS
        .iter()
        .map(|(name, _)| {
            let table = if *name == "file_id" || rows.contains(name) {
                "results"
            } else if params.contains(name) {
                "result_params"
            } else {
                "partition"
            };
            (*name, table)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every stdf_results column is in the archive's rows, its parameter sets or its directories
    /// (the results view builds stdf_results from them), and the two tables share only the keys.
    #[test]
    fn every_result_column_is_archived() {
        let rows: Vec<&str> = SlimCols::COLUMNS.iter().map(|c| c.0).collect();
        let params: Vec<&str> = ParamCols::COLUMNS.iter().map(|c| c.0).collect();
        for (name, table) in archive_result_columns() {
            match table {
                "partition" => assert!(
                    ["part_typ", "test_stage", "lot_id"].contains(&name),
                    "stdf_results.{name} is in neither SlimCols nor ParamCols"
                ),
                "results" => assert!(name == "file_id" || rows.contains(&name)),
                _ => assert!(params.contains(&name)),
            }
        }
        let shared: Vec<&&str> = rows.iter().filter(|c| params.contains(c)).collect();
        assert_eq!(shared, [&"param_id"]);
        let n = super::super::results::ResultCols::COLUMNS.len();
        assert_eq!(archive_result_columns().len(), n);
        assert_eq!(
            rows.len() - 1 + params.len() - 2 + 1 + 3,
            n,
            "rows + params + file_id + partitions"
        );
    }
}

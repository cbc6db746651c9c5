//! stdf_files (stdf-reference.md §4.1): one row per stream (normally one per file).

use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder, BooleanBuilder, Float64Builder, ListBuilder, PrimitiveBuilder, StringBuilder,
    StructBuilder, TimestampSecondBuilder, UInt16Builder,
};
use arrow_array::types::{UInt16Type, UInt32Type, UInt64Type, UInt8Type};
use arrow_array::ArrayRef;
use arrow_schema::{DataType, Field, Fields, TimeUnit};
use stdf_core::semantics::lot::StreamSummary;

use super::{columns, Column, LotRow};

type B<T> = PrimitiveBuilder<T>;

/// A stream of the file.
pub(crate) struct FileRow<'a> {
    pub lot: LotRow<'a>,
    pub s: &'a StreamSummary,
}

/// The ATRs of a stream: a list of (mod_time, cmd_line).
pub(crate) struct AuditCol(ListBuilder<StructBuilder>);

fn audit_fields() -> Fields {
    Fields::from(vec![
        Field::new(
            "mod_time",
            DataType::Timestamp(TimeUnit::Second, None),
            true,
        ),
        Field::new("cmd_line", DataType::Utf8, true),
    ])
}

impl Default for AuditCol {
    fn default() -> Self {
        let fields: Vec<Box<dyn ArrayBuilder>> = vec![
            Box::new(TimestampSecondBuilder::new()),
            Box::new(StringBuilder::new()),
        ];
        AuditCol(ListBuilder::new(StructBuilder::new(audit_fields(), fields)))
    }
}

impl AuditCol {
    fn append(&mut self, audit: &[(Option<i64>, Option<String>)]) {
        for (t, c) in audit {
            let s = self.0.values();
            if let Some(b) = s.field_builder::<TimestampSecondBuilder>(0) {
                b.append_option(*t);
            }
            if let Some(b) = s.field_builder::<StringBuilder>(1) {
                b.append_option(c.as_deref());
            }
            s.append(true);
        }
        self.0.append(true);
    }
}

impl Column for AuditCol {
    fn data_type() -> DataType {
        DataType::List(Arc::new(Field::new(
            "item",
            DataType::Struct(audit_fields()),
            true,
        )))
    }
    fn finish_array(&mut self) -> ArrayRef {
        Arc::new(self.0.finish())
    }
}

columns! {
    /// The builders of stdf_files.
    pub(crate) struct FileCols for FileRow<'_> {
        /// Content id of the file (size and first MiB of the stream).
        file_id: StringBuilder => |b, r| b.append_value(r.lot.file_id()),
        /// The path as given.
        file_path: StringBuilder => |b, r| b.append_value(r.lot.path()),
        /// The file's name.
        file_name: StringBuilder => |b, r| b.append_value(r.lot.file_name()),
        /// Hash of the whole stream (xxh3-128).
        content_hash: StringBuilder => |b, r| b.append_option(r.lot.0.file.content_hash.as_deref()),
        /// Bytes on disk.
        file_size: B<UInt64Type> => |b, r| b.append_value(r.lot.0.file.file_size),
        /// Bytes of STDF (decompressed).
        stream_size: B<UInt64Type> => |b, r| b.append_value(r.lot.0.file.stream_size),
        /// 'none', 'gzip', 'bzip2', 'xz', 'zstd', 'lz4', 'zip'.
        compression: StringBuilder => |b, r| b.append_value(r.lot.0.file.compression),
        /// Stream of the file.
        stream_index: B<UInt16Type> => |b, r| b.append_value(r.s.stream_index),
        /// Streams in the file.
        stream_count: B<UInt16Type> => |b, r| b.append_value(r.lot.0.file.stream_count),
        /// 'little' or 'big'.
        byte_order: StringBuilder => |b, r| b.append_option(r.s.byte_order),
        /// FAR.CPU_TYPE.
        cpu_type: B<UInt8Type> => |b, r| b.append_option(r.s.cpu_type),
        /// FAR.STDF_VER.
        stdf_ver: B<UInt8Type> => |b, r| b.append_option(r.s.stdf_ver),
        /// VUR.UPD_NAM values (e.g. 'Scan:2007.1').
        stdf_extensions: ListBuilder<StringBuilder> => |b, r| {
            b.append_value(r.s.extensions.iter().map(|e| Some(e.as_str())))
        },
        /// MIR.SETUP_T.
        setup_time: TimestampSecondBuilder => |b, r| b.append_option(r.s.setup_time),
        /// MIR.START_T.
        start_time: TimestampSecondBuilder => |b, r| b.append_option(r.s.start_time),
        /// MRR.FINISH_T.
        finish_time: TimestampSecondBuilder => |b, r| b.append_option(r.s.finish_time),
        /// MIR.STAT_NUM.
        stat_num: B<UInt8Type> => |b, r| b.append_option(r.s.stat_num),
        /// MIR.MODE_COD.
        mode_cod: StringBuilder => |b, r| b.append_option(r.s.mode_cod.as_deref()),
        /// MIR.RTST_COD.
        rtst_cod: StringBuilder => |b, r| b.append_option(r.s.rtst_cod.as_deref()),
        /// MIR.PROT_COD.
        prot_cod: StringBuilder => |b, r| b.append_option(r.s.prot_cod.as_deref()),
        /// MIR.CMOD_COD.
        cmod_cod: StringBuilder => |b, r| b.append_option(r.s.cmod_cod.as_deref()),
        /// MIR.BURN_TIM (65535: NULL).
        burn_tim: B<UInt16Type> => |b, r| b.append_option(r.s.burn_tim),
        /// MIR.LOT_ID (trimmed; empty: NULL).
        lot_id: StringBuilder => |b, r| b.append_option(r.s.mir("lot_id")),
        /// MIR.PART_TYP (trimmed; empty: NULL).
        part_typ: StringBuilder => |b, r| b.append_option(r.s.mir("part_typ")),
        /// MIR.NODE_NAM (trimmed; empty: NULL).
        node_nam: StringBuilder => |b, r| b.append_option(r.s.mir("node_nam")),
        /// MIR.TSTR_TYP (trimmed; empty: NULL).
        tstr_typ: StringBuilder => |b, r| b.append_option(r.s.mir("tstr_typ")),
        /// MIR.JOB_NAM (trimmed; empty: NULL).
        job_nam: StringBuilder => |b, r| b.append_option(r.s.mir("job_nam")),
        /// MIR.JOB_REV (trimmed; empty: NULL).
        job_rev: StringBuilder => |b, r| b.append_option(r.s.mir("job_rev")),
        /// MIR.SBLOT_ID (trimmed; empty: NULL).
        sblot_id: StringBuilder => |b, r| b.append_option(r.s.mir("sblot_id")),
        /// MIR.OPER_NAM (trimmed; empty: NULL).
        oper_nam: StringBuilder => |b, r| b.append_option(r.s.mir("oper_nam")),
        /// MIR.EXEC_TYP (trimmed; empty: NULL).
        exec_typ: StringBuilder => |b, r| b.append_option(r.s.mir("exec_typ")),
        /// MIR.EXEC_VER (trimmed; empty: NULL).
        exec_ver: StringBuilder => |b, r| b.append_option(r.s.mir("exec_ver")),
        /// MIR.TEST_COD (trimmed; empty: NULL).
        test_cod: StringBuilder => |b, r| b.append_option(r.s.mir("test_cod")),
        /// MIR.TST_TEMP (trimmed; empty: NULL).
        tst_temp: StringBuilder => |b, r| b.append_option(r.s.mir("tst_temp")),
        /// MIR.USER_TXT (trimmed; empty: NULL).
        user_txt: StringBuilder => |b, r| b.append_option(r.s.mir("user_txt")),
        /// MIR.AUX_FILE (trimmed; empty: NULL).
        aux_file: StringBuilder => |b, r| b.append_option(r.s.mir("aux_file")),
        /// MIR.PKG_TYP (trimmed; empty: NULL).
        pkg_typ: StringBuilder => |b, r| b.append_option(r.s.mir("pkg_typ")),
        /// MIR.FAMLY_ID (trimmed; empty: NULL).
        famly_id: StringBuilder => |b, r| b.append_option(r.s.mir("famly_id")),
        /// MIR.DATE_COD (trimmed; empty: NULL).
        date_cod: StringBuilder => |b, r| b.append_option(r.s.mir("date_cod")),
        /// MIR.FACIL_ID (trimmed; empty: NULL).
        facil_id: StringBuilder => |b, r| b.append_option(r.s.mir("facil_id")),
        /// MIR.FLOOR_ID (trimmed; empty: NULL).
        floor_id: StringBuilder => |b, r| b.append_option(r.s.mir("floor_id")),
        /// MIR.PROC_ID (trimmed; empty: NULL).
        proc_id: StringBuilder => |b, r| b.append_option(r.s.mir("proc_id")),
        /// MIR.OPER_FRQ (trimmed; empty: NULL).
        oper_frq: StringBuilder => |b, r| b.append_option(r.s.mir("oper_frq")),
        /// MIR.SPEC_NAM (trimmed; empty: NULL).
        spec_nam: StringBuilder => |b, r| b.append_option(r.s.mir("spec_nam")),
        /// MIR.SPEC_VER (trimmed; empty: NULL).
        spec_ver: StringBuilder => |b, r| b.append_option(r.s.mir("spec_ver")),
        /// MIR.FLOW_ID (trimmed; empty: NULL).
        flow_id: StringBuilder => |b, r| b.append_option(r.s.mir("flow_id")),
        /// MIR.SETUP_ID (trimmed; empty: NULL).
        setup_id: StringBuilder => |b, r| b.append_option(r.s.mir("setup_id")),
        /// MIR.DSGN_REV (trimmed; empty: NULL).
        dsgn_rev: StringBuilder => |b, r| b.append_option(r.s.mir("dsgn_rev")),
        /// MIR.ENG_ID (trimmed; empty: NULL).
        eng_id: StringBuilder => |b, r| b.append_option(r.s.mir("eng_id")),
        /// MIR.ROM_COD (trimmed; empty: NULL).
        rom_cod: StringBuilder => |b, r| b.append_option(r.s.mir("rom_cod")),
        /// MIR.SERL_NUM (trimmed; empty: NULL).
        serl_num: StringBuilder => |b, r| b.append_option(r.s.mir("serl_num")),
        /// MIR.SUPR_NAM (trimmed; empty: NULL).
        supr_nam: StringBuilder => |b, r| b.append_option(r.s.mir("supr_nam")),
        /// MIR.TEST_COD, else MIR.FLOW_ID.
        test_stage: StringBuilder => |b, r| b.append_option(r.lot.ctx(r.s.ctx).test_stage.as_deref()),
        /// MRR.DISP_COD.
        disp_cod: StringBuilder => |b, r| b.append_option(r.s.disp_cod.as_deref()),
        /// MRR.USR_DESC.
        usr_desc: StringBuilder => |b, r| b.append_option(r.s.usr_desc.as_deref()),
        /// MRR.EXC_DESC.
        exc_desc: StringBuilder => |b, r| b.append_option(r.s.exc_desc.as_deref()),
        /// PCR.PART_CNT (the summary PCR, else the per-site PCRs summed).
        part_cnt: B<UInt32Type> => |b, r| b.append_option(r.s.part_counts().part_cnt),
        /// PCR.RTST_CNT.
        rtst_cnt: B<UInt32Type> => |b, r| b.append_option(r.s.part_counts().rtst_cnt),
        /// PCR.ABRT_CNT.
        abrt_cnt: B<UInt32Type> => |b, r| b.append_option(r.s.part_counts().abrt_cnt),
        /// PCR.GOOD_CNT.
        good_cnt: B<UInt32Type> => |b, r| b.append_option(r.s.part_counts().good_cnt),
        /// PCR.FUNC_CNT.
        func_cnt: B<UInt32Type> => |b, r| b.append_option(r.s.part_counts().func_cnt),
        /// RDR.RTST_BIN (the bins retested).
        retest_bins: ListBuilder<UInt16Builder> => |b, r| match &r.s.retest_bins {
            Some(v) => b.append_value(v.iter().map(|&x| Some(x))),
            None => b.append_null(),
        },
        /// ATRs: (mod_time, cmd_line).
        audit_trail: AuditCol => |b, r| b.append(&r.s.audit),
        /// Records in the stream.
        n_records: B<UInt64Type> => |b, r| b.append_value(r.s.n_records),
        /// Parts.
        n_parts: B<UInt32Type> => |b, r| b.append_value(r.s.n_parts),
        /// Final complete parts.
        n_parts_final: B<UInt32Type> => |b, r| b.append_value(r.s.n_parts_final),
        /// Final parts that passed.
        n_passed_final: B<UInt32Type> => |b, r| b.append_value(r.s.n_passed_final),
        /// n_passed_final / n_parts_final.
        yield_final: Float64Builder => |b, r| b.append_option(r.s.yield_final()),
        /// Wafers.
        n_wafers: B<UInt16Type> => |b, r| b.append_value(r.s.n_wafers),
        /// Distinct (head, site).
        n_sites: B<UInt16Type> => |b, r| b.append_value(r.s.n_sites),
        /// Tests in the catalog.
        n_tests: B<UInt32Type> => |b, r| b.append_value(r.s.n_tests),
        /// Test records (PTR, MPR, FTR, STR).
        n_results: B<UInt64Type> => |b, r| b.append_value(r.s.n_results),
        /// MRR seen, no part left open, no damage.
        complete: BooleanBuilder => |b, r| b.append_value(r.s.complete),
        /// Warnings of the file (stdf_warnings).
        n_warnings: B<UInt32Type> => |b, r| b.append_value(r.lot.0.file.warnings.len() as u32),
    }
}

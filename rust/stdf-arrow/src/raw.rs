//! Raw per-record tables (stdf_far ... stdf_dtr): every field as stored, spec order, spec names.

use std::sync::Arc;

use arrow_array::builder::*;
use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions, StringArray};
use arrow_schema::{ArrowError, DataType, SchemaRef};
use stdf_core::records::{FieldKind, FieldValue, GenValue, Record};
use stdf_core::scan::{Flow, RecCtx, ScanState, Sink};
use stdf_core::{RawRecord, Str};

use crate::builders::DictCol;
use crate::schema::{gdr_fields, raw_has_part, raw_has_wafer};

fn text(s: &Str) -> String {
    // raw tables keep spaces; only trailing NULs are removed
    s.text().into_owned()
}

enum Col {
    U8(UInt8Builder),
    U16(UInt16Builder),
    U32(UInt32Builder),
    U64(UInt64Builder),
    I8(Int8Builder),
    I16(Int16Builder),
    I32(Int32Builder),
    F32(Float32Builder),
    F64(Float64Builder),
    Utf8(StringBuilder),
    Bin(BinaryBuilder),
    Dn(StructBuilder),
    LU8(ListBuilder<UInt8Builder>),
    LU16(ListBuilder<UInt16Builder>),
    LU32(ListBuilder<UInt32Builder>),
    LU64(ListBuilder<UInt64Builder>),
    LF32(ListBuilder<Float32Builder>),
    LStr(ListBuilder<StringBuilder>),
    Gdr(ListBuilder<StructBuilder>),
}

fn dn_builder() -> StructBuilder {
    StructBuilder::new(
        vec![
            arrow_schema::Field::new("nbits", DataType::UInt16, true),
            arrow_schema::Field::new("bytes", DataType::Binary, true),
        ],
        vec![
            Box::new(UInt16Builder::new()),
            Box::new(BinaryBuilder::new()),
        ],
    )
}

impl Col {
    fn new(k: FieldKind) -> Col {
        match k {
            FieldKind::U1 => Col::U8(UInt8Builder::new()),
            FieldKind::U2 => Col::U16(UInt16Builder::new()),
            FieldKind::U4 => Col::U32(UInt32Builder::new()),
            FieldKind::U8 => Col::U64(UInt64Builder::new()),
            FieldKind::I1 => Col::I8(Int8Builder::new()),
            FieldKind::I2 => Col::I16(Int16Builder::new()),
            FieldKind::I4 => Col::I32(Int32Builder::new()),
            FieldKind::R4 => Col::F32(Float32Builder::new()),
            FieldKind::R8 => Col::F64(Float64Builder::new()),
            FieldKind::C1 | FieldKind::Str => Col::Utf8(StringBuilder::new()),
            FieldKind::Bytes => Col::Bin(BinaryBuilder::new()),
            FieldKind::Dn => Col::Dn(dn_builder()),
            FieldKind::ArrU1 => Col::LU8(ListBuilder::new(UInt8Builder::new())),
            FieldKind::ArrU2 => Col::LU16(ListBuilder::new(UInt16Builder::new())),
            FieldKind::ArrU4 => Col::LU32(ListBuilder::new(UInt32Builder::new())),
            FieldKind::ArrU8 => Col::LU64(ListBuilder::new(UInt64Builder::new())),
            FieldKind::ArrR4 => Col::LF32(ListBuilder::new(Float32Builder::new())),
            FieldKind::ArrStr => Col::LStr(ListBuilder::new(StringBuilder::new())),
            FieldKind::Gdr => {
                let fields = gdr_fields();
                let sb = StructBuilder::from_fields(fields, 0);
                Col::Gdr(ListBuilder::new(sb))
            }
        }
    }

    fn append(&mut self, v: FieldValue) {
        match (self, v) {
            (Col::U8(b), FieldValue::U1(x)) => b.append_option(x),
            (Col::U16(b), FieldValue::U2(x)) => b.append_option(x),
            (Col::U32(b), FieldValue::U4(x)) => b.append_option(x),
            (Col::U64(b), FieldValue::U8(x)) => b.append_option(x),
            (Col::I8(b), FieldValue::I1(x)) => b.append_option(x),
            (Col::I16(b), FieldValue::I2(x)) => b.append_option(x),
            (Col::I32(b), FieldValue::I4(x)) => b.append_option(x),
            (Col::F32(b), FieldValue::R4(x)) => b.append_option(x),
            (Col::F64(b), FieldValue::R8(x)) => b.append_option(x),
            (Col::Utf8(b), FieldValue::C1(x)) => b.append_option(x.map(|c| {
                if c.is_ascii() {
                    (c as char).to_string()
                } else {
                    char::from(c).to_string()
                }
            })),
            (Col::Utf8(b), FieldValue::Str(x)) => b.append_option(x.map(|s| text(&s))),
            (Col::Bin(b), FieldValue::Bytes(x)) => b.append_option(x),
            (Col::Dn(b), FieldValue::Dn(x)) => {
                b.field_builder::<UInt16Builder>(0)
                    .expect("nbits")
                    .append_option(x.map(|d| d.nbits));
                b.field_builder::<BinaryBuilder>(1)
                    .expect("bytes")
                    .append_option(x.map(|d| d.bytes));
                b.append(x.is_some());
            }
            (Col::LU8(b), FieldValue::ArrU1(x)) => list(b, x, |vb, v| vb.append_value(*v)),
            (Col::LU16(b), FieldValue::ArrU2(x)) => list(b, x, |vb, v| vb.append_value(*v)),
            (Col::LU32(b), FieldValue::ArrU4(x)) => list(b, x, |vb, v| vb.append_value(*v)),
            (Col::LU64(b), FieldValue::ArrU8(x)) => list(b, x, |vb, v| vb.append_value(*v)),
            (Col::LF32(b), FieldValue::ArrR4(x)) => list(b, x, |vb, v| vb.append_value(*v)),
            (Col::LStr(b), FieldValue::ArrStr(x)) => list(b, x, |vb, v| vb.append_value(text(v))),
            (Col::Gdr(b), FieldValue::Gdr(x)) => match x {
                Some(vals) => {
                    for g in vals.iter().filter(|g| !matches!(g, GenValue::Pad)) {
                        let s = b.values();
                        let (i, f, t, by): (
                            Option<i64>,
                            Option<f64>,
                            Option<String>,
                            Option<Vec<u8>>,
                        ) = match g {
                            GenValue::U1(v) => (Some(*v as i64), None, None, None),
                            GenValue::U2(v) => (Some(*v as i64), None, None, None),
                            GenValue::U4(v) => (Some(*v as i64), None, None, None),
                            GenValue::I1(v) => (Some(*v as i64), None, None, None),
                            GenValue::I2(v) => (Some(*v as i64), None, None, None),
                            GenValue::I4(v) => (Some(*v as i64), None, None, None),
                            GenValue::N1(v) => (Some(*v as i64), None, None, None),
                            GenValue::R4(v) => (None, Some(*v as f64), None, None),
                            GenValue::R8(v) => (None, Some(*v), None, None),
                            GenValue::Cn(v) => (None, None, Some(text(v)), None),
                            GenValue::Bn(v) => (None, None, None, Some(v.to_vec())),
                            GenValue::Dn(d) => {
                                (Some(d.nbits as i64), None, None, Some(d.bytes.to_vec()))
                            }
                            GenValue::Pad | GenValue::Unknown(_) => (None, None, None, None),
                        };
                        s.field_builder::<UInt8Builder>(0)
                            .expect("code")
                            .append_value(g.type_code());
                        s.field_builder::<StringBuilder>(1)
                            .expect("type")
                            .append_value(g.type_name());
                        s.field_builder::<Int64Builder>(2)
                            .expect("int")
                            .append_option(i);
                        s.field_builder::<Float64Builder>(3)
                            .expect("float")
                            .append_option(f);
                        s.field_builder::<StringBuilder>(4)
                            .expect("text")
                            .append_option(t);
                        s.field_builder::<BinaryBuilder>(5)
                            .expect("bytes")
                            .append_option(by);
                        s.append(true);
                    }
                    b.append(true);
                }
                None => b.append(false),
            },
            (c, FieldValue::Missing) => c.append_null(),
            (c, _) => c.append_null(),
        }
    }

    fn append_null(&mut self) {
        match self {
            Col::U8(b) => b.append_null(),
            Col::U16(b) => b.append_null(),
            Col::U32(b) => b.append_null(),
            Col::U64(b) => b.append_null(),
            Col::I8(b) => b.append_null(),
            Col::I16(b) => b.append_null(),
            Col::I32(b) => b.append_null(),
            Col::F32(b) => b.append_null(),
            Col::F64(b) => b.append_null(),
            Col::Utf8(b) => b.append_null(),
            Col::Bin(b) => b.append_null(),
            Col::Dn(b) => {
                b.field_builder::<UInt16Builder>(0)
                    .expect("nbits")
                    .append_null();
                b.field_builder::<BinaryBuilder>(1)
                    .expect("bytes")
                    .append_null();
                b.append(false)
            }
            Col::LU8(b) => b.append(false),
            Col::LU16(b) => b.append(false),
            Col::LU32(b) => b.append(false),
            Col::LU64(b) => b.append(false),
            Col::LF32(b) => b.append(false),
            Col::LStr(b) => b.append(false),
            Col::Gdr(b) => b.append(false),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Col::U8(b) => Arc::new(b.finish()),
            Col::U16(b) => Arc::new(b.finish()),
            Col::U32(b) => Arc::new(b.finish()),
            Col::U64(b) => Arc::new(b.finish()),
            Col::I8(b) => Arc::new(b.finish()),
            Col::I16(b) => Arc::new(b.finish()),
            Col::I32(b) => Arc::new(b.finish()),
            Col::F32(b) => Arc::new(b.finish()),
            Col::F64(b) => Arc::new(b.finish()),
            Col::Utf8(b) => Arc::new(b.finish()),
            Col::Bin(b) => Arc::new(b.finish()),
            Col::Dn(b) => Arc::new(b.finish()),
            Col::LU8(b) => Arc::new(b.finish()),
            Col::LU16(b) => Arc::new(b.finish()),
            Col::LU32(b) => Arc::new(b.finish()),
            Col::LU64(b) => Arc::new(b.finish()),
            Col::LF32(b) => Arc::new(b.finish()),
            Col::LStr(b) => Arc::new(b.finish()),
            Col::Gdr(b) => Arc::new(b.finish()),
        }
    }
}

fn list<B: ArrayBuilder, T>(b: &mut ListBuilder<B>, x: Option<&[T]>, f: impl Fn(&mut B, &T)) {
    match x {
        Some(v) => {
            for item in v {
                f(b.values(), item);
            }
            b.append(true);
        }
        None => b.append(false),
    }
}

/// Column sources of a raw table, in full-schema order.
enum Src {
    FileId,
    Stream,
    RecordIndex,
    Offset,
    RecLen,
    PartIndex,
    WaferIndex,
    Field(usize),
    FailPins,
    FilePath,
}

pub(crate) struct RawSink {
    typ: u8,
    sub: u8,
    schema: SchemaRef,
    srcs: Vec<Src>,
    file_id: DictCol,
    prims: Vec<Option<Col>>,
    u16s: UInt16Builder,
    u64a: UInt64Builder,
    u64b: UInt64Builder,
    rec_len: UInt16Builder,
    part: UInt32Builder,
    wafer: UInt16Builder,
    fail_pins: ListBuilder<UInt16Builder>,
    tests: Option<Vec<u32>>,
    rows: usize,
    batch_size: usize,
    path: String,
    pub batches: Vec<RecordBatch>,
}

impl RawSink {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: &str,
        typ: u8,
        sub: u8,
        schema: SchemaRef,
        tests: Option<Vec<u32>>,
        batch_size: usize,
        path: &str,
    ) -> Self {
        let fields = stdf_core::records::fields_of(name).unwrap_or(&[]);
        let mut order: Vec<Src> = vec![
            Src::FileId,
            Src::Stream,
            Src::RecordIndex,
            Src::Offset,
            Src::RecLen,
        ];
        if raw_has_part(name) {
            order.push(Src::PartIndex);
        }
        if raw_has_wafer(name) {
            order.push(Src::WaferIndex);
        }
        for i in 0..fields.len() {
            order.push(Src::Field(i));
        }
        if name == "FTR" {
            order.push(Src::FailPins);
        }
        order.push(Src::FilePath);
        // the projected columns, by name, in the order of the record's full column list
        let mut full: Vec<String> = crate::schema::raw_fields(name)
            .iter()
            .map(|f| f.name().clone())
            .collect();
        full.push("file_path".into());
        let idx: Vec<usize> = schema
            .fields()
            .iter()
            .filter_map(|f| full.iter().position(|n| n == f.name()))
            .collect();
        let mut prims: Vec<Option<Col>> = (0..fields.len()).map(|_| None).collect();
        let mut srcs = Vec::new();
        for &i in &idx {
            let s = std::mem::replace(&mut order[i], Src::FilePath);
            if let Src::Field(f) = s {
                prims[f] = Some(Col::new(fields[f].1));
            }
            srcs.push(s);
        }
        RawSink {
            typ,
            sub,
            schema,
            srcs,
            file_id: DictCol::default(),
            prims,
            u16s: UInt16Builder::new(),
            u64a: UInt64Builder::new(),
            u64b: UInt64Builder::new(),
            rec_len: UInt16Builder::new(),
            part: UInt32Builder::new(),
            wafer: UInt16Builder::new(),
            fail_pins: ListBuilder::new(UInt16Builder::new()),
            tests,
            rows: 0,
            batch_size: batch_size.max(1),
            path: path.to_string(),
            batches: Vec::new(),
        }
    }

    pub fn flush(&mut self) -> Result<(), ArrowError> {
        if self.rows == 0 {
            return Ok(());
        }
        let n = self.rows;
        let fid = self.file_id.finish();
        let stream: ArrayRef = Arc::new(self.u16s.finish());
        let ri: ArrayRef = Arc::new(self.u64a.finish());
        let off: ArrayRef = Arc::new(self.u64b.finish());
        let rl: ArrayRef = Arc::new(self.rec_len.finish());
        let part: ArrayRef = Arc::new(self.part.finish());
        let wafer: ArrayRef = Arc::new(self.wafer.finish());
        let fp: ArrayRef = Arc::new(self.fail_pins.finish());
        let mut arrays = Vec::with_capacity(self.srcs.len());
        for s in &self.srcs {
            arrays.push(match s {
                Src::FileId => fid.clone(),
                Src::Stream => stream.clone(),
                Src::RecordIndex => ri.clone(),
                Src::Offset => off.clone(),
                Src::RecLen => rl.clone(),
                Src::PartIndex => part.clone(),
                Src::WaferIndex => wafer.clone(),
                Src::FailPins => fp.clone(),
                Src::FilePath => Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
                    self.path.as_str(),
                    n,
                ))),
                Src::Field(f) => self.prims[*f].as_mut().expect("projected").finish(),
            });
        }
        let b = RecordBatch::try_new_with_options(
            self.schema.clone(),
            arrays,
            &RecordBatchOptions::new().with_row_count(Some(n)),
        )?;
        self.batches.push(b);
        self.rows = 0;
        Ok(())
    }
}

impl Sink for RawSink {
    fn record(&mut self, st: &mut ScanState, raw: &RawRecord, ctx: &RecCtx) -> Flow {
        if raw.typ != self.typ || raw.sub != self.sub {
            return Flow::Continue;
        }
        if let (Some(t), Some((n, _))) = (&self.tests, raw.test_num_flg()) {
            if !t.contains(&n) {
                return Flow::Continue;
            }
        }
        self.file_id.push_cached(0, || Some(st.file_id.as_str()));
        self.u16s.append_value(st.stream_index);
        self.u64a.append_value(raw.index);
        self.u64b.append_value(raw.offset);
        self.rec_len.append_value(raw.rec_len);
        self.part.append_option(ctx.part.map(|p| p.part_index));
        self.wafer.append_option(ctx.wafer_index);
        let (rec, _) = Record::decode(raw.typ, raw.sub, raw.payload, raw.order);
        macro_rules! fill {
            ($r:expr) => {
                for (i, c) in self.prims.iter_mut().enumerate() {
                    if let Some(c) = c {
                        c.append($r.field(i));
                    }
                }
            };
        }
        match &rec {
            Record::Far(r) => fill!(r),
            Record::Atr(r) => fill!(r),
            Record::Vur(r) => fill!(r),
            Record::Mir(r) => fill!(r),
            Record::Mrr(r) => fill!(r),
            Record::Pcr(r) => fill!(r),
            Record::Hbr(r) => fill!(r),
            Record::Sbr(r) => fill!(r),
            Record::Pmr(r) => fill!(r),
            Record::Pgr(r) => fill!(r),
            Record::Plr(r) => fill!(r),
            Record::Rdr(r) => fill!(r),
            Record::Sdr(r) => fill!(r),
            Record::Psr(r) => fill!(r),
            Record::Nmr(r) => fill!(r),
            Record::Cnr(r) => fill!(r),
            Record::Ssr(r) => fill!(r),
            Record::Cdr(r) => fill!(r),
            Record::Wir(r) => fill!(r),
            Record::Wrr(r) => fill!(r),
            Record::Wcr(r) => fill!(r),
            Record::Pir(r) => fill!(r),
            Record::Prr(r) => fill!(r),
            Record::Tsr(r) => fill!(r),
            Record::Ptr(r) => fill!(r),
            Record::Mpr(r) => fill!(r),
            Record::Ftr(r) => fill!(r),
            Record::StrRec(r) => fill!(r),
            Record::Bps(r) => fill!(r),
            Record::Eps(r) => fill!(r),
            Record::Gdr(r) => fill!(r),
            Record::Dtr(r) => fill!(r),
            Record::Unknown { .. } => {}
        }
        if let Record::Ftr(f) = &rec {
            match f.fail_pin {
                Some(d) => {
                    for b in d.set_bits() {
                        self.fail_pins.values().append_value(b);
                    }
                    self.fail_pins.append(true);
                }
                None => self.fail_pins.append(false),
            }
        } else {
            self.fail_pins.append(false);
        }
        self.rows += 1;
        if self.rows >= self.batch_size {
            Flow::Pause
        } else {
            Flow::Continue
        }
    }
}

//! The driver shared by every table: reads records, splits streams at each FAR, tracks parts
//! and wafers from the header bytes of PIR/PRR/test/WIR/WRR records (cheap, no full decode),
//! keeps the lot context and the test catalog, and hands each record to a [`Sink`].

use crate::error::{ErrorKind, Result, StdfError};
use crate::reader::{RawRecord, RecordReader, Skip};
use crate::records::{Bps, Eps, Ftr, Mir, Mpr, Mrr, Pir, Prr, Ptr, Record, StrRec, Wir, Wrr};
use crate::semantics::{Catalog, Context, OpenPart, PartTracker, Pins, Warning};
use crate::Cur;

/// What to do on damaged input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OnError {
    /// Fail with the error.
    #[default]
    Raise,
    /// Keep everything read before the damage, record a warning, end the file there.
    Warn,
}

impl OnError {
    /// `"raise"` or `"warn"` (any case); `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "raise" => Some(OnError::Raise),
            "warn" => Some(OnError::Warn),
            _ => None,
        }
    }
}

/// Per-record context computed by the scanner.
#[derive(Clone, Copy, Debug, Default)]
pub struct RecCtx {
    /// PIR: the part opened; PRR: the part closed; test records: the owning part.
    pub part: Option<OpenPart>,
    /// PIR: a part on the same head/site closed without PRR.
    pub replaced: Option<OpenPart>,
    /// Test record that opened its part implicitly (no PIR, P26).
    pub implicit_open: bool,
    /// WIR/WRR: the wafer.
    pub wafer_index: Option<u16>,
    /// WRR with no WIR before it.
    pub wafer_without_wir: bool,
}

/// State shared with sinks.
#[derive(Debug, Default)]
pub struct ScanState {
    /// The reader's file id (hash of the file size and first 1 MiB of the stream).
    pub file_id: String,
    /// The path the file was opened with.
    pub path: String,
    /// Open parts and the part/wafer counters.
    pub parts: PartTracker,
    /// Tests seen in the current stream.
    pub catalog: Catalog,
    /// Pin names from the PMRs of the current stream.
    pub pins: Pins,
    /// Lot context from the current stream's MIR.
    pub context: Context,
    /// 0-based index of the current stream in the file.
    pub stream_index: u16,
    /// Streams started so far.
    pub stream_count: u16,
    /// The current stream has had its MRR.
    pub mrr_seen: bool,
    /// Records read in the current stream.
    pub records_in_stream: u64,
    /// Warnings so far, in file order.
    pub warnings: Vec<Warning>,
    /// The damage that ended the file in warn mode.
    pub damage: Option<StdfError>,
    /// Damaged stretches skipped in warn mode (the walk resynchronised after each).
    pub desyncs: u32,
    /// Program section stack (BPS/EPS).
    pub sections: Vec<String>,
    warned_codes: Vec<&'static str>,
    /// Records of types the spec does not define in the current stream: (count, first typ/sub).
    pub unknown_records: (u64, u8, u8),
}

impl ScanState {
    /// Record a warning, located at `raw` when given.
    pub fn warn(&mut self, raw: Option<&RawRecord>, code: &'static str, message: String) {
        self.warnings.push(Warning {
            record_index: raw.map(|r| r.index),
            byte_offset: raw.map(|r| r.offset),
            code,
            message,
        });
    }
    /// Warn only the first time this code occurs in the file.
    pub fn warn_once(&mut self, raw: Option<&RawRecord>, code: &'static str, message: String) {
        if !self.warned_codes.contains(&code) {
            self.warned_codes.push(code);
            self.warn(raw, code, message);
        }
    }
}

/// Flow control from a sink.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Go on with the next record.
    Continue,
    /// Stop after this record (e.g. a batch is full); the scan resumes on the next call.
    Pause,
}

/// A consumer of records (one table builder).
pub trait Sink {
    /// Called for every record after the scanner updated its state.
    fn record(&mut self, st: &mut ScanState, raw: &RawRecord, ctx: &RecCtx) -> Flow;
    /// End of a stream (next FAR or end of file): parts still open are incomplete.
    fn end_stream(&mut self, st: &mut ScanState, incomplete: &[OpenPart]) -> Flow {
        let _ = (st, incomplete);
        Flow::Continue
    }
    /// A damaged stretch of the stream was skipped (warn mode): `lost` are the parts that were
    /// open at the damage, now closed incomplete (a PRR after the resync is not theirs to take).
    fn desync(&mut self, st: &mut ScanState, lost: &[OpenPart]) {
        let _ = (st, lost);
    }
    /// End of file (after the last `end_stream`).
    fn end_file(&mut self, st: &mut ScanState) {
        let _ = st;
    }
}

/// Scans one file.
pub struct Scanner {
    /// The record reader of the file.
    pub reader: RecordReader,
    /// State shared with the sink.
    pub state: ScanState,
    /// What to do on damaged input.
    pub on_error: OnError,
    done: bool,
    stream_open: bool,
}

#[inline]
fn hs(p: &[u8], at: usize) -> (u8, u8) {
    (
        p.get(at).copied().unwrap_or(0),
        p.get(at + 1).copied().unwrap_or(0),
    )
}

impl Scanner {
    /// Open `path` (any supported compression) and scan it with `on_error`.
    pub fn open(path: &str, on_error: OnError) -> Result<Self> {
        let reader = RecordReader::open(path)?;
        Ok(Self::new(reader, on_error))
    }

    /// Scan from an open reader; `OnError::Warn` turns on resynchronisation after damage.
    pub fn new(mut reader: RecordReader, on_error: OnError) -> Self {
        reader.set_resync(on_error == OnError::Warn);
        let state = ScanState {
            file_id: reader.file_id().to_string(),
            path: reader.path().to_string(),
            ..Default::default()
        };
        Scanner {
            reader,
            state,
            on_error,
            done: false,
            stream_open: false,
        }
    }

    /// Whether the scan has ended (end of file, or an error under `OnError::Raise`).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The one end-of-stream path (a next FAR or the end of the file): parts left open and
    /// unknown records are reported, a missing MRR too, then the sink ends its stream.
    fn finish_stream<S: Sink>(state: &mut ScanState, stream_open: &mut bool, sink: &mut S) -> Flow {
        if !*stream_open {
            return Flow::Continue;
        }
        *stream_open = false;
        let (parts, _wafers) = state.parts.end_stream();
        for p in &parts {
            let msg = if p.has_pir {
                format!(
                    "part {} (head {}, site {}) has no PRR",
                    p.part_index, p.head, p.site
                )
            } else {
                format!(
                    "part {} (head {}, site {}) has neither PIR nor PRR",
                    p.part_index, p.head, p.site
                )
            };
            state.warn(None, "part_without_prr", msg);
        }
        Self::report_unknown(state);
        if !state.mrr_seen {
            state.warn(
                None,
                "no_mrr",
                format!("stream {} has no MRR", state.stream_index),
            );
        }
        sink.end_stream(state, &parts)
    }

    /// A damaged stretch was skipped: say so, and close the parts open across it incomplete.
    fn desynced<S: Sink>(st: &mut ScanState, sink: &mut S, skip: &Skip, at_end: bool) {
        st.desyncs += 1;
        st.warnings.push(Warning {
            record_index: None,
            byte_offset: Some(skip.from),
            code: "desync",
            message: skip.message(at_end),
        });
        let lost = st.parts.close_open();
        for p in &lost {
            st.warn(
                None,
                "part_without_prr",
                format!(
                    "part {} (head {}, site {}) was open at the damage at byte {}: closed incomplete, without a PRR",
                    p.part_index, p.head, p.site, skip.from
                ),
            );
        }
        sink.desync(st, &lost);
    }

    fn report_unknown(st: &mut ScanState) {
        let (n, t, s) = std::mem::take(&mut st.unknown_records);
        if n > 0 {
            st.warn(
                None,
                "unknown_records",
                format!("{n} record(s) of types the STDF spec does not define were skipped (first: {t}/{s}); stdf_records lists them"),
            );
        }
    }

    /// Process records until the sink pauses or the file ends. Returns Ok(true) while more
    /// records remain.
    pub fn run<S: Sink>(&mut self, sink: &mut S) -> Result<bool> {
        if self.done {
            return Ok(false);
        }
        loop {
            let raw = match self.reader.next_record() {
                Ok(Some(r)) => r,
                Ok(None) => break,
                Err(e) if self.on_error == OnError::Raise => {
                    self.done = true;
                    return Err(e);
                }
                Err(e) => {
                    Self::damaged(&mut self.state, self.reader.records_read(), e);
                    break;
                }
            };
            if let Some(skip) = raw.skip {
                Self::desynced(&mut self.state, sink, skip, false);
            }
            if raw.new_stream {
                if self.stream_open {
                    // a second FAR: a new stream (concatenated files, P21), ended as the file's last
                    Self::finish_stream(&mut self.state, &mut self.stream_open, sink);
                    self.state.stream_index += 1;
                }
                self.stream_open = true;
                Self::start_stream(&mut self.state, &raw);
            }
            let st = &mut self.state;
            st.records_in_stream += 1;
            let ctx = Self::context_of(st, &raw);
            if sink.record(st, &raw, &ctx) == Flow::Pause {
                return Ok(true);
            }
        }
        if let Some(skip) = self.reader.last_skip() {
            Self::desynced(&mut self.state, sink, &skip, true);
        }
        let container = self.reader.take_warnings();
        self.state.warnings.extend(container);
        Self::finish_stream(&mut self.state, &mut self.stream_open, sink);
        sink.end_file(&mut self.state);
        self.done = true;
        Ok(false)
    }

    /// Under `OnError::Warn`: the file ends at the damage `e`, reported as a warning; what was
    /// read before it stays.
    fn damaged(st: &mut ScanState, records_read: u64, e: StdfError) {
        st.warnings.push(Warning {
            record_index: Some(records_read),
            byte_offset: e.offset,
            code: match e.kind {
                ErrorKind::Truncated => "truncated",
                ErrorKind::Format => "format",
                ErrorKind::Unsupported => "unsupported",
                ErrorKind::Io => "io",
            },
            message: e.to_string(),
        });
        st.damage = Some(e);
    }

    /// A FAR opens a stream: the per-stream state starts afresh, and the FAR's CPU_TYPE and
    /// STDF_VER are checked against the header the reader chose.
    fn start_stream(st: &mut ScanState, far: &RawRecord) {
        st.stream_count += 1;
        st.mrr_seen = false;
        st.records_in_stream = 0;
        st.context = Context::default();
        st.catalog.clear();
        st.pins.names.clear();
        st.sections.clear();
        let cpu = far.payload.first().copied();
        match (cpu, far.order) {
            (Some(1), crate::ByteOrder::Little) | (Some(2), crate::ByteOrder::Big) => st.warn(
                Some(far),
                "byte_order_mismatch",
                format!(
                    "FAR.CPU_TYPE {} disagrees with the {}-endian header; the header wins",
                    cpu.unwrap_or(0),
                    far.order.name()
                ),
            ),
            (Some(0), _) => st.warn(
                Some(far),
                "vax_floats",
                "FAR.CPU_TYPE 0 (VAX): floating-point values are read as IEEE".into(),
            ),
            _ => {}
        }
        if let Some(v) = far.payload.get(1) {
            if *v != 4 {
                let msg = format!("FAR.STDF_VER is {v}, not 4");
                st.warn(Some(far), "stdf_version", msg);
            }
        }
    }

    /// The part and wafer a record belongs to, from its header bytes (no full decode), with
    /// the tracker, lot context and section stack brought up to date.
    fn context_of(st: &mut ScanState, raw: &RawRecord) -> RecCtx {
        let mut ctx = RecCtx::default();
        let p = raw.payload;
        match raw.code() {
            Ptr::CODE | Mpr::CODE | Ftr::CODE => {
                let (h, s) = hs(p, 4);
                // a PTR/MPR carrying only defaults (OPT_FLAG bit 4, RES_SCAL 0) opens no part
                let flg = p.get(6).copied().unwrap_or(0);
                let defaults_only = raw.code() != Ftr::CODE
                    && flg & 0x10 != 0
                    && p.get(7).copied().unwrap_or(0) == 0;
                if let Some((part, opened)) = st.parts.attach(h, s, !defaults_only) {
                    ctx.part = Some(part);
                    if opened {
                        ctx.implicit_open = true;
                        Self::implicit_pir(st, raw, h, s, part.part_index);
                    }
                }
            }
            StrRec::CODE => {
                let (h, s) = hs(p, 5);
                if let Some((part, opened)) = st.parts.attach(h, s, true) {
                    ctx.part = Some(part);
                    ctx.implicit_open = opened;
                    if opened {
                        Self::implicit_pir(st, raw, h, s, part.part_index);
                    }
                }
            }
            Pir::CODE => {
                let (h, s) = hs(p, 0);
                if st.parts.open_count() == 0 {
                    st.sections.clear();
                }
                let out = st.parts.pir(h, s, raw.index);
                ctx.part = Some(out.part);
                ctx.wafer_index = out.part.wafer_index;
                if let Some(r) = out.replaced {
                    let msg = format!(
                        "PIR for head {h} site {s} while part {} is still open: that part has no PRR",
                        r.part_index
                    );
                    st.warn(Some(raw), "part_without_prr", msg);
                    ctx.replaced = Some(r);
                }
            }
            Prr::CODE => {
                let (h, s) = hs(p, 0);
                let part = st.parts.prr(h, s);
                ctx.wafer_index = part.wafer_index;
                ctx.part = Some(part);
            }
            Wir::CODE => {
                let (w, closed) = st.parts.wir(p.first().copied().unwrap_or(0));
                ctx.wafer_index = Some(w);
                if let Some(c) = closed {
                    st.warn(
                        Some(raw),
                        "wafer_without_wrr",
                        format!("wafer {c} has no WRR"),
                    );
                }
            }
            Wrr::CODE => {
                let (w, new) = st.parts.wrr(p.first().copied().unwrap_or(0));
                ctx.wafer_index = Some(w);
                ctx.wafer_without_wir = new;
            }
            Mir::CODE => {
                let mut c = Cur::new(p, raw.order);
                st.context = Context::from_mir(&Mir::decode(&mut c));
            }
            Mrr::CODE => st.mrr_seen = true,
            Bps::CODE => {
                let (rec, _) = Record::decode(raw.typ, raw.sub, p, raw.order);
                if let Record::Bps(b) = rec {
                    st.sections
                        .push(crate::semantics::clean(b.seq_name).unwrap_or_default());
                }
            }
            Eps::CODE => {
                st.sections.pop();
            }
            (t, s) => {
                if crate::records::rec_name(t, s).is_none() {
                    let u = &mut st.unknown_records;
                    if u.0 == 0 {
                        *u = (0, t, s);
                    }
                    u.0 += 1;
                }
            }
        }
        ctx
    }

    fn implicit_pir(st: &mut ScanState, raw: &RawRecord, h: u8, s: u8, part_index: u32) {
        let msg = format!(
            "{} for head {h} site {s} with no open part: part {part_index} opened without PIR",
            raw.name()
        );
        st.warn(Some(raw), "implicit_pir", msg);
    }
}

/// Convenience for tests: the error of a damaged file, if any, as an `StdfError`.
pub fn damage_of(st: &ScanState) -> Option<&StdfError> {
    st.damage.as_ref()
}

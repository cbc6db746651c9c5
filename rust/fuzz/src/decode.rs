//! Fuzz check of the reader, every record decoder and the scanner (both error modes).
//!
//! Invariants:
//! * records come in order: `index` counts from 0, offsets strictly increase, each record's
//!   header and REC_LEN bytes lie inside the input, `payload.len() == rec_len`;
//! * the part the scanner gives a PIR, PRR or test record is on that record's head and site
//!   (a row never goes to another part);
//! * `on_error = warn` never returns an error;
//! * a `raise` error names the input and an offset inside the stream; `warn` reports a warning
//!   at that same offset, and the records `raise` delivered before failing are the first
//!   records `warn` delivers.

use std::io::Cursor;

use stdf_core::scan::{Flow, OnError, RecCtx, ScanState, Scanner, Sink};
use stdf_core::{Compression, ErrorKind, RawRecord, Record, RecordReader, StdfError};

const PATH: &str = "fuzz-input";

/// What a scan saw.
pub struct Scan {
    /// (offset, typ, sub, rec_len) of every record delivered.
    pub records: Vec<(u64, u8, u8, u16)>,
    pub result: Result<(), StdfError>,
    /// (byte_offset, code) of every warning.
    pub warnings: Vec<(Option<u64>, &'static str)>,
}

struct Checker {
    len: u64,
    records: Vec<(u64, u8, u8, u16)>,
}

/// Head and site bytes of a record that belongs to a part, as the spec places them.
fn head_site(raw: &RawRecord) -> Option<(u8, u8)> {
    let at = match (raw.typ, raw.sub) {
        (5, 10) | (5, 20) => 0,
        (15, 10) | (15, 15) | (15, 20) => 4,
        (15, 30) => 5,
        _ => return None,
    };
    let p = raw.payload;
    Some((
        p.get(at).copied().unwrap_or(0),
        p.get(at + 1).copied().unwrap_or(0),
    ))
}

impl Sink for Checker {
    fn record(&mut self, st: &mut ScanState, raw: &RawRecord, ctx: &RecCtx) -> Flow {
        assert_eq!(raw.index, self.records.len() as u64, "record index skips");
        if let Some(&(prev, ..)) = self.records.last() {
            assert!(
                raw.offset > prev,
                "record offset {} after {prev}",
                raw.offset
            );
        }
        assert_eq!(
            raw.payload.len(),
            raw.rec_len as usize,
            "payload length != REC_LEN"
        );
        let end = raw.offset + 4 + raw.rec_len as u64;
        assert!(
            end <= self.len,
            "record at {} ends at {end}, past the input ({})",
            raw.offset,
            self.len
        );
        self.records
            .push((raw.offset, raw.typ, raw.sub, raw.rec_len));
        if let (Some(part), Some((h, s))) = (ctx.part, head_site(raw)) {
            assert_eq!(
                (part.head, part.site),
                (h, s),
                "{} at {} (head {h} site {s}) given part {} of head {} site {}",
                raw.name(),
                raw.offset,
                part.part_index,
                part.head,
                part.site
            );
        }
        let (rec, _) = Record::decode(raw.typ, raw.sub, raw.payload, raw.order);
        match &rec {
            Record::Ptr(p) => {
                st.catalog.resolve_ptr(p, raw.index);
            }
            Record::Mpr(m) => {
                st.catalog.resolve_mpr(m, raw.index);
            }
            Record::Ftr(f) => {
                st.catalog.note_ftr(f, raw.index);
            }
            Record::StrRec(s) => {
                st.catalog.note_str(s, raw.index);
            }
            Record::Tsr(t) => st.catalog.add_tsr(t),
            Record::Pmr(p) => st.pins.add(p),
            _ => {}
        }
        Flow::Continue
    }
}

/// Scan `data` as one uncompressed stream in `mode`.
pub fn scan(data: &[u8], mode: OnError) -> Scan {
    let src = Box::new(Cursor::new(data.to_vec()));
    let mut sink = Checker {
        len: data.len() as u64,
        records: Vec::new(),
    };
    let reader = match RecordReader::from_reader(PATH, src, Compression::None, data.len() as u64) {
        Ok(r) => r,
        Err(e) => {
            return Scan {
                records: Vec::new(),
                result: Err(e),
                warnings: Vec::new(),
            }
        }
    };
    let mut s = Scanner::new(reader, mode);
    let result = loop {
        match s.run(&mut sink) {
            Ok(true) => {}
            Ok(false) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    let warnings = s
        .state
        .warnings
        .iter()
        .map(|w| (w.byte_offset, w.code))
        .collect();
    Scan {
        records: sink.records,
        result,
        warnings,
    }
}

/// An error of a damaged stream names the input and an offset inside the stream.
pub fn check_error(e: &StdfError, path: &str, len: Option<u64>) {
    assert_eq!(e.path, path, "error names another file: {e}");
    if e.kind == ErrorKind::Io {
        return;
    }
    let off = e
        .offset
        .unwrap_or_else(|| panic!("error without a byte offset: {e}"));
    if let Some(len) = len {
        assert!(
            off <= len,
            "error offset {off} past the end of the stream ({len}): {e}"
        );
    }
    // damage inside the stream (format, truncation) is at a record; a container that cannot be
    // opened (I/O, unsupported) may name none
    if matches!(e.kind, ErrorKind::Format | ErrorKind::Truncated) {
        assert!(e.record.is_some(), "error without a record type: {e}");
    }
}

/// The fuzz check of the `decode` target.
pub fn check(data: &[u8]) {
    let raise = scan(data, OnError::Raise);
    let warn = scan(data, OnError::Warn);
    if let Err(e) = &warn.result {
        panic!("on_error=warn returned an error: {e}");
    }
    if let Err(e) = &raise.result {
        check_error(e, PATH, Some(data.len() as u64));
        assert!(
            warn.warnings.iter().any(|(o, _)| *o == e.offset),
            "raise failed at {:?} ({e}) but warn has no warning there: {:?}",
            e.offset,
            warn.warnings
        );
    }
    let n = raise.records.len();
    assert!(
        warn.records.len() >= n && warn.records[..n] == raise.records[..],
        "the records before the error differ between raise ({n}) and warn ({})",
        warn.records.len()
    );
    if raise.result.is_ok() {
        assert_eq!(
            warn.records, raise.records,
            "raise and warn read different records"
        );
    }
}

//! Streaming record reader: yields each record's header and payload, borrowed from an internal
//! buffer of bounded size (memory does not grow with the file).

use std::io::Read;

use xxhash_rust::xxh3::Xxh3;

use crate::codec::ByteOrder;
use crate::error::{ErrorKind, Result, StdfError};
use crate::records::display_name;
use crate::semantics::Warning;
use crate::source::{self, Compression, Input, Plain};

mod check;
pub use check::{Cause, Skip};

/// One record as found in the stream.
#[derive(Clone, Copy, Debug)]
pub struct RawRecord<'b> {
    /// 0-based ordinal of the record in the file.
    pub index: u64,
    /// Offset of the header in the decompressed stream.
    pub offset: u64,
    /// REC_TYP: the record type group.
    pub typ: u8,
    /// REC_SUB: the record type within the group.
    pub sub: u8,
    /// REC_LEN: payload length in bytes (header not counted).
    pub rec_len: u16,
    /// The REC_LEN bytes after the header.
    pub payload: &'b [u8],
    /// Byte order of the stream this record belongs to.
    pub order: ByteOrder,
    /// This record is a FAR that starts a new stream (a file may hold several).
    pub new_stream: bool,
    /// A damaged stretch skipped just before this record (warn mode).
    pub skip: Option<&'b Skip>,
}

impl RawRecord<'_> {
    /// The spec's name of the record type, or `UNKNOWN` for an undefined one.
    pub fn name(&self) -> &'static str {
        display_name(self.typ, self.sub)
    }
    /// (REC_TYP, REC_SUB), to match against a record type's `CODE`.
    #[inline]
    pub fn code(&self) -> (u8, u8) {
        (self.typ, self.sub)
    }
    /// TEST_NUM and TEST_FLG of a test record (PTR/MPR/FTR/STR) read straight from the payload
    /// bytes, without decoding the record; None for other records or when cut short.
    #[inline]
    pub fn test_num_flg(&self) -> Option<(u32, u8)> {
        if self.typ != 15 {
            return None;
        }
        let (at, flg_at) = match self.sub {
            10 | 15 | 20 => (0, 6),
            30 => (1, 9),
            _ => return None,
        };
        let p = self.payload;
        let b: [u8; 4] = p.get(at..at + 4)?.try_into().ok()?;
        let n = match self.order {
            ByteOrder::Little => u32::from_le_bytes(b),
            ByteOrder::Big => u32::from_be_bytes(b),
        };
        Some((n, p.get(flg_at).copied().unwrap_or(0)))
    }

    /// The record type's name for messages: the spec name, or `UNKNOWN typ/sub`.
    pub fn label(&self) -> String {
        match crate::records::rec_name(self.typ, self.sub) {
            Some(n) => n.to_string(),
            None => format!("UNKNOWN {}/{}", self.typ, self.sub),
        }
    }
}

const BUF_CAP: usize = 4 << 20;
const ID_PREFIX: usize = 1 << 20;

/// Reads records from a decompressed STDF stream.
pub struct RecordReader {
    path: String,
    src: Box<dyn Input>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    /// The input failed (damaged compressed data): every byte before is in `buf`; the error is
    /// returned once the walk needs a byte past them.
    failed: Option<StdfError>,
    /// The current member of a multi-member input (a zip) has ended; the next one starts once
    /// every byte of this one is consumed (a record never runs from one member into the next).
    member_end: bool,
    /// Stream offset of `buf[0]`.
    base: u64,
    order: Option<ByteOrder>,
    index: u64,
    hasher: Option<Xxh3>,
    /// Container format of the input.
    pub compression: Compression,
    /// Size of the file as given when opening (on disk, before decompression, for
    /// [`RecordReader::open`]); part of the file id.
    pub file_size: u64,
    file_id: String,
    /// Look-ahead window of checked headers.
    check: check::Check,
    /// On a damaged record, skip to the resync point (warn mode) instead of failing.
    resync: bool,
    /// The skip before the record (or the end of the stream) last returned.
    last_skip: Option<Skip>,
}

/// A record header as found: (stream offset, its 4 bytes, the byte order, whether it starts a stream).
type Header = (u64, [u8; 4], ByteOrder, bool);

impl RecordReader {
    /// Open a file (any supported compression).
    pub fn open(path: &str) -> Result<Self> {
        let s = source::open(path)?;
        Self::from_input(path, s.reader, s.compression, s.file_size)
    }

    /// Read from any byte stream (already decompressed).
    pub fn from_reader(
        path: &str,
        src: Box<dyn Read + Send>,
        compression: Compression,
        file_size: u64,
    ) -> Result<Self> {
        Self::from_input(path, Box::new(Plain(src)), compression, file_size)
    }

    /// Read from an opened input. The file id hashes the first 1 MiB of the stream; when the
    /// input fails before (damaged compressed data), it hashes what was read and the failure
    /// comes where the walk reaches it, after every record before it.
    pub fn from_input(
        path: &str,
        src: Box<dyn Input>,
        compression: Compression,
        file_size: u64,
    ) -> Result<Self> {
        let mut r = RecordReader {
            path: path.to_string(),
            src,
            buf: vec![0; BUF_CAP],
            start: 0,
            end: 0,
            eof: false,
            failed: None,
            member_end: false,
            base: 0,
            order: None,
            index: 0,
            hasher: None,
            compression,
            file_size,
            file_id: String::new(),
            check: check::Check::default(),
            resync: false,
            last_skip: None,
        };
        // a failure is kept in `failed` and returned by the fill that needs the missing bytes
        let _ = r.fill(ID_PREFIX);
        let mut h = Xxh3::new();
        h.update(&file_size.to_le_bytes());
        h.update(&r.buf[..r.end.min(ID_PREFIX)]);
        r.file_id = format!("{:032x}", h.digest128());
        Ok(r)
    }

    /// Findings of the container layer that lose no STDF data (trailing garbage after the last
    /// compressed member, a zip member that is not STDF), as warnings (drained).
    pub fn take_warnings(&mut self) -> Vec<Warning> {
        self.src
            .take_notices()
            .into_iter()
            .map(|n| Warning {
                record_index: None,
                byte_offset: Some(n.offset),
                code: n.code,
                message: n.message,
            })
            .collect()
    }

    /// Hash every byte of the stream (for `content_hash`); call before the first record.
    pub fn enable_content_hash(&mut self) {
        if self.index == 0 && self.base == 0 {
            let mut h = Xxh3::new();
            h.update(&self.buf[..self.end]);
            self.hasher = Some(h);
        }
    }

    /// Hash of the whole decompressed stream, once it has been read to the end.
    pub fn content_hash(&self) -> Option<String> {
        if !self.eof {
            return None;
        }
        self.hasher
            .as_ref()
            .map(|h| format!("{:032x}", h.digest128()))
    }

    /// 128-bit hash of (file size, first 1 MiB of the stream), hex.
    pub fn file_id(&self) -> &str {
        &self.file_id
    }
    /// The path given when opening (used in errors).
    pub fn path(&self) -> &str {
        &self.path
    }
    /// Bytes of the decompressed stream consumed so far.
    pub fn position(&self) -> u64 {
        self.base + self.start as u64
    }
    /// Byte order of the current stream, from its FAR; `None` before the first FAR is read.
    pub fn byte_order(&self) -> Option<ByteOrder> {
        self.order
    }
    /// Size of the whole decompressed stream: reads (and discards) whatever is left.
    pub fn total_size(&mut self) -> u64 {
        loop {
            if self.eof {
                return self.base + self.end as u64;
            }
            self.base += self.end as u64;
            self.start = 0;
            self.end = 0;
            let cap = self.buf.len();
            if self.fill(cap).is_err() {
                return self.base + self.end as u64;
            }
        }
    }

    /// On a damaged record (a REC_LEN that breaks the header chain), skip to the next point where
    /// records chain again and report it in [`RawRecord::skip`] / [`RecordReader::last_skip`]
    /// (warn mode), instead of failing with an error at the damaged record (the default).
    pub fn set_resync(&mut self, on: bool) {
        self.resync = on;
    }

    /// Walk as the REC_LENs say, without checking the header chain ahead (no damage found
    /// before the walk runs into it): for bytes known to be whole, such as the project's own
    /// writer output read back. The format has no sync marker, so the checks are a judgement:
    /// a valid record whose last bytes repeat a whole record of the file reads as damaged.
    pub fn trust_lengths(&mut self) {
        self.halt_checks();
    }

    /// The damaged stretch skipped before the record (or the end of the stream) last returned.
    pub fn last_skip(&self) -> Option<Skip> {
        self.last_skip
    }

    /// Records read so far.
    pub fn records_read(&self) -> u64 {
        self.index
    }

    /// Make at least `need` bytes available from `start` (fewer only at end of stream, at the
    /// end of a member of a multi-member input while bytes of it remain, or before a failure of
    /// the input, which is returned once those bytes are not enough).
    fn fill(&mut self, need: usize) -> Result<()> {
        if self.end - self.start >= need || self.eof {
            return Ok(());
        }
        if self.failed.is_some() {
            return Err(self.failure());
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.base += self.start as u64;
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() < need {
            self.buf.resize(need, 0);
        }
        while self.end < need {
            if self.member_end {
                if self.start < self.end {
                    break; // what is left of the member is all the walk gets
                }
                self.member_end = false;
                match self.src.next_member() {
                    Ok(true) => continue,
                    Ok(false) => {
                        self.eof = true;
                        break;
                    }
                    Err(e) => return Err(self.fail(e)),
                }
            }
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) if self.src.has_next_member() => self.member_end = true,
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => {
                    if let Some(h) = self.hasher.as_mut() {
                        h.update(&self.buf[self.end..self.end + n]);
                    }
                    self.end += n;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.fail(e)),
            }
        }
        Ok(())
    }

    /// The input failed after the bytes read so far: remember it (every later fill that needs
    /// more bytes returns it).
    fn fail(&mut self, e: std::io::Error) -> StdfError {
        let kind = match e.kind() {
            std::io::ErrorKind::UnexpectedEof => ErrorKind::Truncated,
            std::io::ErrorKind::Unsupported => ErrorKind::Unsupported,
            _ => ErrorKind::Io,
        };
        let mut err = StdfError::io(&self.path, &e);
        err.kind = kind;
        err.message = format!(
            "cannot read (decompress) the stream past byte offset {}: {e}",
            self.base + self.end as u64
        );
        self.failed = Some(err);
        self.failure()
    }

    /// The failure of the input, at the record it cuts (the one the walk is in): every record
    /// before it is whole.
    fn failure(&self) -> StdfError {
        let err = self.failed.clone().expect("a failure");
        let label = match (&self.buf[self.start..self.end], self.order) {
            ([a, b, t, s, ..], order) => match (source::far_order(&[*a, *b, *t, *s]), order) {
                (Some(_), _) => "FAR".to_string(),
                (None, Some(_)) => match crate::records::rec_name(*t, *s) {
                    Some(n) => n.to_string(),
                    None => format!("UNKNOWN {t}/{s}"),
                },
                (None, None) => format!("{t}/{s}"),
            },
            _ => "header".to_string(),
        };
        err.at(self.position()).record(label)
    }

    fn err(&self, kind: ErrorKind, offset: u64, rec: &str, msg: String) -> StdfError {
        StdfError::new(kind, &self.path, msg).at(offset).record(rec)
    }

    /// Next record, `Ok(None)` at a clean end of stream.
    pub fn next_record(&mut self) -> Result<Option<RawRecord<'_>>> {
        self.last_skip = None;
        let (offset, h, order, new_stream) = loop {
            let Some((offset, h, order, new_stream)) = self.next_header()? else {
                return Ok(None);
            };
            match self.check_record(offset, order) {
                check::Verdict::Deliver => break (offset, h, order, new_stream),
                check::Verdict::Damaged(d) => self.damaged(&d, h)?,
            }
        };
        let (typ, sub) = (h[2], h[3]);
        let rec_len = match order {
            ByteOrder::Little => u16::from_le_bytes([h[0], h[1]]),
            ByteOrder::Big => u16::from_be_bytes([h[0], h[1]]),
        };
        let total = 4 + rec_len as usize;
        self.fill(total)?;
        let avail = self.end - self.start;
        if avail < total {
            let label = match crate::records::rec_name(typ, sub) {
                Some(n) => n.to_string(),
                None => format!("UNKNOWN {typ}/{sub}"),
            };
            return Err(self.err(
                ErrorKind::Truncated,
                offset,
                &label,
                format!(
                    "record declares REC_LEN {rec_len} but the stream ends after {} of its bytes",
                    avail - 4
                ),
            ));
        }
        let s = self.start;
        self.start += total;
        let index = self.index;
        self.index += 1;
        Ok(Some(RawRecord {
            index,
            offset,
            typ,
            sub,
            rec_len,
            payload: &self.buf[s + 4..s + total],
            order,
            new_stream,
            skip: self.last_skip.as_ref(),
        }))
    }

    /// The header of the next record; None at the end of the stream.
    fn next_header(&mut self) -> Result<Option<Header>> {
        self.fill(4)?;
        let avail = self.end - self.start;
        let offset = self.position();
        if self.order.is_none() && avail < 4 {
            return Err(self.err(
                ErrorKind::Format,
                offset,
                "header",
                format!("not an STDF file: {avail} byte(s), too short to hold a FAR"),
            ));
        }
        if avail == 0 {
            return Ok(None);
        }
        if avail < 4 {
            return Err(self.err(
                ErrorKind::Truncated,
                offset,
                "header",
                format!("stream ends inside a record header ({avail} of 4 bytes)"),
            ));
        }
        let h = [
            self.buf[self.start],
            self.buf[self.start + 1],
            self.buf[self.start + 2],
            self.buf[self.start + 3],
        ];
        let (typ, sub) = (h[2], h[3]);
        let mut new_stream = false;
        if typ == 0 && sub == 10 && (h[0..2] == [2, 0] || h[0..2] == [0, 2]) {
            let o = if h[0] == 2 {
                ByteOrder::Little
            } else {
                ByteOrder::Big
            };
            new_stream = true;
            self.order = Some(o);
        }
        match self.order {
            Some(o) => Ok(Some((offset, h, o, new_stream))),
            None => Err(self.first_record_error(h, offset)),
        }
    }

    /// The walk reached a damaged record: fail (default), or skip to where records chain again.
    fn damaged(&mut self, d: &check::Damage, h: [u8; 4]) -> Result<()> {
        let to = match self.resync(d) {
            check::Resync::At(p) => (p, false),
            check::Resync::End(p) => (p, true),
            check::Resync::None => {
                // no valid record after it: a plain truncation, reported where the walk ends
                self.halt_checks();
                return Ok(());
            }
        };
        let skip = self.skip_of(d, to.0, h);
        if !self.resync {
            let next = if to.1 {
                "no valid record follows it".to_string()
            } else {
                format!("records chain again from byte {}", to.0)
            };
            let msg = format!("damaged record: {}; {next}", skip.cause_text());
            return Err(self.err(ErrorKind::Format, d.at, &skip.label(), msg));
        }
        self.skip_to(to.0);
        // two damaged records in a row make one skipped stretch
        self.last_skip = Some(match self.last_skip {
            Some(prev) => Skip {
                to: skip.to,
                ..prev
            },
            None => skip,
        });
        Ok(())
    }

    fn first_record_error(&self, h: [u8; 4], offset: u64) -> StdfError {
        let (typ, sub) = (h[2], h[3]);
        if typ == 1 && sub == 10 {
            return self.err(
                ErrorKind::Unsupported,
                offset,
                "MIR",
                "file starts with a MIR and no FAR: STDF V3 is not supported".into(),
            );
        }
        let sniffed = Compression::sniff(&self.buf[self.start..self.end]);
        let hint = if sniffed != Compression::None {
            format!(" (the data looks {}-compressed)", sniffed.name())
        } else {
            String::new()
        };
        self.err(
            ErrorKind::Format,
            offset,
            &format!("{typ}/{sub}"),
            format!(
                "not an STDF file: the first record must be a FAR (bytes 02 00 00 0A or 00 02 00 0A), found {:02X} {:02X} {:02X} {:02X}{hint}",
                h[0], h[1], h[2], h[3]
            ),
        )
    }
}

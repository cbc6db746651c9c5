//! Opening a file: compression sniffed from magic bytes (never from the name), and the
//! container layer's rules on damage:
//!
//! - every byte a decompressor delivers before it fails is kept; the failure comes after them,
//!   naming the member and the compressed offset (the reader adds the decompressed offset);
//! - gzip members, bzip2 streams and zstd frames follow one another; zero bytes after the last
//!   one are padding (ignored, as `gzip -t` does); any other bytes after it are trailing
//!   garbage: a [`Notice`], never data and never an error (nothing of the STDF stream is lost);
//! - a zip is read member after member, each its own STDF stream (see `source/zipfile.rs`).

use std::fs::File;
use std::io::{self, BufRead, Read};

use crate::codec::ByteOrder;
use crate::error::{Result, StdfError};

mod zipfile;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const BZIP2_MAGIC: [u8; 3] = *b"BZh";
const ZIP_MAGIC: [u8; 4] = [b'P', b'K', 3, 4];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Container format of an input file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// Uncompressed STDF.
    None,
    /// gzip (one or more members).
    Gzip,
    /// bzip2 (one or more streams).
    Bzip2,
    /// zip archive (each member its own STDF stream).
    Zip,
    /// Zstandard (one or more frames).
    Zstd,
}

impl Compression {
    /// Lower-case name: `"none"`, `"gzip"`, `"bzip2"`, `"zip"` or `"zstd"`.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Bzip2 => "bzip2",
            Compression::Zip => "zip",
            Compression::Zstd => "zstd",
        }
    }
    /// Sniff from the first bytes of a file.
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&GZIP_MAGIC) {
            Compression::Gzip
        } else if head.starts_with(&BZIP2_MAGIC) {
            Compression::Bzip2
        } else if head.starts_with(&ZIP_MAGIC) {
            Compression::Zip
        } else if head.starts_with(&ZSTD_MAGIC) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    /// What one unit of a concatenating container is called in messages.
    fn member_noun(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip member",
            Compression::Bzip2 => "bzip2 stream",
            Compression::Zstd => "zstd frame",
            _ => "member",
        }
    }

    /// True when `head` starts another member of this (concatenating) container: a gzip
    /// member, a bzip2 stream (`BZh1`..`BZh9`), a zstd frame or skippable frame.
    fn starts_member(self, head: &[u8]) -> bool {
        match self {
            Compression::Gzip => head.starts_with(&GZIP_MAGIC),
            Compression::Bzip2 => {
                head.starts_with(&BZIP2_MAGIC)
                    && head.get(3).is_some_and(|d| (b'1'..=b'9').contains(d))
            }
            Compression::Zstd => {
                head.starts_with(&ZSTD_MAGIC)
                    || (head.len() >= 4
                        && head[0] & 0xf0 == 0x50
                        && head[1..4] == [0x2a, 0x4d, 0x18])
            }
            _ => false,
        }
    }
}

/// Byte order of a FAR header (`02 00 00 0A` little-endian, `00 02 00 0A` big-endian): the
/// bytes every STDF stream starts with. None for anything else.
pub fn far_order(head: &[u8]) -> Option<ByteOrder> {
    match head {
        [2, 0, 0, 10, ..] => Some(ByteOrder::Little),
        [0, 2, 0, 10, ..] => Some(ByteOrder::Big),
        _ => None,
    }
}

/// A finding of the container layer that loses nothing of the STDF data (trailing garbage, a
/// zip member that is not STDF): reported in `stdf_warnings`, never an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// Offset in the decompressed stream where it was found.
    pub offset: u64,
    /// Short machine-readable code of the finding (the `stdf_warnings` code).
    pub code: &'static str,
    /// What was found, in words.
    pub message: String,
}

/// A decompressed input. Most are one stream; a zip holding several files is one stream per
/// member: `read` returns 0 at the end of each and [`Input::next_member`] starts the next one.
pub trait Input: Read + Send {
    /// Whether members may follow the current one (false for a single stream).
    fn has_next_member(&self) -> bool {
        false
    }
    /// After `read` returned 0: start the next member; false when none is left.
    fn next_member(&mut self) -> io::Result<bool> {
        Ok(false)
    }
    /// Findings so far (drained).
    fn take_notices(&mut self) -> Vec<Notice> {
        Vec::new()
    }
}

/// A single stream with nothing to report: an uncompressed file, or any reader a caller hands
/// over already decompressed.
pub struct Plain<R>(pub R);

impl<R: Read + Send> Read for Plain<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R: Read + Send> Input for Plain<R> {}

/// An opened input: decompressed byte stream plus what is known about the file.
pub struct Source {
    /// The decompressed byte stream.
    pub reader: Box<dyn Input>,
    /// Container format sniffed from the magic bytes.
    pub compression: Compression,
    /// Size on disk.
    pub file_size: u64,
}

const IO_BUF: usize = 1 << 20;

/// Open `path`, sniff its compression and return the decompressed stream.
pub fn open(path: &str) -> Result<Source> {
    let file = File::open(path).map_err(|e| StdfError::io(path, &e))?;
    let file_size = file.metadata().map_err(|e| StdfError::io(path, &e))?.len();
    let mut raw = Raw::new(file, IO_BUF);
    let head = raw.peek(4).map_err(|e| StdfError::io(path, &e))?;
    let compression = Compression::sniff(head);
    let reader: Box<dyn Input> = match compression {
        Compression::None => Box::new(Plain(raw)),
        Compression::Gzip | Compression::Bzip2 | Compression::Zstd => {
            Box::new(Members::new(compression, raw))
        }
        Compression::Zip => Box::new(zipfile::ZipMembers::open(path, raw.into_inner())?),
    };
    Ok(Source {
        reader,
        compression,
        file_size,
    })
}

/// A buffered reader that counts the bytes consumed (the compressed offset, for messages) and
/// can look a few bytes ahead across its buffer's end (magic bytes).
pub(crate) struct Raw<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
    consumed: u64,
}

impl<R: Read> Raw<R> {
    pub(crate) fn new(inner: R, cap: usize) -> Self {
        Raw {
            inner,
            buf: vec![0; cap.max(16)].into_boxed_slice(),
            pos: 0,
            len: 0,
            consumed: 0,
        }
    }

    /// Bytes consumed so far.
    pub(crate) fn position(&self) -> u64 {
        self.consumed
    }

    /// The next `n` bytes without consuming them (fewer only at end of input).
    pub(crate) fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        if self.len - self.pos < n {
            self.buf.copy_within(self.pos..self.len, 0);
            self.len -= self.pos;
            self.pos = 0;
            while self.len < n.min(self.buf.len()) {
                match self.inner.read(&mut self.buf[self.len..]) {
                    Ok(0) => break,
                    Ok(k) => self.len += k,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(&self.buf[self.pos..self.len.min(self.pos + n)])
    }

    /// Consume the rest of the input: (its length, whether every byte of it is zero).
    fn skip_rest(&mut self) -> io::Result<(u64, bool)> {
        let (mut n, mut zeros) = (0u64, true);
        loop {
            let b = self.fill_buf()?;
            if b.is_empty() {
                return Ok((n, zeros));
            }
            zeros = zeros && b.iter().all(|&x| x == 0);
            let k = b.len();
            n += k as u64;
            self.consume(k);
        }
    }

    pub(crate) fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for Raw<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.len && out.len() >= self.buf.len() {
            // a large read with nothing buffered: no copy through the buffer
            let n = loop {
                match self.inner.read(out) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    other => break other?,
                }
            };
            self.consumed += n as u64;
            return Ok(n);
        }
        let b = self.fill_buf()?;
        let n = b.len().min(out.len());
        out[..n].copy_from_slice(&b[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for Raw<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.len {
            self.pos = 0;
            self.len = loop {
                match self.inner.read(&mut self.buf) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    other => break other?,
                }
            };
        }
        Ok(&self.buf[self.pos..self.len])
    }
    fn consume(&mut self, n: usize) {
        let n = n.min(self.len - self.pos);
        self.pos += n;
        self.consumed += n as u64;
    }
}

/// The decoder of the current member, or the raw input between two members.
enum Member<R: Read> {
    Gzip(Box<flate2::bufread::GzDecoder<Raw<R>>>),
    Bzip2(bzip2::bufread::BzDecoder<Raw<R>>),
    Zstd(zstd::stream::read::Decoder<'static, Raw<R>>),
    /// At a member boundary (or before the first member).
    Next(Raw<R>),
    Done,
}

/// A concatenating container (gzip members, bzip2 streams, zstd frames), decoded member after
/// member into one stream.
pub(crate) struct Members<R: Read> {
    kind: Compression,
    cur: Member<R>,
    /// 1-based number of the current member.
    index: u32,
    /// Compressed offset of the current member.
    member_at: u64,
    /// Decompressed bytes delivered.
    out: u64,
    notices: Vec<Notice>,
}

impl<R: Read + Send> Members<R> {
    pub(crate) fn new(kind: Compression, raw: Raw<R>) -> Self {
        Members {
            kind,
            cur: Member::Next(raw),
            index: 0,
            member_at: 0,
            out: 0,
            notices: Vec::new(),
        }
    }

    fn compressed_pos(&self) -> u64 {
        match &self.cur {
            Member::Gzip(d) => d.get_ref().position(),
            Member::Bzip2(d) => d.get_ref().position(),
            Member::Zstd(d) => d.get_ref().position(),
            Member::Next(r) => r.position(),
            Member::Done => self.member_at,
        }
    }

    /// At a member boundary: start the next member, or end (clean end, zero padding, or
    /// trailing garbage, which becomes a notice).
    fn start_next(&mut self) -> io::Result<()> {
        let Member::Next(mut raw) = std::mem::replace(&mut self.cur, Member::Done) else {
            return Ok(());
        };
        let head = raw.peek(4)?;
        if head.is_empty() {
            return Ok(());
        }
        if self.index == 0 || self.kind.starts_member(head) {
            self.index += 1;
            self.member_at = raw.position();
            self.cur = match self.kind {
                Compression::Gzip => Member::Gzip(Box::new(flate2::bufread::GzDecoder::new(raw))),
                Compression::Bzip2 => Member::Bzip2(bzip2::bufread::BzDecoder::new(raw)),
                _ => Member::Zstd(zstd::stream::read::Decoder::with_buffer(raw)?.single_frame()),
            };
            return Ok(());
        }
        let at = raw.position();
        let (n, zeros) = raw.skip_rest()?;
        if !zeros {
            let noun = self.kind.member_noun();
            self.notices.push(Notice {
                offset: self.out,
                code: "trailing_garbage",
                message: format!(
                    "{n} byte(s) after the last {noun} (from compressed byte {at}) are not {} data: ignored",
                    self.kind.name()
                ),
            });
        }
        Ok(())
    }

    /// The current member decoded to its end: back to the raw input.
    fn end_member(&mut self) {
        self.cur = match std::mem::replace(&mut self.cur, Member::Done) {
            Member::Gzip(d) => Member::Next(d.into_inner()),
            Member::Bzip2(d) => Member::Next(d.into_inner()),
            Member::Zstd(d) => Member::Next(d.finish()),
            other => other,
        };
    }

    /// A decoder error, told as the member it hit and where.
    fn damage(&self, e: io::Error) -> io::Error {
        let at = self.compressed_pos();
        let what = format!(
            "{} {} (from compressed byte {})",
            self.kind.member_noun(),
            self.index,
            self.member_at
        );
        let msg = if e.kind() == io::ErrorKind::UnexpectedEof {
            format!("{what} is cut short: the file ends inside it, at compressed byte {at}")
        } else {
            format!("{what} is damaged near compressed byte {at}: {e}")
        };
        io::Error::new(e.kind(), msg)
    }
}

impl<R: Read + Send> Read for Members<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let got = match &mut self.cur {
                Member::Gzip(d) => d.read(buf),
                Member::Bzip2(d) => d.read(buf),
                Member::Zstd(d) => d.read(buf),
                Member::Next(_) => {
                    self.start_next()?;
                    continue;
                }
                Member::Done => return Ok(0),
            };
            match got {
                Ok(0) => self.end_member(),
                Ok(n) => {
                    self.out += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
                Err(e) => {
                    let e = self.damage(e);
                    self.cur = Member::Done;
                    return Err(e);
                }
            }
        }
    }
}

impl<R: Read + Send> Input for Members<R> {
    fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.notices)
    }
}

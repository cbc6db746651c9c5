//! A zip archive read member after member: every file member in central-directory order, each
//! its own STDF stream (as in concatenated STDF files, a FAR starts each). Directories are
//! skipped; a member that holds no STDF stream (empty, no FAR first, a symbolic link) is
//! skipped with a notice; a member that may be STDF but cannot be read (encrypted, an
//! unsupported method) is an error where it comes. Each member's size and CRC-32 are checked
//! at its end. A zip cut short (no central directory, e.g. still being copied) is read from its
//! local headers up to the damage.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Take};

use super::{far_order, Compression, Input, Notice, Raw};
use crate::error::{ErrorKind, Result, StdfError};

const LOCAL_SIG: [u8; 4] = [b'P', b'K', 3, 4];
const DESCRIPTOR_SIG: [u8; 4] = [b'P', b'K', 7, 8];
const RAW_BUF: usize = 256 << 10;

/// One file member, as listed by the central directory or found from its local header.
#[derive(Clone, Debug)]
struct Entry {
    name: String,
    data_start: u64,
    /// None: unknown until the compressed stream ends (local header with a data descriptor).
    csize: Option<u64>,
    size: Option<u64>,
    crc: Option<u32>,
    method: u16,
    encrypted: bool,
    symlink: bool,
    dir: bool,
}

/// Where the members come from.
enum Listing {
    Central {
        entries: Vec<Entry>,
        next: usize,
    },
    /// No central directory: the next local header is at `next_at` (None: no more members).
    Local {
        next_at: Option<u64>,
    },
}

type Body = Raw<Take<File>>;

/// The decoder of one member's data.
enum Dec {
    Stored(Body),
    Deflate(flate2::bufread::DeflateDecoder<Body>),
    Bzip2(bzip2::bufread::BzDecoder<Body>),
    Zstd(zstd::stream::read::Decoder<'static, Body>),
}

impl Dec {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Dec::Stored(r) => r.read(buf),
            Dec::Deflate(d) => d.read(buf),
            Dec::Bzip2(d) => d.read(buf),
            Dec::Zstd(d) => d.read(buf),
        }
    }
    /// Compressed bytes consumed.
    fn consumed(&self) -> u64 {
        match self {
            Dec::Stored(r) => r.position(),
            Dec::Deflate(d) => d.get_ref().position(),
            Dec::Bzip2(d) => d.get_ref().position(),
            Dec::Zstd(d) => d.get_ref().position(),
        }
    }
}

/// The member being read.
struct Current {
    entry: Entry,
    dec: Dec,
    /// Its first bytes, read to check for a FAR, served before the rest.
    head: [u8; 4],
    head_len: usize,
    head_pos: usize,
    crc: flate2::Crc,
    got: u64,
}

/// Every STDF member of a zip archive, one stream after another.
pub(crate) struct ZipMembers {
    file: File,
    listing: Listing,
    cur: Option<Current>,
    out: u64,
    notices: Vec<Notice>,
}

fn zerr(path: &str, e: impl std::fmt::Display) -> StdfError {
    StdfError::new(ErrorKind::Io, path, format!("cannot read zip archive: {e}"))
}

/// The zip method number (APPNOTE 4.4.5) of the methods read here, 0xffff for any other.
fn method_code(m: ::zip::CompressionMethod) -> u16 {
    use ::zip::CompressionMethod as M;
    match m {
        M::Stored => 0,
        M::Deflated => 8,
        M::Bzip2 => 12,
        M::Zstd => 93,
        _ => 0xffff,
    }
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or([0; 8]))
}

impl ZipMembers {
    /// Open the archive and its first STDF member.
    pub(crate) fn open(path: &str, mut file: File) -> Result<Self> {
        let mut notices = Vec::new();
        let listing = match ::zip::ZipArchive::new(&mut file) {
            Ok(mut archive) => {
                let mut entries = Vec::new();
                for i in 0..archive.len() {
                    let m = archive.by_index_raw(i).map_err(|e| zerr(path, e))?;
                    entries.push(Entry {
                        name: m.name().to_string(),
                        data_start: m.data_start(),
                        csize: Some(m.compressed_size()),
                        size: Some(m.size()),
                        crc: Some(m.crc32()),
                        method: method_code(m.compression()),
                        encrypted: m.encrypted(),
                        symlink: m.is_symlink(),
                        dir: m.is_dir(),
                    });
                }
                Listing::Central { entries, next: 0 }
            }
            Err(e) => {
                notices.push(Notice {
                    offset: 0,
                    code: "zip_without_directory",
                    message: format!("the zip archive has no readable central directory ({e}; cut short?): its members are read from their local headers"),
                });
                Listing::Local { next_at: Some(0) }
            }
        };
        let mut z = ZipMembers {
            file,
            listing,
            cur: None,
            out: 0,
            notices,
        };
        match z.next_member() {
            Ok(true) => Ok(z),
            Ok(false) => {
                let skipped: Vec<String> = z.notices.iter().map(|n| n.message.clone()).collect();
                let detail = if skipped.is_empty() {
                    String::new()
                } else {
                    format!(": {}", skipped.join("; "))
                };
                // no STDF byte was read: the error is at byte 0 of the (empty) stream, where
                // its first header (a FAR) would be, as for a file too short to hold a FAR
                Err(StdfError::new(
                    ErrorKind::Format,
                    path,
                    format!("not an STDF file: the zip archive holds no STDF member{detail}"),
                )
                .at(0)
                .record("header"))
            }
            Err(e) => {
                let kind = if e.kind() == io::ErrorKind::Unsupported {
                    ErrorKind::Unsupported
                } else {
                    ErrorKind::Io
                };
                Err(StdfError::new(kind, path, e.to_string()).at(0))
            }
        }
    }

    /// The next file member's entry, None when there is no other.
    fn next_entry(&mut self) -> io::Result<Option<Entry>> {
        match &mut self.listing {
            Listing::Central { entries, next } => {
                let e = entries.get(*next).cloned();
                *next += 1;
                Ok(e)
            }
            Listing::Local { next_at } => match next_at.take() {
                None => Ok(None),
                Some(at) => {
                    let e = read_local_header(&mut self.file, at)?;
                    // the next header follows the data when its size is known; otherwise
                    // it is found when the data ends (`end_of_member`)
                    if let Some(e) = &e {
                        *next_at = e.csize.map(|c| e.data_start + c);
                    }
                    Ok(e)
                }
            },
        }
    }

    fn skip(&mut self, e: &Entry, why: &str) {
        self.notices.push(Notice {
            offset: self.out,
            code: "zip_member_skipped",
            message: format!("zip member '{}' {why}: skipped", e.name),
        });
    }

    /// Open a member's decoder (an error for a member that may be STDF but cannot be read).
    fn decoder(&mut self, e: &Entry) -> io::Result<Dec> {
        let unsupported = |why: String| {
            io::Error::new(
                io::ErrorKind::Unsupported,
                format!("zip member '{}' cannot be read: {why}", e.name),
            )
        };
        if e.encrypted {
            return Err(unsupported("it is encrypted".into()));
        }
        let mut f = self.file.try_clone()?;
        f.seek(SeekFrom::Start(e.data_start))?;
        let body = Raw::new(f.take(e.csize.unwrap_or(u64::MAX)), RAW_BUF);
        Ok(match e.method {
            0 if e.csize.is_some() => Dec::Stored(body),
            0 => {
                return Err(unsupported(
                    "a stored member whose size is only in the central directory, which is missing"
                        .into(),
                ))
            }
            8 => Dec::Deflate(flate2::bufread::DeflateDecoder::new(body)),
            12 => Dec::Bzip2(bzip2::bufread::BzDecoder::new(body)),
            93 => Dec::Zstd(zstd::stream::read::Decoder::with_buffer(body)?.single_frame()),
            0xffff => {
                return Err(unsupported(
                    "its compression method is not supported".into(),
                ))
            }
            m => {
                return Err(unsupported(format!(
                    "compression method {m} is not supported"
                )))
            }
        })
    }

    /// Try one member: Some when it starts with a FAR (ready to read), None when skipped.
    fn try_member(&mut self, e: Entry) -> io::Result<Option<Current>> {
        if e.dir || e.symlink {
            if e.csize.is_none() {
                self.after_descriptor(&e, 0)?;
            }
            if e.symlink {
                self.skip(&e, "is a symbolic link");
            }
            return Ok(None);
        }
        let mut cur = Current {
            dec: self.decoder(&e)?,
            entry: e,
            head: [0; 4],
            head_len: 0,
            head_pos: 0,
            crc: flate2::Crc::new(),
            got: 0,
        };
        let mut sink = [0u8; 1 << 14];
        while cur.head_len < 4 {
            match cur.dec.read(&mut cur.head[cur.head_len..]) {
                Ok(0) => break,
                Ok(n) => cur.head_len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(self.damage(&cur, err)),
            }
        }
        let head = &cur.head[..cur.head_len];
        if far_order(head).is_some() {
            return Ok(Some(cur));
        }
        let why = match Compression::sniff(head) {
            _ if head.is_empty() => "is empty".to_string(),
            Compression::None => "is not STDF (it does not start with a FAR)".to_string(),
            c => format!("is not STDF (its data looks {}-compressed: a compressed file inside a zip is not read)", c.name()),
        };
        self.skip(&cur.entry, &why);
        if cur.entry.csize.is_none() {
            // its size is only in the data descriptor that follows its data: decode to the end
            loop {
                match cur.dec.read(&mut sink) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(err) => return Err(self.damage(&cur, err)),
                }
            }
            self.after_descriptor(&cur.entry, cur.dec.consumed())?;
        }
        Ok(None)
    }

    /// Read the data descriptor after a member's `csize` compressed bytes (no central
    /// directory): (CRC-32, size); the next local header follows it.
    fn after_descriptor(&mut self, e: &Entry, csize: u64) -> io::Result<(u32, u64)> {
        let at = e.data_start + csize;
        let (crc, size, len) = read_descriptor(&mut self.file, at, csize)?;
        if let Listing::Local { next_at } = &mut self.listing {
            *next_at = Some(at + len);
        }
        Ok((crc, size))
    }

    /// A member decoded to its end: check its size and CRC-32 (from the data descriptor when
    /// the central directory is missing) and find the next local header.
    fn end_of_member(&mut self, cur: &mut Current) -> io::Result<()> {
        if cur.entry.csize.is_none() {
            let (crc, size) = self.after_descriptor(&cur.entry, cur.dec.consumed())?;
            (cur.entry.crc, cur.entry.size) = (Some(crc), Some(size));
        }
        let e = &cur.entry;
        let bad = |kind, why: String| {
            Err(io::Error::new(
                kind,
                format!("zip member '{}' {why}", e.name),
            ))
        };
        match (e.size, e.crc) {
            (Some(s), _) if s != cur.got => bad(
                if cur.got < s {
                    io::ErrorKind::UnexpectedEof
                } else {
                    io::ErrorKind::InvalidData
                },
                format!("holds {} bytes, its header says {s}", cur.got),
            ),
            (_, Some(c)) if c != cur.crc.sum() => bad(
                io::ErrorKind::InvalidData,
                format!(
                    "fails its CRC-32 check (stored {c:08x}, computed {:08x}): its data is damaged",
                    cur.crc.sum()
                ),
            ),
            _ => Ok(()),
        }
    }

    /// A decoder error, told as the member it hit and where.
    fn damage(&self, cur: &Current, e: io::Error) -> io::Error {
        let at = cur.entry.data_start + cur.dec.consumed();
        let what = format!(
            "zip member '{}' (compressed data from byte {})",
            cur.entry.name, cur.entry.data_start
        );
        let msg = if e.kind() == io::ErrorKind::UnexpectedEof {
            format!("{what} is cut short: its data ends at compressed byte {at}")
        } else {
            format!("{what} is damaged near compressed byte {at}: {e}")
        };
        io::Error::new(e.kind(), msg)
    }
}

/// The local header at `at`: None when there is no other member there (the central directory,
/// or the end of the file).
fn read_local_header(file: &mut File, at: u64) -> io::Result<Option<Entry>> {
    file.seek(SeekFrom::Start(at))?;
    let mut h = [0u8; 30];
    let mut n = 0;
    while n < 30 {
        match file.read(&mut h[n..])? {
            0 => break,
            k => n += k,
        }
    }
    if n < 30 || h[..4] != LOCAL_SIG {
        return Ok(None);
    }
    let (flags, method) = (le16(&h, 6), le16(&h, 8));
    let (mut csize, mut size) = (le32(&h, 18) as u64, le32(&h, 22) as u64);
    let (nlen, xlen) = (le16(&h, 26) as usize, le16(&h, 28) as usize);
    let mut var = vec![0u8; nlen + xlen];
    file.read_exact(&mut var)?;
    let name = String::from_utf8_lossy(&var[..nlen]).into_owned();
    // zip64: the sizes that do not fit in 32 bits are in extra field 1, in this order
    let mut x = &var[nlen..];
    while x.len() >= 4 {
        let (id, len) = (le16(x, 0), le16(x, 2) as usize);
        let body = x.get(4..4 + len).unwrap_or(&[]);
        if id == 1 {
            let mut p = 0;
            for v in [&mut size, &mut csize] {
                if *v == 0xffff_ffff && body.len() >= p + 8 {
                    *v = le64(body, p);
                    p += 8;
                }
            }
        }
        x = &x[(4 + len).min(x.len())..];
    }
    let descriptor = flags & 8 != 0;
    Ok(Some(Entry {
        dir: name.ends_with('/'),
        name,
        data_start: at + 30 + (nlen + xlen) as u64,
        csize: (!descriptor).then_some(csize),
        size: (!descriptor).then_some(size),
        crc: (!descriptor).then_some(le32(&h, 14)),
        method,
        encrypted: flags & 1 != 0,
        symlink: false,
    }))
}

/// The data descriptor at `at` after `csize` compressed bytes: (CRC-32, size, its length).
fn read_descriptor(file: &mut File, at: u64, csize: u64) -> io::Result<(u32, u64, u64)> {
    file.seek(SeekFrom::Start(at))?;
    let mut d = [0u8; 24];
    let mut n = 0;
    while n < d.len() {
        match file.read(&mut d[n..])? {
            0 => break,
            k => n += k,
        }
    }
    let cut = || {
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the zip archive ends inside a data descriptor",
        )
    };
    let s = if d[..4] == DESCRIPTOR_SIG { 4 } else { 0 };
    if n < s + 12 {
        return Err(cut());
    }
    let crc = le32(&d, s);
    // 32-bit sizes, or 64-bit ones (zip64): the compressed size tells which
    if le32(&d, s + 4) as u64 == csize {
        Ok((crc, le32(&d, s + 8) as u64, (s + 12) as u64))
    } else if n >= s + 20 && le64(&d, s + 4) == csize {
        Ok((crc, le64(&d, s + 12), (s + 20) as u64))
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the zip data descriptor does not match the member's data",
        ))
    }
}

impl Read for ZipMembers {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(cur) = self.cur.as_mut() else {
            return Ok(0);
        };
        if buf.is_empty() {
            return Ok(0);
        }
        let n = if cur.head_pos < cur.head_len {
            let n = (cur.head_len - cur.head_pos).min(buf.len());
            buf[..n].copy_from_slice(&cur.head[cur.head_pos..cur.head_pos + n]);
            cur.head_pos += n;
            n
        } else {
            match cur.dec.read(buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
                Err(e) => {
                    let cur = self.cur.take().expect("current member");
                    return Err(self.damage(&cur, e));
                }
            }
        };
        if n == 0 {
            let mut cur = self.cur.take().expect("current member");
            self.end_of_member(&mut cur)?;
            return Ok(0);
        }
        cur.crc.update(&buf[..n]);
        cur.got += n as u64;
        self.out += n as u64;
        Ok(n)
    }
}

impl Input for ZipMembers {
    fn has_next_member(&self) -> bool {
        match &self.listing {
            Listing::Central { entries, next } => *next < entries.len(),
            Listing::Local { .. } => true,
        }
    }

    fn next_member(&mut self) -> io::Result<bool> {
        self.cur = None;
        while let Some(e) = self.next_entry()? {
            if let Some(cur) = self.try_member(e)? {
                self.cur = Some(cur);
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.notices)
    }
}

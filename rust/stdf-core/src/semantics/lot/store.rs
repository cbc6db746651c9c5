//! Where a stream's parts wait for the end of the stream: in memory (the default), or, for a
//! writer that must stay in bounded memory whatever the file's size, in a temporary file of
//! length-prefixed records read back once, in the order they were written.

use std::fs::File;
use std::io::{BufReader, BufWriter, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Part;

/// The parts of a stream, in part order.
pub(super) enum PartStore {
    Memory(Vec<Part>),
    File(SpillWriter),
}

impl Default for PartStore {
    fn default() -> Self {
        PartStore::Memory(Vec::new())
    }
}

impl PartStore {
    pub fn push(&mut self, p: Part) -> std::io::Result<()> {
        match self {
            PartStore::Memory(v) => {
                v.push(p);
                Ok(())
            }
            PartStore::File(w) => w.push(&p),
        }
    }
}

/// A temporary file of parts being written (removed when dropped unless finished).
pub(super) struct SpillWriter {
    file: Option<BufWriter<File>>,
    path: PathBuf,
    rows: u64,
    buf: Vec<u8>,
}

impl SpillWriter {
    pub fn create(path: PathBuf) -> std::io::Result<Self> {
        let file = File::create(&path)?;
        Ok(SpillWriter {
            file: Some(BufWriter::with_capacity(1 << 16, file)),
            path,
            rows: 0,
            buf: Vec::new(),
        })
    }

    pub fn push(&mut self, p: &Part) -> std::io::Result<()> {
        self.buf.clear();
        encode(p, &mut self.buf);
        let f = self.file.as_mut().ok_or(ErrorKind::BrokenPipe)?;
        f.write_all(&(self.buf.len() as u32).to_le_bytes())?;
        f.write_all(&self.buf)?;
        self.rows += 1;
        Ok(())
    }

    /// The file, written: its parts are read back with [`SpilledParts::read`].
    pub fn finish(mut self) -> std::io::Result<SpilledParts> {
        if let Some(f) = self.file.take() {
            f.into_inner().map_err(|e| e.into_error())?;
        }
        Ok(SpilledParts {
            path: std::mem::take(&mut self.path),
            rows: self.rows,
        })
    }
}

impl Drop for SpillWriter {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A temporary file of parts, removed when dropped.
#[derive(Debug)]
pub struct SpilledParts {
    path: PathBuf,
    /// Parts in the file.
    pub rows: u64,
}

impl SpilledParts {
    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The parts, in the order they were written.
    pub fn read(&self) -> std::io::Result<PartReader> {
        Ok(PartReader {
            file: BufReader::with_capacity(1 << 16, File::open(&self.path)?),
            left: self.rows,
            buf: Vec::new(),
        })
    }
}

impl Drop for SpilledParts {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The parts of a [`SpilledParts`], one by one.
pub struct PartReader {
    file: BufReader<File>,
    left: u64,
    buf: Vec<u8>,
}

impl Iterator for PartReader {
    type Item = std::io::Result<Part>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let mut len = [0u8; 4];
        let r = self.file.read_exact(&mut len).and_then(|_| {
            self.buf.resize(u32::from_le_bytes(len) as usize, 0);
            self.file.read_exact(&mut self.buf)
        });
        if let Err(e) = r {
            self.left = 0;
            return Some(Err(e));
        }
        Some(decode(&self.buf).ok_or_else(|| {
            std::io::Error::new(ErrorKind::InvalidData, "a spilled part does not decode")
        }))
    }
}

const PASS_SOURCES: [&str; 3] = ["part_flg", "hbin_pf", "sbin_pf"];

/// Fixed-size values as little-endian bytes; an option as a tag byte then the value.
trait Val: Sized + Copy {
    const N: usize;
    fn put(self, b: &mut Vec<u8>);
    fn get(s: &[u8]) -> Self;
}

macro_rules! val {
    ($($t:ty),*) => {$(
        impl Val for $t {
            const N: usize = std::mem::size_of::<$t>();
            fn put(self, b: &mut Vec<u8>) {
                b.extend_from_slice(&self.to_le_bytes());
            }
            fn get(s: &[u8]) -> Self {
                let mut a = [0u8; std::mem::size_of::<$t>()];
                a.copy_from_slice(s);
                <$t>::from_le_bytes(a)
            }
        }
    )*};
}
val!(u8, u16, u32, u64, i16);

fn put_opt<T: Val>(b: &mut Vec<u8>, v: Option<T>) {
    match v {
        Some(v) => {
            b.push(1);
            v.put(b);
        }
        None => b.push(0),
    }
}

fn put_bytes(b: &mut Vec<u8>, v: Option<&[u8]>) {
    match v {
        Some(v) => {
            b.push(1);
            (v.len() as u32).put(b);
            b.extend_from_slice(v);
        }
        None => b.push(0),
    }
}

fn encode(p: &Part, b: &mut Vec<u8>) {
    p.stream_index.put(b);
    (p.ctx as u64).put(b);
    p.part_index.put(b);
    put_opt(b, p.wafer_index);
    p.head.put(b);
    p.site.put(b);
    put_bytes(b, p.part_id.as_deref().map(str::as_bytes));
    put_bytes(b, p.part_txt.as_deref().map(str::as_bytes));
    put_opt(b, p.x);
    put_opt(b, p.y);
    put_opt(b, p.hard_bin);
    put_opt(b, p.soft_bin);
    put_opt(b, p.part_flg);
    put_opt(b, p.num_test);
    put_opt(b, p.test_t);
    put_bytes(b, p.part_fix.as_deref());
    let flags = p.complete as u8 | (p.has_pir as u8) << 1 | (p.is_final as u8) << 2;
    flags.put(b);
    put_opt(b, p.pir_rec);
    put_opt(b, p.prr_rec);
    p.n_results.put(b);
    p.n_failed.put(b);
    put_opt(b, p.first_fail);
    for s in [
        &p.first_fail_name,
        &p.hbin_name,
        &p.sbin_name,
        &p.hbin_pf,
        &p.sbin_pf,
    ] {
        put_bytes(b, s.as_deref().map(str::as_bytes));
    }
    put_opt(b, p.passed.map(u8::from));
    let src = p
        .pass_source
        .and_then(|s| PASS_SOURCES.iter().position(|k| *k == s));
    put_opt(b, src.map(|i| i as u8));
    p.retest_index.put(b);
    put_opt(b, p.superseded_by);
}

/// A cursor over one record (None: the record is short or malformed).
struct Rd<'a>(&'a [u8]);

impl<'a> Rd<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(a)
    }
    fn val<T: Val>(&mut self) -> Option<T> {
        self.take(T::N).map(T::get)
    }
    fn opt<T: Val>(&mut self) -> Option<Option<T>> {
        match self.val::<u8>()? {
            0 => Some(None),
            _ => self.val::<T>().map(Some),
        }
    }
    fn bytes(&mut self) -> Option<Option<&'a [u8]>> {
        match self.val::<u8>()? {
            0 => Some(None),
            _ => {
                let n = self.val::<u32>()? as usize;
                self.take(n).map(Some)
            }
        }
    }
    fn string(&mut self) -> Option<Option<String>> {
        match self.bytes()? {
            None => Some(None),
            Some(b) => std::str::from_utf8(b).ok().map(|s| Some(s.to_string())),
        }
    }
    fn shared(&mut self) -> Option<Option<Arc<str>>> {
        match self.bytes()? {
            None => Some(None),
            Some(b) => std::str::from_utf8(b).ok().map(|s| Some(Arc::from(s))),
        }
    }
}

fn decode(buf: &[u8]) -> Option<Part> {
    let mut r = Rd(buf);
    let mut p = Part {
        stream_index: r.val()?,
        ctx: usize::try_from(r.val::<u64>()?).ok()?,
        part_index: r.val()?,
        wafer_index: r.opt()?,
        head: r.val()?,
        site: r.val()?,
        part_id: r.string()?,
        part_txt: r.string()?,
        x: r.opt()?,
        y: r.opt()?,
        hard_bin: r.opt()?,
        soft_bin: r.opt()?,
        part_flg: r.opt()?,
        num_test: r.opt()?,
        test_t: r.opt()?,
        part_fix: r.bytes()?.map(<[u8]>::to_vec),
        ..Default::default()
    };
    let flags: u8 = r.val()?;
    p.complete = flags & 1 != 0;
    p.has_pir = flags & 2 != 0;
    p.is_final = flags & 4 != 0;
    p.pir_rec = r.opt()?;
    p.prr_rec = r.opt()?;
    p.n_results = r.val()?;
    p.n_failed = r.val()?;
    p.first_fail = r.opt()?;
    p.first_fail_name = r.shared()?;
    p.hbin_name = r.shared()?;
    p.sbin_name = r.shared()?;
    p.hbin_pf = r.shared()?;
    p.sbin_pf = r.shared()?;
    p.passed = r.opt::<u8>()?.map(|v| v != 0);
    p.pass_source = match r.opt::<u8>()? {
        Some(i) => Some(*PASS_SOURCES.get(i as usize)?),
        None => None,
    };
    p.retest_index = r.val()?;
    p.superseded_by = r.opt()?;
    r.0.is_empty().then_some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every field of a part comes back as it was written.
    #[test]
    fn a_spilled_part_reads_back_equal() {
        let full = Part {
            stream_index: 3,
            ctx: 2,
            part_index: 77,
            wafer_index: Some(4),
            head: 1,
            site: 9,
            part_id: Some("P-1".into()),
            part_txt: Some("é".into()),
            x: Some(-3),
            y: Some(12),
            hard_bin: Some(1),
            soft_bin: Some(65534),
            part_flg: Some(8),
            num_test: Some(17),
            test_t: Some(123),
            part_fix: Some(vec![1, 2, 3]),
            complete: true,
            has_pir: true,
            pir_rec: Some(10),
            prr_rec: Some(u64::MAX),
            n_results: 17,
            n_failed: 2,
            first_fail: Some(1000),
            first_fail_name: Some("vdd".into()),
            hbin_name: Some("PASS".into()),
            sbin_name: Some("".into()),
            hbin_pf: Some("P".into()),
            sbin_pf: None,
            passed: Some(false),
            pass_source: Some("sbin_pf"),
            retest_index: 2,
            is_final: true,
            superseded_by: Some(99),
        };
        let dir = std::env::temp_dir().join(format!("stdf-core-spill-{}", std::process::id()));
        let mut w = SpillWriter::create(dir.clone()).unwrap();
        w.push(&full).unwrap();
        w.push(&Part::default()).unwrap();
        let s = w.finish().unwrap();
        let back: Vec<Part> = s.read().unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(back, vec![full, Part::default()]);
        drop(s);
        assert!(!dir.exists(), "removed when dropped");
    }
}

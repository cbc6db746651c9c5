//! Damaged and multi-member compressed inputs, built in the test from the real files of
//! `../shared/data/stdf` (skipped when that folder is absent) and the committed fixtures:
//! every record before the damage is read (and nothing else), the damage is reported at its
//! offset in the decompressed stream, zero padding is not damage, trailing garbage loses
//! nothing, and a zip is read member after member.
//!
//! The oracle for "every record before the damage" is the same file decoded undamaged (the
//! plain bytes, read with `RecordReader`), whose counts are checked against the independent
//! values of `expected/*.json`; the oracle for "where the damage is" is the number of bytes the
//! decompressor gives for the damaged bytes, taken with the codec crates directly.

use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

use stdf_core::scan::{Flow, OnError, RecCtx, ScanState, Scanner, Sink};
use stdf_core::semantics::Warning;
use stdf_core::{Compression, ErrorKind, RawRecord, RecordReader, StdfError};

/// (typ, sub, offset, payload) of one record.
type Rec = (u8, u8, u64, Vec<u8>);

fn data_dir() -> PathBuf {
    match std::env::var_os("STDF_DUCK_TEST_DATA") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/stdf"),
    }
}

/// A real file's bytes, None (and a note) when the shared data folder is absent.
fn real(rel: &str) -> Option<Vec<u8>> {
    let p = data_dir().join(rel);
    match std::fs::read(&p) {
        Ok(b) => Some(b),
        Err(_) => {
            eprintln!("skipped: real STDF file {} is absent", p.display());
            None
        }
    }
}

/// A top-level integer of `expected/<file>.json` (written one key a line, one space indent).
fn expected(file: &str, key: &str) -> u64 {
    let text = std::fs::read_to_string(data_dir().join("expected").join(format!("{file}.json")))
        .expect("expected values");
    let pat = format!("\n \"{key}\": ");
    let at = text.find(&pat).expect("key") + pat.len();
    let digits: String = text[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().expect("integer")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures")
            .join(name),
    )
    .expect("committed fixture")
}

/// Every record of an undamaged plain stream.
fn records_of(plain: &[u8]) -> Vec<Rec> {
    let mut rd = RecordReader::from_reader(
        "plain",
        Box::new(Cursor::new(plain.to_vec())),
        Compression::None,
        plain.len() as u64,
    )
    .unwrap();
    let mut out = Vec::new();
    while let Some(r) = rd.next_record().unwrap() {
        out.push((r.typ, r.sub, r.offset, r.payload.to_vec()));
    }
    out
}

fn prr_count(recs: &[Rec]) -> usize {
    recs.iter().filter(|r| (r.0, r.1) == (5, 20)).count()
}

/// The records of `all` that end at or before `len` bytes of the stream.
fn before(all: &[Rec], len: u64) -> Vec<Rec> {
    all.iter()
        .filter(|r| r.2 + 4 + r.3.len() as u64 <= len)
        .cloned()
        .collect()
}

#[derive(Default)]
struct Collect(Vec<Rec>);

impl Sink for Collect {
    fn record(&mut self, _: &mut ScanState, raw: &RawRecord, _: &RecCtx) -> Flow {
        self.0
            .push((raw.typ, raw.sub, raw.offset, raw.payload.to_vec()));
        Flow::Continue
    }
}

/// What a scan of a file gives: its records, warnings, streams and the error (raise mode).
struct Scan {
    recs: Vec<Rec>,
    warnings: Vec<Warning>,
    streams: u16,
    file_id: String,
    error: Option<StdfError>,
}

fn scan(path: &Path, on_error: OnError) -> Scan {
    let mut s = Scanner::open(path.to_str().unwrap(), on_error).expect("the file opens");
    let mut sink = Collect::default();
    let error = loop {
        match s.run(&mut sink) {
            Ok(true) => {}
            Ok(false) => break None,
            Err(e) => break Some(e),
        }
    };
    Scan {
        recs: sink.0,
        warnings: s.state.warnings.clone(),
        streams: s.state.stream_count,
        file_id: s.state.file_id.clone(),
        error,
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Bytes a decoder gives before it fails (or ends).
fn decodable(mut r: impl Read) -> u64 {
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => return n,
            Ok(k) => n += k as u64,
        }
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn bzip2(data: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(data, 3).unwrap()
}

fn file_id_of(file_size: u64, stream_prefix: &[u8]) -> String {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(&file_size.to_le_bytes());
    h.update(&stream_prefix[..stream_prefix.len().min(1 << 20)]);
    format!("{:032x}", h.digest128())
}

/// Offset of the record that the end of `good` bytes cuts (the stream end when none is cut).
fn cut_record(all: &[Rec], good: u64) -> u64 {
    all.iter()
        .find(|r| r.2 + 4 + r.3.len() as u64 > good)
        .map_or(good, |r| r.2)
}

/// A damaged file read in both modes: warn keeps exactly the records before `good` bytes and
/// reports the damage at the record it cuts; raise gives the same records, then the error
/// there. The message tells where the decompressed data stops.
fn check_damage(path: &Path, all: &[Rec], good: u64, kind: ErrorKind, what: &str) -> Scan {
    let want = before(all, good);
    let at = cut_record(all, good);
    let w = scan(path, OnError::Warn);
    assert!(w.error.is_none(), "{what}: warn never fails");
    assert_eq!(w.recs.len(), want.len(), "{what}: records kept");
    assert!(
        w.recs == want,
        "{what}: the records before the damage, as undamaged"
    );
    let d = w
        .warnings
        .iter()
        .find(|x| x.byte_offset == Some(at) && x.code == kind.name())
        .unwrap_or_else(|| {
            panic!(
                "{what}: a {} warning at {at}: {:?}",
                kind.name(),
                w.warnings
            )
        });
    assert!(
        d.message.contains(path.to_str().unwrap()),
        "{what}: {}",
        d.message
    );
    let past = format!("cannot read (decompress) the stream past byte offset {good}: ");
    assert!(d.message.contains(&past), "{what}: {}", d.message);
    let r = scan(path, OnError::Raise);
    let e = r
        .error
        .as_ref()
        .unwrap_or_else(|| panic!("{what}: raise fails"));
    assert_eq!((e.kind, e.offset), (kind, Some(at)), "{what}: {e}");
    assert_eq!(e.path, path.to_str().unwrap());
    // the record it cuts, by name ("header" when the data stops between two records)
    let name = all.iter().find(|r| r.2 == at).map_or("header", |r| {
        if at + 4 <= good {
            stdf_core::records::rec_name(r.0, r.1).unwrap_or("UNKNOWN")
        } else {
            "header"
        }
    });
    assert_eq!(e.record.as_deref(), Some(name), "{what}: {e}");
    assert!(
        r.recs == want,
        "{what}: raise mode reads the same records first"
    );
    w
}

#[test]
fn gzip_cut_short_keeps_every_record_before_the_cut() {
    let Some(gz) = real("rust-stdf/lot2.stdf.gz") else {
        return;
    };
    let plain = decompress_all(flate2::read::MultiGzDecoder::new(&gz[..]));
    let all = records_of(&plain);
    assert_eq!(all.len() as u64, expected("lot2.stdf.gz", "records_total"));
    assert_eq!(prr_count(&all) as u64, expected("lot2.stdf.gz", "parts"));
    let dir = tempfile::tempdir().unwrap();
    // a copy cut short: inside the first MiB of decompressed data (the file id's prefix), in the
    // middle, in the last deflate block, and in the 8-byte footer (every byte is there)
    for cut in [
        gz.len() / 20,
        gz.len() / 10,
        gz.len() / 2,
        gz.len() - 100,
        gz.len() - 3,
    ] {
        let data = &gz[..cut];
        let good = decodable(flate2::read::GzDecoder::new(data));
        assert!(good > 0 && good <= plain.len() as u64);
        let p = write(dir.path(), &format!("cut{cut}.stdf.gz"), data);
        let what = format!("lot2 cut at {cut}");
        let w = check_damage(&p, &all, good, ErrorKind::Truncated, &what);
        assert!(
            w.warnings
                .iter()
                .any(|x| x.message.contains("gzip member 1") && x.message.contains("cut short")),
            "{what}: {:?}",
            w.warnings
        );
        let n = prr_count(&w.recs);
        assert_eq!(n, prr_count(&before(&all, good)));
        if cut == gz.len() / 10 {
            assert!(
                good < 1 << 20,
                "the damage is inside the first MiB ({good})"
            );
            assert!(n > 10, "{what}: parts before the damage are kept ({n})");
            // the id hashes what could be read
            assert_eq!(w.file_id, file_id_of(cut as u64, &plain[..good as usize]));
        }
    }
}

fn decompress_all(mut r: impl Read) -> Vec<u8> {
    let mut v = Vec::new();
    r.read_to_end(&mut v).unwrap();
    v
}

#[test]
fn gzip_zero_padding_is_not_damage_and_trailing_garbage_loses_nothing() {
    let Some(gz) = real("rust-stdf/lot2.stdf.gz") else {
        return;
    };
    let plain = decompress_all(flate2::read::MultiGzDecoder::new(&gz[..]));
    let all = records_of(&plain);
    let dir = tempfile::tempdir().unwrap();
    let padded = write(dir.path(), "padded.gz", &[&gz[..], &[0u8; 4096]].concat());
    for mode in [OnError::Raise, OnError::Warn] {
        let s = scan(&padded, mode);
        assert!(
            s.error.is_none() && s.recs == all,
            "zero padding: every record, no error"
        );
        assert!(s
            .warnings
            .iter()
            .all(|w| w.code != "trailing_garbage" && w.code != "truncated"));
    }
    for (name, tail) in [
        ("text", b"garbage appended by a broken copy\n".to_vec()),
        ("zeros-then-text", [&[0u8; 512][..], b"x"].concat()),
        ("half-magic", vec![0x1f]),
    ] {
        let p = write(
            dir.path(),
            &format!("{name}.gz"),
            &[&gz[..], &tail].concat(),
        );
        for mode in [OnError::Raise, OnError::Warn] {
            let s = scan(&p, mode);
            assert!(s.error.is_none(), "{name}: trailing garbage is no error");
            assert!(s.recs == all, "{name}: every record");
            let g: Vec<_> = s
                .warnings
                .iter()
                .filter(|w| w.code == "trailing_garbage")
                .collect();
            assert_eq!(g.len(), 1, "{name}: {:?}", s.warnings);
            assert_eq!(g[0].byte_offset, Some(plain.len() as u64));
            assert!(g[0].message.starts_with(&format!(
                "{} byte(s) after the last gzip member",
                tail.len()
            )));
        }
    }
}

#[test]
fn gzip_members_cut_or_damaged_in_a_later_member() {
    let Some(gz) = real("rust-stdf/lot2.stdf.gz") else {
        return;
    };
    let plain = decompress_all(flate2::read::MultiGzDecoder::new(&gz[..]));
    let all = records_of(&plain);
    let dir = tempfile::tempdir().unwrap();
    // three members split inside records (as bgzip or `cat a.gz b.gz` write them)
    let (a, b) = (1_000_003, 2_500_001);
    let m = [gzip(&plain[..a]), gzip(&plain[a..b]), gzip(&plain[b..])];
    let whole = m.concat();
    let p = write(dir.path(), "members.gz", &whole);
    let s = scan(&p, OnError::Raise);
    assert!(s.error.is_none() && s.recs == all);
    // the second member cut short: the first member and what the second gives are kept
    let cut = m[0].len() + m[1].len() / 2;
    let p = write(dir.path(), "members_cut.gz", &whole[..cut]);
    let good = a as u64 + decodable(flate2::read::GzDecoder::new(&m[1][..m[1].len() / 2]));
    let w = check_damage(&p, &all, good, ErrorKind::Truncated, "second member cut");
    assert!(w.warnings.iter().any(|x| x.message.contains(&format!(
        "gzip member 2 (from compressed byte {})",
        m[0].len()
    ))));
    // the second member's header damaged (compression method 7, not deflate): the first
    // member is kept, the damage is reported where the second starts
    let mut bad = whole.clone();
    bad[m[0].len() + 2] = 7;
    let p = write(dir.path(), "members_bad.gz", &bad);
    let w = check_damage(&p, &all, a as u64, ErrorKind::Io, "second member damaged");
    assert!(w
        .warnings
        .iter()
        .any(|x| x.message.contains("gzip member 2") && x.message.contains("damaged")));
}

#[test]
fn bzip2_cut_short_at_its_end_or_in_the_middle() {
    let Some(bz) = real("rust-stdf/lot3.stdf.bz2") else {
        return;
    };
    let plain = decompress_all(bzip2::read::MultiBzDecoder::new(&bz[..]));
    let all = records_of(&plain);
    assert_eq!(all.len() as u64, expected("lot3.stdf.bz2", "records_total"));
    assert_eq!(prr_count(&all) as u64, expected("lot3.stdf.bz2", "parts"));
    let dir = tempfile::tempdir().unwrap();
    for cut in [
        bz.len() - 1,
        bz.len() - 6,
        bz.len() - 40,
        bz.len() / 2,
        2000,
    ] {
        let data = &bz[..cut];
        let good = decodable(bzip2::read::BzDecoder::new(data));
        let p = write(dir.path(), &format!("cut{cut}.bz2"), data);
        let what = format!("lot3.bz2 cut at {cut} ({good} bytes decodable)");
        let w = check_damage(&p, &all, good, ErrorKind::Truncated, &what);
        assert!(w
            .warnings
            .iter()
            .any(|x| x.message.contains("bzip2 stream 1")));
        if cut == bz.len() - 1 {
            // only the end-of-stream marker is cut: every block, hence every record, is there
            assert_eq!(good, plain.len() as u64, "{what}");
            assert_eq!(w.recs.len(), all.len());
        }
    }
    // several streams (pbzip2), zero padding, trailing garbage
    let cut = 1_234_567;
    let multi = [bzip2(&plain[..cut]), bzip2(&plain[cut..])].concat();
    let p = write(dir.path(), "multi.bz2", &[&multi[..], &[0u8; 100]].concat());
    let s = scan(&p, OnError::Raise);
    assert!(
        s.error.is_none()
            && s.recs == all
            && s.warnings.iter().all(|w| w.code != "trailing_garbage")
    );
    let p = write(dir.path(), "garbage.bz2", &[&multi[..], b"BZ"].concat());
    let s = scan(&p, OnError::Raise);
    assert!(s.error.is_none() && s.recs == all);
    assert!(s.warnings.iter().any(|w| w.code == "trailing_garbage"
        && w.byte_offset == Some(plain.len() as u64)
        && w.message
            .starts_with("2 byte(s) after the last bzip2 stream")));
}

#[test]
fn zstd_frames_cut_short_and_trailing_bytes() {
    let Some(plain) = real("perl6-Parse-STDF/gdr.stdf") else {
        return;
    };
    let all = records_of(&plain);
    assert_eq!(all.len() as u64, expected("gdr.stdf", "records_total"));
    let dir = tempfile::tempdir().unwrap();
    let cut = 700_001;
    // two frames with a skippable frame between them
    let skippable = [&[0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0][..], b"abc"].concat();
    let (f1, f2) = (zstd(&plain[..cut]), zstd(&plain[cut..]));
    let whole = [&f1[..], &skippable, &f2].concat();
    let p = write(dir.path(), "frames.zst", &whole);
    let s = scan(&p, OnError::Raise);
    assert!(
        s.error.is_none()
            && s.recs == all
            && s.warnings.iter().all(|w| w.code != "trailing_garbage")
    );
    // zero padding, then garbage
    let p = write(dir.path(), "padded.zst", &[&whole[..], &[0u8; 64]].concat());
    let s = scan(&p, OnError::Raise);
    assert!(
        s.error.is_none()
            && s.recs == all
            && s.warnings.iter().all(|w| w.code != "trailing_garbage")
    );
    let p = write(
        dir.path(),
        "garbage.zst",
        &[&whole[..], b"\x01\x02\x03\x04\x05"].concat(),
    );
    let s = scan(&p, OnError::Raise);
    assert!(s.error.is_none() && s.recs == all);
    assert!(s
        .warnings
        .iter()
        .any(|w| w.code == "trailing_garbage" && w.byte_offset == Some(plain.len() as u64)));
    // cut in the first frame (inside the file id's first MiB) and in the second
    for c in [
        f1.len() / 3,
        f1.len() + skippable.len() + f2.len() / 2,
        whole.len() - 1,
    ] {
        let data = &whole[..c];
        let good = decodable(zstd::stream::read::Decoder::new(data).unwrap());
        let p = write(dir.path(), &format!("cut{c}.zst"), data);
        let w = check_damage(
            &p,
            &all,
            good,
            ErrorKind::Truncated,
            &format!("zstd cut at {c}"),
        );
        assert!(w.warnings.iter().any(|x| x.message.contains("zstd frame")));
    }
}

/// A zip archive of (name, bytes, method) members; a name ending in '/' is a directory.
fn zip_of(members: &[(&str, &[u8], zip::CompressionMethod)]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes, method) in members {
        let opts = zip::write::SimpleFileOptions::default().compression_method(*method);
        if name.ends_with('/') {
            z.add_directory(*name, opts).unwrap();
        } else {
            z.start_file(*name, opts).unwrap();
            z.write_all(bytes).unwrap();
        }
    }
    z.finish().unwrap().into_inner()
}

/// The records of streams read one after the other: offsets continue.
fn concat_records(streams: &[&[u8]]) -> Vec<Rec> {
    records_of(&streams.concat())
}

#[test]
fn zip_with_several_stdf_files_reads_every_member() {
    let (Some(metis), Some(d10)) = (real("Metis/test.std"), real("stdf2xls4/d10_1.std")) else {
        return;
    };
    let fx = fixture("multisite_be.stdf");
    use zip::CompressionMethod as M;
    let data = zip_of(&[
        ("lot/", b"", M::Stored),
        ("lot/a.stdf", &metis, M::Deflated),
        ("lot/notes.txt", b"operator notes, not STDF", M::Deflated),
        ("lot/b.std", &d10, M::Stored),
        ("lot/empty.stdf", b"", M::Stored),
        ("lot/c.stdf", &fx, M::Bzip2),
        ("lot/d.stdf.gz", &gzip(&fx), M::Stored),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "lots.zip", &data);
    let want = concat_records(&[&metis, &d10, &fx]);
    assert_eq!(
        prr_count(&records_of(&metis)) as u64,
        expected("test.std", "parts")
    );
    assert_eq!(
        prr_count(&records_of(&d10)) as u64,
        expected("d10_1.std", "parts")
    );
    for mode in [OnError::Raise, OnError::Warn] {
        let s = scan(&p, mode);
        assert!(s.error.is_none(), "{:?}", s.error);
        assert_eq!(s.streams, 3, "one stream per STDF member");
        assert!(s.recs == want, "every member's records, in order");
        let skipped: Vec<&str> = s
            .warnings
            .iter()
            .filter(|w| w.code == "zip_member_skipped")
            .map(|w| w.message.as_str())
            .collect();
        assert_eq!(
            skipped,
            [
                "zip member 'lot/notes.txt' is not STDF (it does not start with a FAR): skipped",
                "zip member 'lot/empty.stdf' is empty: skipped",
                "zip member 'lot/d.stdf.gz' is not STDF (its data looks gzip-compressed: a compressed file inside a zip is not read): skipped",
            ]
        );
        let at = |name: &str| {
            s.warnings
                .iter()
                .find(|w| w.message.contains(name))
                .unwrap()
                .byte_offset
        };
        assert_eq!(at("notes.txt"), Some(metis.len() as u64));
        assert_eq!(
            at("d.stdf.gz"),
            Some((metis.len() + d10.len() + fx.len()) as u64)
        );
    }
    // the id is as it always was: the on-disk size and the first MiB of the first member
    let rd = RecordReader::open(p.to_str().unwrap()).unwrap();
    assert_eq!(rd.file_id(), file_id_of(data.len() as u64, &metis));
}

#[test]
fn zip_holding_no_stdf_is_a_format_error() {
    use zip::CompressionMethod as M;
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "docs.zip",
        &zip_of(&[("a.txt", b"hello", M::Deflated), ("d/", b"", M::Stored)]),
    );
    let e = RecordReader::open(p.to_str().unwrap())
        .err()
        .expect("not STDF");
    assert_eq!(e.kind, ErrorKind::Format);
    assert!(
        e.message.contains("holds no STDF member") && e.message.contains("'a.txt' is not STDF"),
        "{e}"
    );
}

#[test]
fn zip_member_cut_short_never_runs_into_the_next_member() {
    let Some(metis) = real("Metis/test.std") else {
        return;
    };
    let fx = fixture("mpr_ftr.stdf");
    use zip::CompressionMethod as M;
    let recs = records_of(&metis);
    // the member ends 7 bytes into a record (a file zipped while still being written)
    let r = &recs[recs.len() / 2];
    let cut = r.2 as usize + 7;
    let data = zip_of(&[
        ("a.stdf", &metis[..cut], M::Deflated),
        ("b.stdf", &fx, M::Deflated),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "cut_member.zip", &data);
    let want = before(&recs, cut as u64);
    let second = concat_records(&[&metis[..r.2 as usize], &fx]).split_off(want.len());
    let s = scan(&p, OnError::Warn);
    assert!(s.recs.len() >= want.len() && s.recs[..want.len()] == want[..]);
    // nothing read from the cut record; whatever follows is the second member, from its FAR
    let rest: Vec<(u8, u8, Vec<u8>)> = s.recs[want.len()..]
        .iter()
        .map(|r| (r.0, r.1, r.3.clone()))
        .collect();
    let second: Vec<(u8, u8, Vec<u8>)> = second.iter().map(|r| (r.0, r.1, r.3.clone())).collect();
    assert!(
        rest.is_empty() || rest == second,
        "{} records after the cut",
        rest.len()
    );
    let t = s
        .warnings
        .iter()
        .find(|w| w.code == "truncated")
        .expect("the cut is reported");
    assert_eq!(t.byte_offset, Some(r.2));
    let e = scan(&p, OnError::Raise).error.expect("raise fails");
    assert_eq!((e.kind, e.offset), (ErrorKind::Truncated, Some(r.2)));
}

#[test]
fn zip_cut_short_or_damaged_keeps_what_precedes() {
    let Some(zp) = real("rust-stdf/lot3.zip") else {
        return;
    };
    let mut archive = zip::ZipArchive::new(Cursor::new(zp.clone())).unwrap();
    let plain = decompress_all(archive.by_index(0).unwrap());
    let (start, csize) = {
        let m = archive.by_index_raw(0).unwrap();
        (m.data_start() as usize, m.compressed_size() as usize)
    };
    let all = records_of(&plain);
    assert_eq!(all.len() as u64, expected("lot3.zip", "records_total"));
    let dir = tempfile::tempdir().unwrap();
    // a copy cut short: no central directory; read from the local header to the cut
    for cut in [start + 5000, zp.len() / 2, start + csize - 10] {
        let good = decodable(flate2::read::DeflateDecoder::new(&zp[start..cut]));
        let p = write(dir.path(), &format!("cut{cut}.zip"), &zp[..cut]);
        let w = check_damage(
            &p,
            &all,
            good,
            ErrorKind::Truncated,
            &format!("zip cut at {cut}"),
        );
        assert!(w.warnings.iter().any(|x| x.code == "zip_without_directory"));
        assert!(w
            .warnings
            .iter()
            .any(|x| x.message.contains("zip member '") && x.message.contains("cut short")));
    }
    // stored member with one byte changed: every record is read, then its CRC-32 fails
    let stored = zip_of(&[("lot3.stdf", &plain, zip::CompressionMethod::Stored)]);
    let mut bad = stored.clone();
    let m0 = zip::ZipArchive::new(Cursor::new(stored.clone()))
        .unwrap()
        .by_index_raw(0)
        .unwrap()
        .data_start() as usize;
    let r = &all[all.len() / 2];
    bad[m0 + r.2 as usize + 4] ^= 0xff; // a payload byte, not a header
    let p = write(dir.path(), "crc.zip", &bad);
    let w = scan(&p, OnError::Warn);
    assert_eq!(w.recs.len(), all.len());
    let c = w
        .warnings
        .iter()
        .find(|x| x.message.contains("fails its CRC-32 check"))
        .expect("crc");
    assert_eq!((c.code, c.byte_offset), ("io", Some(plain.len() as u64)));
    assert!(scan(&p, OnError::Raise)
        .error
        .is_some_and(|e| e.message.contains("CRC-32")));
}

#[test]
fn file_id_of_undamaged_files_is_unchanged() {
    // the id is xxh3-128 of (on-disk size, first MiB of the decompressed stream), as always
    let dir = tempfile::tempdir().unwrap();
    let mut cases: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    for (rel, dec) in [
        ("rust-stdf/lot2.stdf.gz", 0),
        ("rust-stdf/lot3.stdf.bz2", 1),
        ("rust-stdf/lot3.zip", 2),
    ] {
        let Some(b) = real(rel) else { return };
        let plain = match dec {
            0 => decompress_all(flate2::read::MultiGzDecoder::new(&b[..])),
            1 => decompress_all(bzip2::read::MultiBzDecoder::new(&b[..])),
            _ => decompress_all(
                zip::ZipArchive::new(Cursor::new(b.clone()))
                    .unwrap()
                    .by_index(0)
                    .unwrap(),
            ),
        };
        cases.push((data_dir().join(rel), plain));
    }
    let gdr = real("perl6-Parse-STDF/gdr.stdf").unwrap();
    cases.push((write(dir.path(), "gdr.zst", &zstd(&gdr)), gdr.clone()));
    cases.push((data_dir().join("perl6-Parse-STDF/gdr.stdf"), gdr));
    for (p, plain) in cases {
        let size = std::fs::metadata(&p).unwrap().len();
        let rd = RecordReader::open(p.to_str().unwrap()).unwrap();
        assert_eq!(rd.file_id(), file_id_of(size, &plain), "{}", p.display());
    }
}

#[test]
fn zip_without_central_directory_is_read_from_local_headers() {
    let (Some(metis), Some(d10)) = (real("Metis/test.std"), real("stdf2xls4/d10_1.std")) else {
        return;
    };
    // written as a stream (sizes and CRC-32 in a data descriptor after each member's data)
    let mut z = zip::ZipWriter::new_stream(Vec::new());
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in [
        ("a.std", &metis[..]),
        ("notes.txt", b"not STDF"),
        ("b.std", &d10),
    ] {
        z.start_file(name, opts).unwrap();
        z.write_all(bytes).unwrap();
    }
    let data = z.finish().unwrap().into_inner();
    let locals: Vec<usize> = (0..data.len() - 4)
        .filter(|&i| data[i..i + 4] == [b'P', b'K', 3, 4])
        .collect();
    assert_eq!(locals.len(), 3);
    let flags = u16::from_le_bytes([data[locals[2] + 6], data[locals[2] + 7]]);
    assert_eq!(flags & 8, 8, "a data descriptor follows the data");
    let all = concat_records(&[&metis, &d10]);
    let dir = tempfile::tempdir().unwrap();
    // the end of central directory record lost: every member is still read, nothing is damaged
    let p = write(dir.path(), "no_eocd.zip", &data[..data.len() - 22]);
    let s = scan(&p, OnError::Raise);
    assert!(s.error.is_none(), "{:?}", s.error);
    assert!(s.recs == all && s.streams == 2);
    let codes: Vec<&str> = s.warnings.iter().map(|w| w.code).collect();
    assert!(codes.contains(&"zip_without_directory") && codes.contains(&"zip_member_skipped"));
    // cut inside the third member: the first whole, the third up to the cut
    let h = locals[2];
    let start = h
        + 30
        + u16::from_le_bytes([data[h + 26], data[h + 27]]) as usize
        + u16::from_le_bytes([data[h + 28], data[h + 29]]) as usize;
    let desc = (start..data.len() - 4)
        .find(|&i| data[i..i + 4] == [b'P', b'K', 7, 8])
        .expect("the descriptor after b.std");
    let cut = start + (desc - start) / 2;
    let good = metis.len() as u64 + decodable(flate2::read::DeflateDecoder::new(&data[start..cut]));
    assert!(good > metis.len() as u64 + 1000 && good < all.last().unwrap().2);
    let p = write(dir.path(), "cut.zip", &data[..cut]);
    let w = check_damage(
        &p,
        &all,
        good,
        ErrorKind::Truncated,
        "stream zip cut in b.std",
    );
    assert!(w
        .warnings
        .iter()
        .any(|x| x.message.contains("zip member 'b.std'") && x.message.contains("cut short")));
}

//! A damaged REC_LEN is found where it is: the reader checks the header chain ahead of the walk,
//! fails at the damaged record (default) or skips to where records chain again (warn mode), and
//! the scanner closes the parts open across the damage incomplete. Streams are written by the
//! project's writer; offsets and lengths below are derived from the records written.

use std::io::Cursor;

use stdf_core::reader::{Cause, Skip};
use stdf_core::records::{Dtr, Mir, Mrr, Pir, Prr, Ptr};
use stdf_core::scan::{Flow, OnError, RecCtx, ScanState, Scanner, Sink};
use stdf_core::semantics::OpenPart;
use stdf_core::writer::Writer;
use stdf_core::{ByteOrder, Compression, ErrorKind, RawRecord, Record, RecordReader, StdfError};

fn reader(bytes: &[u8]) -> RecordReader {
    RecordReader::from_reader(
        "mem.stdf",
        Box::new(Cursor::new(bytes.to_vec())),
        Compression::None,
        bytes.len() as u64,
    )
    .expect("reader")
}

fn ptr(test_num: u32, site: u8, result: f32, txt: &'static str) -> Record<'static> {
    Record::Ptr(Ptr {
        test_num: Some(test_num),
        head_num: Some(1),
        site_num: Some(site),
        test_flg: Some(0),
        parm_flg: Some(0),
        result: Some(result),
        test_txt: Some(txt.into()),
        ..Default::default()
    })
}

fn pir(site: u8) -> Record<'static> {
    Record::Pir(Pir {
        head_num: Some(1),
        site_num: Some(site),
        ..Default::default()
    })
}

fn prr(site: u8, bin: u16, id: u32) -> Record<'static> {
    Record::Prr(Prr {
        head_num: Some(1),
        site_num: Some(site),
        part_flg: Some(0),
        num_test: Some(3),
        hard_bin: Some(bin),
        soft_bin: Some(bin),
        part_id: Some(stdf_core::Str(
            Box::leak(id.to_string().into_boxed_str()).as_bytes(),
        )),
        ..Default::default()
    })
}

/// FAR, MIR, `parts` parts on site 1 (PIR, 3 PTRs with texts of varied length, PRR), MRR.
fn lot(parts: u32, order: ByteOrder) -> Vec<u8> {
    let mut w = Writer::new(Vec::new(), order);
    w.far().unwrap();
    w.write(&Record::Mir(Mir {
        lot_id: Some("LOT".into()),
        ..Default::default()
    }))
    .unwrap();
    const TXT: [&str; 3] = ["vdd", "idd_quiescent", "f"];
    for p in 0..parts {
        w.write(&pir(1)).unwrap();
        for t in 0..3 {
            w.write(&ptr(100 + t, 1, p as f32 + t as f32 / 4.0, TXT[t as usize]))
                .unwrap();
        }
        w.write(&prr(1, 1 + (p % 3) as u16, p)).unwrap();
    }
    w.write(&Record::Mrr(Mrr {
        finish_t: Some(9),
        ..Default::default()
    }))
    .unwrap();
    w.into_inner()
}

/// (offset, typ, sub, rec_len) of every record of a clean stream.
fn headers(bytes: &[u8], order: ByteOrder) -> Vec<(u64, u8, u8, u16)> {
    let mut out = Vec::new();
    let mut o = 0usize;
    while o + 4 <= bytes.len() {
        let b = [bytes[o], bytes[o + 1]];
        let n = match order {
            ByteOrder::Little => u16::from_le_bytes(b),
            ByteOrder::Big => u16::from_be_bytes(b),
        };
        out.push((o as u64, bytes[o + 2], bytes[o + 3], n));
        o += 4 + n as usize;
    }
    assert_eq!(o, bytes.len());
    out
}

fn set_len(bytes: &mut [u8], at: u64, len: u16, order: ByteOrder) {
    let b = match order {
        ByteOrder::Little => len.to_le_bytes(),
        ByteOrder::Big => len.to_be_bytes(),
    };
    bytes[at as usize..at as usize + 2].copy_from_slice(&b);
}

/// Every record until the first error: (offset, typ, sub) and the skips reported.
/// Records delivered (offset, typ, sub), stretches skipped, and the error that ended the walk.
type Walk = (Vec<(u64, u8, u8)>, Vec<Skip>, Option<StdfError>);

fn walk(bytes: &[u8], resync: bool) -> Walk {
    let mut rd = reader(bytes);
    rd.set_resync(resync);
    let (mut recs, mut skips) = (Vec::new(), Vec::new());
    loop {
        match rd.next_record() {
            Ok(Some(r)) => {
                if let Some(s) = r.skip {
                    skips.push(*s);
                }
                recs.push((r.offset, r.typ, r.sub));
            }
            Ok(None) => {
                skips.extend(rd.last_skip());
                return (recs, skips, None);
            }
            Err(e) => return (recs, skips, Some(e)),
        }
    }
}

#[test]
fn a_wrong_rec_len_fails_at_the_damaged_record() {
    for order in [ByteOrder::Little, ByteOrder::Big] {
        let clean = lot(40, order);
        let hs = headers(&clean, order);
        let ptrs: Vec<_> = hs.iter().filter(|h| (h.1, h.2) == (15, 10)).collect();
        for (k, &&(at, _, _, len)) in ptrs.iter().enumerate().step_by(7) {
            for new in [len - 1, len + 1, len - 5, len + 9, len + 300, 0x8000 | len] {
                let mut bad = clean.clone();
                set_len(&mut bad, at, new, order);
                let (recs, _, err) = walk(&bad, false);
                let e = err.unwrap_or_else(|| panic!("PTR {k} REC_LEN {len} -> {new}: no error"));
                assert_eq!(e.kind, ErrorKind::Format, "{e}");
                assert_eq!(e.offset, Some(at), "PTR {k} REC_LEN {len} -> {new}: {e}");
                assert_eq!(e.record.as_deref(), Some("PTR"));
                assert!(e.message.contains(&format!("REC_LEN {new}")), "{e}");
                // every record before the damaged one was delivered, none after
                let before: Vec<_> = hs
                    .iter()
                    .filter(|h| h.0 < at)
                    .map(|h| (h.0, h.1, h.2))
                    .collect();
                assert_eq!(recs, before);
            }
        }
    }
}

#[test]
fn warn_mode_skips_the_damaged_record_and_resyncs_on_the_next() {
    let order = ByteOrder::Little;
    let clean = lot(40, order);
    let hs = headers(&clean, order);
    let all: Vec<(u64, u8, u8)> = hs.iter().map(|h| (h.0, h.1, h.2)).collect();
    for i in [5usize, 17, 60, 101, hs.len() - 3] {
        let (at, _, _, len) = hs[i];
        let next = hs[i + 1].0;
        let news = [
            len.checked_sub(1),
            Some(len + 1),
            len.checked_sub(3),
            Some(len + 7),
            Some(0x4000 | len),
        ];
        for new in news.into_iter().flatten() {
            let mut bad = clean.clone();
            set_len(&mut bad, at, new, order);
            let (recs, skips, err) = walk(&bad, true);
            assert!(err.is_none(), "record {i} REC_LEN {len} -> {new}: {err:?}");
            let want: Vec<_> = all.iter().copied().filter(|r| r.0 != at).collect();
            assert_eq!(recs, want, "record {i} REC_LEN {len} -> {new}");
            assert_eq!(skips.len(), 1);
            let s = skips[0];
            assert_eq!((s.from, s.to, s.rec_len), (at, next, new));
            let msg = s.message(false);
            assert!(
                msg.contains(&format!("bytes {at}..{next} skipped")),
                "{msg}"
            );
        }
    }
}

#[test]
fn a_rec_len_that_swallows_whole_records_is_damage() {
    let order = ByteOrder::Big;
    let clean = lot(10, order);
    let hs = headers(&clean, order);
    let i = hs.iter().position(|h| (h.1, h.2) == (15, 10)).unwrap() + 4;
    let (at, _, _, len) = hs[i];
    // the PTR's REC_LEN grows by exactly the next one, then the next two records
    for swallowed in [1usize, 2] {
        let extra: u16 = hs[i + 1..=i + swallowed].iter().map(|h| 4 + h.3).sum();
        let mut bad = clean.clone();
        set_len(&mut bad, at, len + extra, order);
        let (_, _, err) = walk(&bad, false);
        let e = err.expect("swallowed records must be an error");
        assert_eq!((e.kind, e.offset), (ErrorKind::Format, Some(at)), "{e}");
        assert!(e.message.contains("valid records start inside it"), "{e}");
        let (recs, skips, err) = walk(&bad, true);
        assert!(err.is_none());
        assert_eq!(recs.len(), hs.len() - 1, "only the damaged record is lost");
        assert_eq!(skips[0].to, hs[i + 1].0);
        assert_eq!(skips[0].cause, Cause::Swallowed { at: hs[i + 1].0 });
    }
}

#[test]
fn vendor_records_and_long_records_in_a_valid_chain_are_kept() {
    // a type the spec does not define, alone and three in a row, and a PIR with 3 bytes after
    // its fields (pitfall P2): the chain after each validates, nothing is an error
    let order = ByteOrder::Little;
    let mut w = Writer::new(Vec::new(), order);
    w.far().unwrap();
    w.write_raw(180, 1, &[1, 2, 3]).unwrap();
    w.write(&pir(1)).unwrap();
    for t in 0..3 {
        w.write(&ptr(t, 1, 0.5, "t")).unwrap();
        w.write_raw(200 + t as u8, 5, &[9; 40]).unwrap();
    }
    for t in 0..3u8 {
        w.write_raw(220, t, &[]).unwrap();
    }
    w.write_raw(5, 10, &[1, 3, 0xDE, 0xAD, 0xBE]).unwrap();
    w.write(&prr(1, 1, 1)).unwrap();
    w.write(&Record::Dtr(Dtr {
        text_dat: Some("done".into()),
        ..Default::default()
    }))
    .unwrap();
    w.write_raw(230, 7, &[0; 12]).unwrap();
    let bytes = w.into_inner();
    let (recs, skips, err) = walk(&bytes, false);
    assert!(err.is_none(), "{err:?}");
    assert!(skips.is_empty());
    assert_eq!(recs.len(), headers(&bytes, order).len());
}

#[test]
fn zero_padding_after_the_last_record_reads_as_before() {
    let mut bytes = lot(2, ByteOrder::Little);
    let n = headers(&bytes, ByteOrder::Little).len();
    bytes.extend_from_slice(&[0; 64]);
    let (recs, _, err) = walk(&bytes, false);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(
        recs.len(),
        n + 16,
        "16 empty 0/0 records, as the walk always read them"
    );
}

#[test]
fn a_file_cut_inside_a_record_is_still_a_truncation() {
    let clean = lot(5, ByteOrder::Little);
    let hs = headers(&clean, ByteOrder::Little);
    for i in [3usize, 10, hs.len() - 1] {
        let (at, typ, sub, _) = hs[i];
        let (_, _, err) = walk(&clean[..at as usize + 6], true);
        let e = err.expect("cut file");
        assert_eq!((e.kind, e.offset), (ErrorKind::Truncated, Some(at)), "{e}");
        assert_eq!(e.record.as_deref(), stdf_core::records::rec_name(typ, sub));
    }
    // a REC_LEN running past the end with nothing valid inside it (corrupt.stdf's case)
    let mut bad = clean.clone();
    let (at, ..) = hs[hs.len() - 1];
    set_len(&mut bad, at, 4096, ByteOrder::Little);
    let (_, _, err) = walk(&bad, false);
    let e = err.unwrap();
    assert_eq!((e.kind, e.offset), (ErrorKind::Truncated, Some(at)), "{e}");
}

#[test]
fn a_rec_len_running_past_the_end_over_valid_records_is_damage() {
    let order = ByteOrder::Little;
    let clean = lot(5, order);
    let hs = headers(&clean, order);
    let (at, _, _, _) = hs[8];
    let mut bad = clean.clone();
    set_len(&mut bad, at, 60000, order);
    let (_, _, err) = walk(&bad, false);
    let e = err.unwrap();
    assert_eq!((e.kind, e.offset), (ErrorKind::Format, Some(at)), "{e}");
    let (recs, skips, err) = walk(&bad, true);
    assert!(err.is_none());
    assert_eq!(recs.len(), hs.len() - 1);
    assert_eq!((skips[0].from, skips[0].to), (at, hs[9].0));
    assert_eq!(skips[0].cause, Cause::Overrun);
}

/// Parts as the scanner closes them: (part_index, closed by PRR with this part_id, results).
#[derive(Default)]
struct Parts {
    closed: Vec<(u32, Option<String>, u32)>,
    results: std::collections::HashMap<u32, u32>,
    lost: Vec<u32>,
}

impl Sink for Parts {
    fn record(&mut self, _st: &mut ScanState, raw: &RawRecord, ctx: &RecCtx) -> Flow {
        match (raw.typ, raw.sub) {
            (15, 10) => {
                *self
                    .results
                    .entry(ctx.part.unwrap().part_index)
                    .or_default() += 1
            }
            (5, 20) => {
                let (r, _) = Record::decode(5, 20, raw.payload, raw.order);
                let Record::Prr(r) = r else { panic!() };
                let p = ctx.part.unwrap().part_index;
                let n = self.results.get(&p).copied().unwrap_or(0);
                self.closed
                    .push((p, r.part_id.map(|s| s.text().into_owned()), n));
            }
            _ => {}
        }
        Flow::Continue
    }
    fn desync(&mut self, _st: &mut ScanState, lost: &[OpenPart]) {
        self.lost.extend(lost.iter().map(|p| p.part_index));
    }
}

#[test]
fn parts_open_across_the_damage_are_closed_without_another_parts_prr() {
    // two sites interleaved: PIR 1, PIR 2, PTRs of both, PRR 1, PRR 2; damage the second PTR of
    // pair 3 (parts 6 and 7 open): they are closed incomplete, not by the PRRs after the resync
    let order = ByteOrder::Little;
    let mut w = Writer::new(Vec::new(), order);
    w.far().unwrap();
    for p in 0..8u32 {
        w.write(&pir(1)).unwrap();
        w.write(&pir(2)).unwrap();
        for t in 0..3 {
            w.write(&ptr(t, 1, 1.0, "a")).unwrap();
            w.write(&ptr(t, 2, 2.0, "b")).unwrap();
        }
        w.write(&prr(1, 1, 2 * p)).unwrap();
        w.write(&prr(2, 1, 2 * p + 1)).unwrap();
    }
    let clean = w.into_inner();
    let hs = headers(&clean, order);
    let per_pair = 2 + 6 + 2;
    let i = 1 + 3 * per_pair + 2 + 1;
    assert_eq!((hs[i].1, hs[i].2), (15, 10));
    let mut bad = clean.clone();
    set_len(&mut bad, hs[i].0, hs[i].3 + 1, order);
    let path = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(path.path(), &bad).unwrap();
    let p = path.path().to_str().unwrap();

    let mut sc = Scanner::open(p, OnError::Raise).unwrap();
    let e = sc.run(&mut Parts::default()).unwrap_err();
    assert_eq!(e.offset, Some(hs[i].0));

    let mut sc = Scanner::open(p, OnError::Warn).unwrap();
    let mut parts = Parts::default();
    assert!(!sc.run(&mut parts).unwrap());
    assert_eq!(parts.lost, vec![6, 7], "the two parts open at the damage");
    // parts 0-5 closed by their own PRR with all 3 results; the PRRs of the damaged pair close
    // parts of their own (opened by the results after the resync), never 6 or 7
    for (k, c) in parts.closed.iter().take(6).enumerate() {
        assert_eq!(c, &(k as u32, Some(k.to_string()), 3));
    }
    let after: Vec<_> = parts.closed[6..8]
        .iter()
        .map(|c| (c.1.clone(), c.2))
        .collect();
    // part 6 took site 1's first PTR before the damage (site 2's first PTR is the damaged
    // record); the 2 PTRs of each site after the resync go to parts of their own
    assert_eq!(after, vec![(Some("6".into()), 2), (Some("7".into()), 2)]);
    assert!(parts.closed[6..8].iter().all(|c| c.0 >= 8));
    for (k, c) in parts.closed.iter().skip(8).enumerate() {
        assert_eq!((c.1.clone(), c.2), (Some((k + 8).to_string()), 3));
    }
    let w: Vec<_> = sc
        .state
        .warnings
        .iter()
        .filter(|w| w.code == "desync")
        .collect();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].byte_offset, Some(hs[i].0));
    let skip = format!("bytes {}..{} skipped", hs[i].0, hs[i + 1].0);
    assert!(w[0].message.contains(&skip), "{}", w[0].message);
    assert_eq!(sc.state.desyncs, 1);
}

/// Valid records whose own bytes read as records chaining to their end are not damage: an RDR
/// whose bin list reads as a FAR (02 00 00 0A), a DTR whose text holds a PTR header whose
/// REC_LEN reaches the DTR's end exactly (random binary data does, about once in 10^5 records
/// of a kilobyte), a record cut short by the spec's rule followed by one whose bytes read as an
/// empty record. Both modes deliver every record as written, no skip.
#[test]
fn records_whose_bytes_read_as_records_are_kept() {
    let order = ByteOrder::Little;
    let mut w = Writer::new(Vec::new(), order);
    w.far().unwrap();
    w.write(&Record::Mir(Mir {
        lot_id: Some("LOT".into()),
        ..Default::default()
    }))
    .unwrap();
    let mut bytes = w.into_inner();
    // RDR: NUM_BINS 2, bins 0x0A00 and 7 -> payload 02 00 00 0A 07 00
    bytes.extend_from_slice(&[6, 0, 1, 70, 2, 0, 0, 0x0a, 7, 0]);
    // DTR: TEXT_DAT of 200 bytes, a PTR header at text byte 10 with REC_LEN 186
    let mut text = vec![b'x'; 200];
    text[10..14].copy_from_slice(&[186, 0, 15, 10]);
    bytes.extend_from_slice(&[201, 0, 50, 30, 200]);
    bytes.extend_from_slice(&text);
    let mut w = Writer::new(bytes, order);
    w.write(&pir(1)).unwrap();
    w.write(&ptr(100, 1, 1.0, "vdd")).unwrap();
    w.write(&prr(1, 1, 0)).unwrap();
    w.write(&Record::Mrr(Mrr {
        finish_t: Some(9),
        ..Default::default()
    }))
    .unwrap();
    let bytes = w.into_inner();
    let hs = headers(&bytes, order);
    let all: Vec<(u64, u8, u8)> = hs.iter().map(|h| (h.0, h.1, h.2)).collect();
    assert!(all.contains(&(all[2].0, 1, 70)) && all.iter().any(|r| (r.1, r.2) == (50, 30)));
    for resync in [false, true] {
        let (recs, skips, err) = walk(&bytes, resync);
        assert!(err.is_none(), "{err:?}");
        assert!(skips.is_empty(), "{skips:?}");
        assert_eq!(recs, all);
    }
}

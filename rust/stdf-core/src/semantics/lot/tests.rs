//! Unit tests of the lot rules, with values derived from the spec by hand (stdf-reference.md
//! §3.5, §3.8, §3.10, §3.11): each builds the few parts or records a rule reads.

use super::*;
use crate::records::Record;
use crate::{ByteOrder, Str};

fn part(index: u32, xy: Option<(i16, i16)>, id: Option<&str>) -> Part {
    Part {
        part_index: index,
        wafer_index: Some(0),
        head: 1,
        site: 1,
        x: xy.map(|p| p.0),
        y: xy.map(|p| p.1),
        part_id: id.map(String::from),
        complete: true,
        hard_bin: Some(1),
        soft_bin: Some(1),
        part_flg: Some(0),
        ..Default::default()
    }
}

fn bin(ty: &'static str, num: u16, summary: bool, name: Option<&str>, pf: Option<&str>) -> Bin {
    Bin {
        bin_type: ty,
        bin_num: num,
        is_summary: Some(summary),
        head: (!summary).then_some(1),
        site: (!summary).then_some(1),
        bin_name: name.map(String::from),
        bin_pf: pf.map(String::from),
        ..Default::default()
    }
}

#[test]
fn a_die_tested_again_is_final_only_the_last_time() {
    let mut parts = vec![
        part(0, Some((3, 4)), None),
        part(1, Some((5, 4)), None),
        part(2, Some((3, 4)), None),
        part(3, Some((3, 4)), None),
    ];
    mark_retests(&mut parts);
    let finals: Vec<bool> = parts.iter().map(|p| p.is_final).collect();
    assert_eq!(finals, [false, true, false, true]);
    let retest: Vec<u16> = parts.iter().map(|p| p.retest_index).collect();
    assert_eq!(retest, [0, 0, 1, 2]);
    assert_eq!(parts[0].superseded_by, Some(2));
    assert_eq!(parts[2].superseded_by, Some(3));
    assert_eq!(parts[3].superseded_by, None);
}

#[test]
fn without_coordinates_a_part_id_is_the_identity_and_without_both_every_part_is_final() {
    let mut parts = vec![
        part(0, None, Some("U1")),
        part(1, None, Some("U2")),
        part(2, None, Some("U1")),
        part(3, None, None),
        part(4, None, None),
    ];
    mark_retests(&mut parts);
    let finals: Vec<bool> = parts.iter().map(|p| p.is_final).collect();
    assert_eq!(finals, [false, true, true, true, true]);
    assert_eq!(parts[2].retest_index, 1);
}

/// A closed wafer's dice are forgotten only once every part opened before it closed was
/// marked: a part of it closing late is still a retest.
#[test]
fn a_closed_wafer_is_forgotten_only_after_its_last_part() {
    let mut r = Retests::default();
    let mut parts = [part(0, Some((1, 1)), None), part(1, Some((1, 1)), None)];
    r.mark(&mut parts[0]);
    r.wafer_closed(0, 2); // part 1 is still open
    r.marked_below(1);
    r.mark(&mut parts[1]);
    assert_eq!(parts[1].retest_index, 1);
    r.marked_below(2);
    assert!(r.by_xy.is_empty() && r.closed.is_empty());
    for (i, p) in parts.iter_mut().enumerate() {
        r.settle(i, p);
    }
    assert_eq!(parts[0].superseded_by, Some(1));
    assert!(!parts[0].is_final && parts[1].is_final);
}

#[test]
fn the_same_coordinates_on_two_wafers_are_two_dice() {
    let mut a = part(0, Some((1, 1)), None);
    let mut b = part(1, Some((1, 1)), None);
    a.wafer_index = Some(0);
    b.wafer_index = Some(1);
    let mut parts = vec![a, b];
    mark_retests(&mut parts);
    assert!(parts[0].is_final && parts[1].is_final);
}

#[test]
fn a_part_passes_by_part_flg_else_by_its_hard_bin_else_by_its_soft_bin() {
    let st = ScanState::default();
    let names = BinNames::of(&[
        bin(HARD, 1, true, Some("GOOD"), Some("P")),
        bin(HARD, 5, true, Some("OPEN"), Some("F")),
        bin(SOFT, 7, true, None, Some("P")),
    ]);
    let cases = [
        // (part_flg, hard bin, soft bin) -> (passed, source)
        ((Some(0x00), 5, 7), (Some(true), Some("part_flg"))),
        ((Some(0x08), 1, 7), (Some(false), Some("part_flg"))),
        ((Some(0x10), 5, 7), (Some(false), Some("hbin_pf"))),
        ((Some(0x18), 1, 7), (Some(true), Some("hbin_pf"))),
        ((Some(0x10), 9, 7), (Some(true), Some("sbin_pf"))),
        ((Some(0x10), 9, 9), (None, None)),
        ((None, 1, 7), (Some(true), Some("hbin_pf"))),
    ];
    for ((flg, hb, sb), want) in cases {
        let mut p = part(0, None, None);
        p.part_flg = flg;
        p.hard_bin = Some(hb);
        p.soft_bin = Some(sb);
        derive_part(&mut p, &names, &st);
        assert_eq!(
            (p.passed, p.pass_source),
            want,
            "PART_FLG {flg:?} bins {hb}/{sb}"
        );
    }
    let mut p = part(0, None, None);
    p.hard_bin = Some(5);
    derive_part(&mut p, &names, &st);
    assert_eq!(
        (p.hbin_name.as_deref(), p.hbin_pf.as_deref()),
        (Some("OPEN"), Some("F"))
    );
    // no PRR: no verdict, whatever the bins say
    let mut p = part(0, None, None);
    p.complete = false;
    derive_part(&mut p, &names, &st);
    assert_eq!((p.passed, p.pass_source), (None, None));
}

#[test]
fn a_bin_name_comes_from_the_summary_record_else_the_first_site_record_field_by_field() {
    // site records first, then a summary with a name but no P/F
    let names = BinNames::of(&[
        bin(HARD, 2, false, Some("site name"), Some("F")),
        bin(HARD, 2, false, Some("other site"), Some("P")),
        bin(HARD, 2, true, Some("summary name"), None),
    ]);
    assert_eq!(
        names.get(HARD, 2),
        (Some("summary name".into()), Some("F".into()))
    );
    assert_eq!(names.get(SOFT, 2), (None, None), "types are apart");
}

#[test]
fn bins_count_complete_parts_per_site_and_in_all_and_prr_only_bins_get_a_row() {
    let mut parts = vec![
        part(0, Some((0, 0)), None),
        part(1, Some((0, 0)), None),
        part(2, Some((1, 0)), None),
    ];
    parts[2].site = 2;
    parts[2].hard_bin = Some(3);
    parts[2].part_flg = Some(0x08);
    let mut open = part(3, Some((2, 0)), None);
    open.complete = false;
    parts.push(open);
    mark_retests(&mut parts);
    let bins = vec![
        bin(HARD, 1, true, None, None),
        bin(HARD, 1, false, None, None),
    ];
    let out = count_bins(bins, &parts, 0);
    // HBR 1 summary: parts 0, 1 (one final); per-site head 1 site 1: the same two
    assert_eq!((out[0].n_parts, out[0].n_parts_final), (2, 1));
    assert_eq!((out[1].n_parts, out[1].n_parts_final), (2, 1));
    // bin 3 is only in a PRR: a row with P/F not inferred (the stream has HBRs);
    // soft bin 1 (no SBR at all): inferred from PART_FLG, parts 0, 1 say pass, part 2 is bin 1 too and fails
    let extra: Vec<(&str, u16, u32, Option<&str>)> = out[2..]
        .iter()
        .map(|b| (b.bin_type, b.bin_num, b.n_parts, b.bin_pf.as_deref()))
        .collect();
    assert_eq!(extra, [(HARD, 3, 1, None), (SOFT, 1, 3, None)]);
}

#[test]
fn a_bin_without_hbr_takes_p_or_f_only_when_all_its_parts_agree() {
    let mut parts = vec![
        part(0, None, None),
        part(1, None, None),
        part(2, None, None),
    ];
    parts[2].hard_bin = Some(2);
    parts[2].part_flg = Some(0x08);
    assert_eq!(inferred_pf(&parts, HARD, 1).as_deref(), Some("P"));
    assert_eq!(inferred_pf(&parts, HARD, 2).as_deref(), Some("F"));
    parts[1].part_flg = Some(0x08);
    assert_eq!(inferred_pf(&parts, HARD, 1), None, "they disagree");
    parts[1].part_flg = Some(0x10);
    assert_eq!(inferred_pf(&parts, HARD, 1), None, "one says nothing");
    assert_eq!(inferred_pf(&parts, HARD, 9), None, "no part");
}

#[test]
fn wafer_yield_is_final_passes_over_dice() {
    let mut parts = vec![
        part(0, Some((0, 0)), None),
        part(1, Some((1, 0)), None),
        part(2, Some((0, 0)), None),
        part(3, None, None),
    ];
    parts[0].part_flg = Some(0x08);
    parts[1].part_flg = Some(0x08);
    mark_retests(&mut parts);
    let st = ScanState::default();
    let names = BinNames::of(&[]);
    for p in parts.iter_mut() {
        derive_part(p, &names, &st);
    }
    let mut wafers = vec![Wafer {
        wafer_index: 0,
        ..Default::default()
    }];
    count_wafers(&mut wafers, &parts);
    let w = &wafers[0];
    // dice: (0,0), (1,0) and the uncoordinated part; (0,0) retested and passed the second time
    assert_eq!(
        (w.n_parts, w.n_dice, w.n_retested, w.n_passed_final),
        (4, 3, 1, 2)
    );
    assert_eq!(w.yield_final(), Some(2.0 / 3.0));
}

#[test]
fn a_test_keeps_the_limits_of_its_first_record_until_a_record_gives_its_own() {
    let mut cat = super::super::Catalog::default();
    let first = Ptr {
        test_num: Some(7),
        test_flg: Some(0),
        opt_flag: Some(0),
        res_scal: Some(3),
        lo_limit: Some(-1.0),
        hi_limit: Some(1.0),
        units: Some(Str::from("V")),
        ..Default::default()
    };
    let (id, r) = cat.resolve_ptr(&first, 0);
    assert_eq!(
        (r.lo_limit, r.hi_limit, r.res_scal),
        (Some(-1.0), Some(1.0), Some(3))
    );
    // a later record of the test without default fields: the first one's limits
    let short = Ptr {
        test_num: Some(7),
        test_flg: Some(0),
        result: Some(0.5),
        ..Default::default()
    };
    let (id2, r) = cat.resolve_ptr(&short, 1);
    assert_eq!(id, id2);
    assert_eq!((r.lo_limit, r.hi_limit), (Some(-1.0), Some(1.0)));
    assert!(!r.limits_overridden);
    // OPT_FLAG bit 6 set: no low limit for this record (§3.5)
    let no_lo = Ptr {
        opt_flag: Some(0x40),
        lo_limit: Some(-9.0),
        hi_limit: Some(2.0),
        ..short.clone()
    };
    let (_, r) = cat.resolve_ptr(&no_lo, 2);
    assert_eq!(r.lo_limit, None);
    assert_eq!(r.hi_limit, Some(2.0));
    assert!(r.limits_overridden);
}

#[test]
fn a_stream_read_through_the_scanner_gives_its_lot_rows() {
    let pir = |site| {
        Record::Pir(crate::records::Pir {
            head_num: Some(1),
            site_num: Some(site),
            ..Default::default()
        })
    };
    let prr = |site, flg, hb, x| {
        Record::Prr(Prr {
            head_num: Some(1),
            site_num: Some(site),
            part_flg: Some(flg),
            num_test: Some(0),
            hard_bin: Some(hb),
            soft_bin: Some(hb),
            x_coord: Some(x),
            y_coord: Some(0),
            ..Default::default()
        })
    };
    let recs = vec![
        Record::Far(Far {
            cpu_type: Some(2),
            stdf_ver: Some(4),
            ..Default::default()
        }),
        Record::Mir(Mir {
            lot_id: Some(Str::from("L1")),
            node_nam: Some(Str::from("T7")),
            ..Default::default()
        }),
        pir(1),
        pir(2),
        prr(2, 0x08, 5, 1),
        prr(1, 0x00, 1, 0),
        pir(1),
        prr(1, 0x00, 1, 1),
        Record::Hbr(Hbr {
            head_num: Some(255),
            site_num: Some(0),
            hbin_num: Some(5),
            hbin_cnt: Some(1),
            hbin_pf: Some(b'F'),
            hbin_nam: Some(Str::from("FAIL5")),
            ..Default::default()
        }),
        Record::Mrr(Mrr {
            finish_t: Some(9),
            ..Default::default()
        }),
    ];
    let bytes = crate::writer::to_bytes(ByteOrder::Little, &recs);
    let scan = |lot: &mut Lot| {
        let reader = crate::RecordReader::from_reader(
            "mem.stdf",
            Box::new(std::io::Cursor::new(bytes.clone())),
            crate::Compression::None,
            0,
        )
        .unwrap();
        let mut scanner = Scanner::new(reader, crate::scan::OnError::Raise);
        while scanner.run(lot).unwrap() {}
        lot.finish_file(&mut scanner);
    };
    let mut lot = Lot::new("mem.stdf", false);
    scan(&mut lot);
    // the same, its parts spilled to a file: the same rows, read back from the file
    let mut spilled = Lot::new("mem.stdf", false);
    let prefix = std::env::temp_dir().join(format!("stdf-core-lot-{}", std::process::id()));
    spilled.spill_parts(prefix);
    scan(&mut spilled);
    assert!(spilled.take_error().is_none() && spilled.parts.is_empty());
    let (stream, file) = &spilled.spilled[0];
    let back: Vec<Part> = file.read().unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!((*stream, &back), (0, &lot.parts));
    assert_eq!(spilled.bins, lot.bins);
    // (part_index, site, x, is_final, passed)
    type Row = (u32, u8, Option<i16>, bool, Option<bool>);
    let parts: Vec<Row> = lot
        .parts
        .iter()
        .map(|p| (p.part_index, p.site, p.x, p.is_final, p.passed))
        .collect();
    // part 1 (site 2, x 1) is retested by part 2 (site 1, x 1)
    assert_eq!(
        parts,
        [
            (0, 1, Some(0), true, Some(true)),
            (1, 2, Some(1), false, Some(false)),
            (2, 1, Some(1), true, Some(true)),
        ]
    );
    assert_eq!(lot.parts[1].hbin_name.as_deref(), Some("FAIL5"));
    let s = &lot.streams[0];
    assert_eq!(s.mir("node_nam"), Some("T7"));
    assert_eq!(s.mir("lot_id"), Some("L1"));
    assert_eq!((s.n_parts, s.n_parts_final, s.n_passed_final), (3, 2, 2));
    assert_eq!(s.yield_final(), Some(1.0));
    assert!(s.complete);
    assert_eq!(
        lot.bins.len(),
        4,
        "HBR 5, then hard bin 1 and soft bins 1, 5 from PRRs"
    );
}

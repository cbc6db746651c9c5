//! The small STDF files committed under `tests/fixtures/`, and their README.
//!
//! Every file is written by stdf-core's own writer: generator-based fixtures from
//! [`generate_lot`] (their expected values are the generator's [`Stats`]), the others record by
//! record below (their expected values are written out by hand in the README text).
//! Regenerate with `cargo test -p stdf-gen -- --ignored regenerate_fixtures`.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use stdf_core::records::{
    Cdr, Cnr, Dtr, Ftr, Hbr, Mir, Mpr, Mrr, Nmr, Pcr, Pgr, Pir, Pmr, Prr, Psr, Ptr, Sbr, Ssr,
    StrRec, Tsr, Vur,
};
use stdf_core::writer::Writer;
use stdf_core::{ByteOrder, Dn, Record, RecordReader, Str};

use crate::lot::{generate_lot, LotConfig, Stats};

/// Upper bound for a committed fixture.
pub const MAX_FIXTURE_BYTES: usize = 50 * 1024;

/// One committed file.
pub struct Fixture {
    pub name: &'static str,
    pub bytes: Vec<u8>,
}

fn stream(order: ByteOrder, recs: &[Record]) -> Vec<u8> {
    let mut w = Writer::new(Vec::new(), order);
    w.far().expect("vec");
    for r in recs {
        w.write(r).expect("vec");
    }
    w.into_inner()
}

fn lot(cfg: &LotConfig) -> (Vec<u8>, Stats) {
    let mut v = Vec::new();
    let s = generate_lot(cfg, &mut v).expect("vec");
    (v, s)
}

/// The configuration of multisite_le.stdf (multisite_be.stdf: the same, big-endian).
pub fn multisite_config(order: ByteOrder) -> LotConfig {
    LotConfig {
        lot_id: "MS4LOT".into(),
        part_typ: "SYNPART-A1".into(),
        job_nam: "SYNPART_CP1".into(),
        sites: 4,
        wafers: 2,
        dice_per_wafer: 40,
        ptr_tests: 5,
        mpr_tests: 1,
        pins: 4,
        ftr_tests: 2,
        order,
        seed: 2024,
        ..Default::default()
    }
}

/// The configuration of no_pir.stdf.
pub fn no_pir_config() -> LotConfig {
    LotConfig {
        lot_id: "NOPIR01".into(),
        sites: 4,
        first_site: 0,
        wafers: 1,
        dice_per_wafer: 24,
        ptr_tests: 3,
        mpr_tests: 0,
        ftr_tests: 1,
        pins: 4,
        write_pir: false,
        seed: 26,
        ..Default::default()
    }
}

/// The two streams of concat.stdf.
pub fn concat_configs() -> [LotConfig; 2] {
    let a = LotConfig {
        lot_id: "CONCAT_A".into(),
        sites: 2,
        wafers: 1,
        dice_per_wafer: 20,
        ptr_tests: 3,
        mpr_tests: 1,
        pins: 2,
        ftr_tests: 1,
        seed: 31,
        ..Default::default()
    };
    let b = LotConfig {
        lot_id: "CONCAT_B".into(),
        order: ByteOrder::Big,
        seed: 32,
        start_t: 1_700_100_000,
        ..a.clone()
    };
    [a, b]
}

/// The lot cut to make truncated.stdf.
pub fn truncated_config() -> LotConfig {
    LotConfig {
        lot_id: "TRUNC01".into(),
        sites: 2,
        wafers: 1,
        dice_per_wafer: 12,
        ptr_tests: 3,
        mpr_tests: 0,
        ftr_tests: 1,
        pins: 2,
        seed: 77,
        ..Default::default()
    }
}

/// Which PTR (0-based, in file order) truncated.stdf is cut inside.
pub const TRUNCATED_PTR_ORDINAL: usize = 20;

// ---------------------------------------------------------------------------------------------
// Hand-built fixtures
// ---------------------------------------------------------------------------------------------

fn mir<'a>(lot: &'a str, tst_temp: &'a [u8]) -> Record<'a> {
    Record::Mir(Mir {
        setup_t: Some(1_700_000_000),
        start_t: Some(1_700_000_060),
        stat_num: Some(1),
        mode_cod: Some(b'P'),
        rtst_cod: Some(b'N'),
        prot_cod: Some(b' '),
        burn_tim: Some(65535),
        cmod_cod: Some(b' '),
        lot_id: Some(lot.into()),
        part_typ: Some("HANDPART".into()),
        node_nam: Some("node1".into()),
        tstr_typ: Some("HAND-T".into()),
        job_nam: Some("hand_job".into()),
        job_rev: Some("1".into()),
        sblot_id: Some("".into()),
        oper_nam: Some("".into()),
        exec_typ: Some("".into()),
        exec_ver: Some("".into()),
        test_cod: Some("FT1".into()),
        tst_temp: Some(Str(tst_temp)),
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

fn prr(site: u8, flg: u8, num_test: u16, hb: u16, sb: u16, part_id: &str) -> Record<'_> {
    Record::Prr(Prr {
        head_num: Some(1),
        site_num: Some(site),
        part_flg: Some(flg),
        num_test: Some(num_test),
        hard_bin: Some(hb),
        soft_bin: Some(sb),
        x_coord: Some(-32768),
        y_coord: Some(-32768),
        test_t: Some(0),
        part_id: Some(part_id.into()),
        ..Default::default()
    })
}

fn tsr<'a>(typ: u8, num: u32, exec: u32, fail: u32, name: &'a [u8]) -> Record<'a> {
    Record::Tsr(Tsr {
        head_num: Some(255),
        site_num: Some(255),
        test_typ: Some(typ),
        test_num: Some(num),
        exec_cnt: Some(exec),
        fail_cnt: Some(fail),
        alrm_cnt: Some(0),
        test_nam: Some(Str(name)),
        seq_name: Some("".into()),
        test_lbl: Some("".into()),
        opt_flag: Some(0xFF),
        ..Default::default()
    })
}

fn hbr(bin: u16, cnt: u32, pf: u8, name: &str) -> Record<'_> {
    Record::Hbr(Hbr {
        head_num: Some(255),
        site_num: Some(255),
        hbin_num: Some(bin),
        hbin_cnt: Some(cnt),
        hbin_pf: Some(pf),
        hbin_nam: Some(name.into()),
        ..Default::default()
    })
}

fn sbr(bin: u16, cnt: u32, pf: u8, name: &str) -> Record<'_> {
    Record::Sbr(Sbr {
        head_num: Some(255),
        site_num: Some(255),
        sbin_num: Some(bin),
        sbin_cnt: Some(cnt),
        sbin_pf: Some(pf),
        sbin_nam: Some(name.into()),
        ..Default::default()
    })
}

fn pcr(parts: u32, good: u32) -> Record<'static> {
    Record::Pcr(Pcr {
        head_num: Some(255),
        site_num: Some(255),
        part_cnt: Some(parts),
        rtst_cnt: Some(0),
        abrt_cnt: Some(0),
        good_cnt: Some(good),
        func_cnt: Some(parts),
        ..Default::default()
    })
}

fn mrr() -> Record<'static> {
    Record::Mrr(Mrr {
        finish_t: Some(1_700_003_600),
        disp_cod: Some(b' '),
        ..Default::default()
    })
}

fn pmr(idx: u16, name: &str) -> Record<'_> {
    Record::Pmr(Pmr {
        pmr_indx: Some(idx),
        chan_typ: Some(0),
        chan_nam: Some(name.into()),
        phy_nam: Some(name.into()),
        log_nam: Some(name.into()),
        head_num: Some(1),
        site_num: Some(1),
        ..Default::default()
    })
}

/// Default data of a first MPR: OPT_FLAG, LO_LIMIT, HI_LIMIT, START_IN, INCR_IN, RTN_INDX,
/// UNITS, UNITS_IN.
type MprDefaults<'a> = (u8, f32, f32, f32, f32, Vec<u16>, &'a str, &'a str);

/// MPR with the per-execution fields; `defaults` adds the default data of a first record.
#[allow(clippy::too_many_arguments)]
fn mpr<'a>(
    num: u32,
    name: &'a str,
    flg: u8,
    stat: Vec<u8>,
    rslt: Vec<f32>,
    defaults: Option<MprDefaults<'a>>,
) -> Record<'a> {
    let mut m = Mpr {
        test_num: Some(num),
        head_num: Some(1),
        site_num: Some(1),
        test_flg: Some(flg),
        parm_flg: Some(0xC0),
        rtn_icnt: Some(stat.len() as u16),
        rslt_cnt: Some(rslt.len() as u16),
        rtn_stat: Some(stat),
        rtn_rslt: Some(rslt),
        test_txt: Some(name.into()),
        ..Default::default()
    };
    if let Some((opt, lo, hi, start, incr, indx, units, units_in)) = defaults {
        m.alarm_id = Some("".into());
        m.opt_flag = Some(opt);
        m.res_scal = Some(0);
        m.llm_scal = Some(0);
        m.hlm_scal = Some(0);
        m.lo_limit = Some(lo);
        m.hi_limit = Some(hi);
        m.start_in = Some(start);
        m.incr_in = Some(incr);
        m.rtn_indx = Some(indx);
        m.units = Some(units.into());
        m.units_in = Some(units_in.into());
    }
    Record::Mpr(m)
}

fn ftr_pass<'a>(num: u32, name: &'a str, first: Option<&'a [u8]>) -> Record<'a> {
    let mut f = Ftr {
        test_num: Some(num),
        head_num: Some(1),
        site_num: Some(1),
        test_flg: Some(0),
        opt_flag: Some(0xF6),
        cycl_cnt: Some(4096),
        rel_vadr: Some(0),
        rept_cnt: Some(0),
        num_fail: Some(0),
        xfail_ad: Some(0),
        yfail_ad: Some(0),
        vect_off: Some(0),
        rtn_icnt: Some(0),
        pgm_icnt: Some(0),
        rtn_indx: Some(vec![]),
        rtn_stat: Some(vec![]),
        pgm_indx: Some(vec![]),
        pgm_stat: Some(vec![]),
        fail_pin: Some(Dn::default()),
        vect_nam: Some("pat_a".into()),
        time_set: Some("TS1".into()),
        op_code: Some("".into()),
        test_txt: Some(name.into()),
        ..Default::default()
    };
    if let Some(spin) = first {
        f.alarm_id = Some("".into());
        f.prog_txt = Some("".into());
        f.rslt_txt = Some("".into());
        f.patg_num = Some(1);
        f.spin_map = Some(Dn {
            nbits: 5,
            bytes: spin,
        });
    }
    Record::Ftr(f)
}

/// mpr_ftr.stdf: one site, three parts, every MPR shape and FTR failure detail.
fn mpr_ftr() -> Vec<u8> {
    const SPIN: &[u8] = &[0b0001_1110]; // PMR 1..4 enabled, 5 bits
    const FAIL_PINS: &[u8] = &[0b0001_0100]; // PMR 2 and 4 failed
    const FAIL_PIN4: &[u8] = &[0b0001_0000]; // PMR 4
    let v100 = |x: [f32; 4]| x.to_vec();
    let mut recs: Vec<Record> = vec![
        mir("MPRFTR", b"25"),
        pmr(1, "A0"),
        pmr(2, "A1"),
        pmr(3, "A2"),
        pmr(4, "A3"),
        Record::Pgr(Pgr {
            grp_indx: Some(32768),
            grp_nam: Some("ABUS".into()),
            indx_cnt: Some(4),
            pmr_indx: Some(vec![1, 2, 3, 4]),
            ..Default::default()
        }),
    ];
    // ---- part 1: passes everything
    recs.push(pir(1));
    recs.push(mpr(
        100,
        "VTH_PINS",
        0,
        vec![0, 0, 0, 0],
        v100([0.5, 0.625, 0.75, 0.875]),
        Some((0x0E, 0.25, 1.0, 0.0, 0.0, vec![1, 2, 3, 4], "V", "")),
    ));
    recs.push(mpr(
        110,
        "SWEEP_IDD",
        0,
        vec![],
        vec![0.125, 0.25, 0.5, 1.0, 2.0],
        Some((0x0C, 0.0, 4.0, 1.0, 0.5, vec![], "A", "V")),
    ));
    recs.push(mpr(
        120,
        "PIN_STATES",
        0,
        vec![1, 0, 1],
        vec![],
        Some((0xCE, 0.0, 0.0, 0.0, 0.0, vec![1, 2, 3], "", "")),
    ));
    recs.push(mpr(
        130,
        "PF_ONLY",
        0,
        vec![],
        vec![],
        Some((0xCE, 0.0, 0.0, 0.0, 0.0, vec![], "", "")),
    ));
    recs.push(mpr(
        140,
        "MISMATCH",
        0,
        vec![0, 0],
        vec![1.0, 2.0, 3.0],
        Some((0x0E, 0.0, 8.0, 0.0, 0.0, vec![1, 2], "V", "")),
    ));
    recs.push(ftr_pass(200, "FUNC_A", Some(SPIN)));
    recs.push(ftr_pass(210, "FUNC_B", Some(SPIN)));
    recs.push(prr(1, 0x00, 7, 1, 1, "1"));
    // ---- part 2: FUNC_B fails; two FTRs log the failing vector and the one after it
    recs.push(pir(1));
    recs.push(mpr(
        100,
        "VTH_PINS",
        0,
        vec![0, 0, 0, 0],
        v100([0.5, 0.5, 0.5, 0.5]),
        None,
    ));
    recs.push(mpr(
        110,
        "SWEEP_IDD",
        0,
        vec![],
        vec![0.25, 0.25, 0.5, 0.5, 1.0],
        None,
    ));
    recs.push(mpr(120, "PIN_STATES", 0, vec![0, 1, 0], vec![], None));
    recs.push(mpr(130, "PF_ONLY", 0, vec![], vec![], None));
    recs.push(mpr(
        140,
        "MISMATCH",
        0,
        vec![0, 0],
        vec![4.0, 5.0, 6.0],
        None,
    ));
    recs.push(ftr_pass(200, "FUNC_A", None));
    recs.push(Record::Ftr(Ftr {
        test_num: Some(210),
        head_num: Some(1),
        site_num: Some(1),
        test_flg: Some(0x80),
        opt_flag: Some(0xC0), // every optional field valid
        cycl_cnt: Some(1234),
        rel_vadr: Some(1200),
        rept_cnt: Some(1),
        num_fail: Some(2),
        xfail_ad: Some(10),
        yfail_ad: Some(-3),
        vect_off: Some(0),
        rtn_icnt: Some(2),
        pgm_icnt: Some(2),
        rtn_indx: Some(vec![2, 4]),
        rtn_stat: Some(vec![5, 6]),
        pgm_indx: Some(vec![2, 4]),
        pgm_stat: Some(vec![2, 3]),
        fail_pin: Some(Dn {
            nbits: 5,
            bytes: FAIL_PINS,
        }),
        vect_nam: Some("pat_b".into()),
        time_set: Some("TS2".into()),
        op_code: Some("RPT".into()),
        test_txt: Some("FUNC_B".into()),
        alarm_id: Some("".into()),
        prog_txt: Some("prog".into()),
        rslt_txt: Some("2 pins failed".into()),
        ..Default::default()
    }));
    recs.push(Record::Ftr(Ftr {
        test_num: Some(210),
        head_num: Some(1),
        site_num: Some(1),
        test_flg: Some(0x80),
        opt_flag: Some(0xC0),
        cycl_cnt: Some(1235),
        rel_vadr: Some(1201),
        rept_cnt: Some(1),
        num_fail: Some(1),
        xfail_ad: Some(11),
        yfail_ad: Some(-3),
        vect_off: Some(1),
        rtn_icnt: Some(1),
        pgm_icnt: Some(0),
        rtn_indx: Some(vec![4]),
        rtn_stat: Some(vec![6]),
        pgm_indx: Some(vec![]),
        pgm_stat: Some(vec![]),
        fail_pin: Some(Dn {
            nbits: 5,
            bytes: FAIL_PIN4,
        }),
        vect_nam: Some("pat_b".into()),
        time_set: Some("TS2".into()),
        op_code: Some("".into()),
        test_txt: Some("FUNC_B".into()),
        ..Default::default()
    }));
    recs.push(prr(1, 0x08, 7, 3, 30, "2"));
    // ---- part 3: VTH_PINS fails on A2 (1.5 V > 1.0 V); testing stops there
    recs.push(pir(1));
    recs.push(mpr(
        100,
        "VTH_PINS",
        0x80,
        vec![0, 0, 6, 0],
        v100([0.75, 0.75, 1.5, 0.75]),
        None,
    ));
    recs.push(prr(1, 0x08, 1, 2, 20, "3"));
    // ---- summary
    for (num, typ, name, exec, fail) in [
        (100, b'M', "VTH_PINS", 3, 1),
        (110, b'M', "SWEEP_IDD", 2, 0),
        (120, b'M', "PIN_STATES", 2, 0),
        (130, b'M', "PF_ONLY", 2, 0),
        (140, b'M', "MISMATCH", 2, 0),
        (200, b'F', "FUNC_A", 2, 0),
        (210, b'F', "FUNC_B", 2, 1),
    ] {
        recs.push(tsr(typ, num, exec, fail, name.as_bytes()));
    }
    recs.extend([
        hbr(1, 1, b'P', "PASS"),
        hbr(2, 1, b'F', "PARAMETRIC"),
        hbr(3, 1, b'F', "FUNCTIONAL"),
        sbr(1, 1, b'P', "PASS"),
        sbr(20, 1, b'F', "VTH"),
        sbr(30, 1, b'F', "FUNC"),
        pcr(3, 1),
        mrr(),
    ]);
    stream(ByteOrder::Little, &recs)
}

/// v4_2007.stdf: both VUR layouts and every V4-2007 record, big-endian.
fn v4_2007() -> Vec<u8> {
    let mask: &[u8] = &[0x00];
    let recs: Vec<Record> = vec![
        Record::Vur(Vur {
            upd_cnt: Some(1),
            upd_nam: Some(vec![Str(b"V4-2007")]),
        }),
        Record::Vur(Vur {
            upd_cnt: None,
            upd_nam: Some(vec![Str(b"Scan:2007.1")]),
        }),
        mir("SCAN2007", b"25"),
        pmr(1, "SI0"),
        pmr(2, "SO0"),
        pmr(3, "CLK"),
        pmr(4, "SE"),
        Record::Psr(Psr {
            cont_flg: Some(0),
            psr_indx: Some(1),
            psr_nam: Some("scan_patterns".into()),
            opt_flg: Some(0),
            totp_cnt: Some(2),
            locp_cnt: Some(2),
            pat_bgn: Some(vec![0, 1000]),
            pat_end: Some(vec![999, 2999]),
            pat_file: Some(vec![Str(b"scan_a.stil"), Str(b"scan_b.stil")]),
            pat_lbl: Some(vec![Str(b"A"), Str(b"B")]),
            file_uid: Some(vec![Str(b"uid-a"), Str(b"uid-b")]),
            atpg_dsc: Some(vec![Str(b"atpg 1"), Str(b"atpg 2")]),
            src_id: Some(vec![Str(b"s1"), Str(b"s2")]),
            ..Default::default()
        }),
        Record::Nmr(Nmr {
            cont_flg: Some(0),
            totm_cnt: Some(2),
            locm_cnt: Some(2),
            pmr_indx: Some(vec![1, 2]),
            atpg_nam: Some(vec![Str(b"scan_in[0]"), Str(b"scan_out[0]")]),
            ..Default::default()
        }),
        Record::Cnr(Cnr {
            chn_num: Some(1),
            bit_pos: Some(0),
            cell_nam: Some("u_core/ff0".into()),
            ..Default::default()
        }),
        Record::Cnr(Cnr {
            chn_num: Some(1),
            bit_pos: Some(1),
            cell_nam: Some("u_core/ff1".into()),
            ..Default::default()
        }),
        Record::Ssr(Ssr {
            ssr_nam: Some("scan_top".into()),
            chn_cnt: Some(1),
            chn_list: Some(vec![1]),
            ..Default::default()
        }),
        Record::Cdr(Cdr {
            cont_flg: Some(0),
            cdr_indx: Some(1),
            chn_nam: Some("chain1".into()),
            chn_len: Some(2),
            sin_pin: Some(1),
            sout_pin: Some(2),
            mstr_cnt: Some(1),
            m_clks: Some(vec![3]),
            slav_cnt: Some(0),
            s_clks: Some(vec![]),
            inv_val: Some(0),
            lst_cnt: Some(2),
            cell_lst: Some(vec![Str(b"u_core/ff0"), Str(b"u_core/ff1")]),
            ..Default::default()
        }),
        pir(1),
        Record::StrRec(StrRec {
            cont_flg: Some(1),
            test_num: Some(500),
            head_num: Some(1),
            site_num: Some(1),
            psr_ref: Some(1),
            test_flg: Some(0x80),
            log_typ: Some("FULL".into()),
            test_txt: Some("SCAN_STUCK_AT".into()),
            alarm_id: Some("".into()),
            prog_txt: Some("".into()),
            rslt_txt: Some("".into()),
            z_val: Some(0),
            fmu_flg: Some(0),
            mask_map: Some(Dn {
                nbits: 4,
                bytes: mask,
            }),
            fal_map: Some(Dn {
                nbits: 4,
                bytes: mask,
            }),
            cyc_cnt: Some(3000),
            totf_cnt: Some(3),
            totl_cnt: Some(3),
            cyc_base: Some(0),
            bit_base: Some(0),
            cond_cnt: Some(1),
            lim_cnt: Some(0),
            cyc_size: Some(4),
            pmr_size: Some(2),
            chn_size: Some(1),
            pat_size: Some(1),
            bit_size: Some(2),
            u1_size: Some(1),
            u2_size: Some(1),
            u3_size: Some(1),
            utx_size: Some(4),
            cap_bgn: Some(0),
            lim_indx: Some(vec![]),
            lim_spec: Some(vec![]),
            cond_lst: Some(vec![Str(b"VDD=0.9")]),
            cyco_cnt: Some(2),
            cyc_ofst: Some(vec![120, 1500]),
            pmr_cnt: Some(2),
            pmr_indx: Some(vec![2, 2]),
            chn_cnt: Some(2),
            chn_num: Some(vec![1, 1]),
            exp_cnt: Some(2),
            exp_data: Some(vec![0, 1]),
            cap_cnt: Some(2),
            cap_data: Some(vec![1, 0]),
            new_cnt: Some(0),
            new_data: Some(vec![]),
            pat_cnt: Some(2),
            pat_num: Some(vec![0, 1]),
            bpos_cnt: Some(2),
            bit_pos: Some(vec![0, 1]),
            usr1_cnt: Some(0),
            usr1: Some(vec![]),
            usr2_cnt: Some(0),
            usr2: Some(vec![]),
            usr3_cnt: Some(0),
            usr3: Some(vec![]),
            txt_cnt: Some(2),
            user_txt: Some(vec![Str(b"f001"), Str(b"f002")]),
            ..Default::default()
        }),
        Record::StrRec(StrRec {
            cont_flg: Some(0),
            test_num: Some(500),
            head_num: Some(1),
            site_num: Some(1),
            psr_ref: Some(1),
            test_flg: Some(0x80),
            log_typ: Some("FULL".into()),
            test_txt: Some("SCAN_STUCK_AT".into()),
            alarm_id: Some("".into()),
            prog_txt: Some("".into()),
            rslt_txt: Some("".into()),
            z_val: Some(0),
            fmu_flg: Some(0),
            mask_map: Some(Dn {
                nbits: 4,
                bytes: mask,
            }),
            fal_map: Some(Dn {
                nbits: 4,
                bytes: mask,
            }),
            cyc_cnt: Some(3000),
            totf_cnt: Some(3),
            totl_cnt: Some(3),
            cyc_base: Some(0),
            bit_base: Some(0),
            cond_cnt: Some(0),
            lim_cnt: Some(0),
            cyc_size: Some(4),
            pmr_size: Some(2),
            chn_size: Some(1),
            pat_size: Some(1),
            bit_size: Some(2),
            u1_size: Some(1),
            u2_size: Some(1),
            u3_size: Some(1),
            utx_size: Some(4),
            cap_bgn: Some(0),
            lim_indx: Some(vec![]),
            lim_spec: Some(vec![]),
            cond_lst: Some(vec![]),
            cyco_cnt: Some(1),
            cyc_ofst: Some(vec![2001]),
            pmr_cnt: Some(1),
            pmr_indx: Some(vec![2]),
            chn_cnt: Some(1),
            chn_num: Some(vec![1]),
            exp_cnt: Some(1),
            exp_data: Some(vec![1]),
            cap_cnt: Some(1),
            cap_data: Some(vec![0]),
            new_cnt: Some(0),
            new_data: Some(vec![]),
            pat_cnt: Some(1),
            pat_num: Some(vec![1]),
            bpos_cnt: Some(1),
            bit_pos: Some(vec![1]),
            usr1_cnt: Some(0),
            usr1: Some(vec![]),
            usr2_cnt: Some(0),
            usr2: Some(vec![]),
            usr3_cnt: Some(0),
            usr3: Some(vec![]),
            txt_cnt: Some(1),
            user_txt: Some(vec![Str(b"f003")]),
            ..Default::default()
        }),
        prr(1, 0x08, 1, 3, 30, "1"),
        tsr(b' ', 500, 1, 1, b"SCAN_STUCK_AT"),
        hbr(3, 1, b'F', "FUNCTIONAL"),
        sbr(30, 1, b'F', "SCAN"),
        pcr(1, 0),
        mrr(),
    ];
    stream(ByteOrder::Big, &recs)
}

/// latin1.stdf: MIR.TST_TEMP "25\xB0C" and a PTR TEST_TXT with 0xB5, little-endian.
fn latin1() -> Vec<u8> {
    const NAME: &[u8] = b"I_LEAK \xB5A";
    let recs: Vec<Record> = vec![
        mir("LATIN1", b"25\xB0C"),
        pir(1),
        Record::Ptr(Ptr {
            test_num: Some(100),
            head_num: Some(1),
            site_num: Some(1),
            test_flg: Some(0),
            parm_flg: Some(0xC0),
            result: Some(1.0 / 1_048_576.0), // 2^-20 A
            test_txt: Some(Str(NAME)),
            alarm_id: Some("".into()),
            opt_flag: Some(0x0E),
            res_scal: Some(6),
            llm_scal: Some(6),
            hlm_scal: Some(6),
            lo_limit: Some(0.0),
            hi_limit: Some(1.0 / 65_536.0), // 2^-16 A
            units: Some("A".into()),
            c_resfmt: Some("%6.3f".into()),
            c_llmfmt: Some("%6.3f".into()),
            c_hlmfmt: Some("%6.3f".into()),
            ..Default::default()
        }),
        Record::Dtr(Dtr {
            text_dat: Some(Str(b"probe card \x96 cleaned")),
            ..Default::default()
        }),
        prr(1, 0x00, 1, 1, 1, "1"),
        tsr(b'P', 100, 1, 0, NAME),
        hbr(1, 1, b'P', "PASS"),
        sbr(1, 1, b'P', "PASS"),
        pcr(1, 1),
        mrr(),
    ];
    stream(ByteOrder::Little, &recs)
}

/// corrupt.stdf: FAR MIR PIR PTR PRR, then a DTR whose REC_LEN (4096) overruns the file.
fn corrupt() -> Vec<u8> {
    let recs: Vec<Record> = vec![
        Record::Mir(Mir {
            setup_t: Some(1_700_000_000),
            start_t: Some(1_700_000_060),
            stat_num: Some(1),
            mode_cod: Some(b'P'),
            rtst_cod: Some(b'N'),
            prot_cod: Some(b' '),
            burn_tim: Some(65535),
            cmod_cod: Some(b' '),
            lot_id: Some("CORRUPT1".into()),
            part_typ: Some("P".into()),
            node_nam: Some("n".into()),
            tstr_typ: Some("t".into()),
            job_nam: Some("j".into()),
            ..Default::default()
        }),
        pir(1),
        Record::Ptr(Ptr {
            test_num: Some(7),
            head_num: Some(1),
            site_num: Some(1),
            test_flg: Some(0),
            parm_flg: Some(0),
            result: Some(0.5),
            test_txt: Some("T1".into()),
            ..Default::default()
        }),
        Record::Prr(Prr {
            head_num: Some(1),
            site_num: Some(1),
            part_flg: Some(0),
            num_test: Some(1),
            hard_bin: Some(1),
            soft_bin: Some(1),
            x_coord: Some(3),
            y_coord: Some(4),
            ..Default::default()
        }),
    ];
    let mut b = stream(ByteOrder::Little, &recs);
    // DTR header claiming 4096 payload bytes, followed by only 12
    b.extend_from_slice(&[0x00, 0x10, 50, 30]);
    b.extend_from_slice(b"\x0bgarbage....");
    b
}

/// The full lot of truncated.stdf, the cut position and the cut PTR's offset.
pub fn truncated_parts() -> (Vec<u8>, usize, u64, Stats) {
    let (full, st) = lot(&truncated_config());
    let mut rd = RecordReader::from_reader(
        "truncated",
        Box::new(io::Cursor::new(full.clone())),
        stdf_core::Compression::None,
        full.len() as u64,
    )
    .expect("reader");
    let mut k = 0;
    let mut off = None;
    while let Some(r) = rd.next_record().expect("valid") {
        if r.typ == 15 && r.sub == 10 {
            if k == TRUNCATED_PTR_ORDINAL {
                off = Some(r.offset);
                break;
            }
            k += 1;
        }
    }
    let off = off.expect("enough PTRs");
    // header (4) + TEST_NUM, HEAD, SITE, TEST_FLG, PARM_FLG (8) + 2 of RESULT's 4 bytes
    let cut = off as usize + 4 + 8 + 2;
    (full, cut, off, st)
}

/// Build every fixture and the README (in memory).
pub fn build_all() -> Vec<Fixture> {
    let mut out = Vec::new();
    let mut readme = String::from(README_HEAD);

    let (le, s_le) = lot(&multisite_config(ByteOrder::Little));
    let (be, s_be) = lot(&multisite_config(ByteOrder::Big));
    readme.push_str(
        "\n## multisite_le.stdf / multisite_be.stdf\n\n\
         Generator lot (`fixtures::multisite_config`): 4 sites in parallel (SITE_NUM 1-4, HEAD 1), \
         2 round wafers of about 40 dice, per die 1 MPR (4 pins), 5 PTR and 2 FTR tests, stop on \
         first fail, end-of-wafer re-probes without supersede flags. multisite_le is \
         little-endian (CPU_TYPE 2), multisite_be is the same content big-endian (CPU_TYPE 1): \
         every decoded value is identical. Summary records use HEAD 255 / SITE 255.\n",
    );
    readme.push_str(&stats_md(&s_le));
    let mut s_be2 = s_be.clone();
    s_be2.byte_order = s_le.byte_order;
    assert_eq!(s_be2, s_le, "big-endian twin has the same content");
    out.push(Fixture {
        name: "multisite_le.stdf",
        bytes: le,
    });
    out.push(Fixture {
        name: "multisite_be.stdf",
        bytes: be,
    });

    out.push(Fixture {
        name: "mpr_ftr.stdf",
        bytes: mpr_ftr(),
    });
    readme.push_str(MPR_FTR_MD);
    out.push(Fixture {
        name: "v4_2007.stdf",
        bytes: v4_2007(),
    });
    readme.push_str(V4_2007_MD);

    let (full, cut, off, st) = truncated_parts();
    let bytes = full[..cut].to_vec();
    let summary = truncated_summary(&bytes);
    let _ = writeln!(
        readme,
        "\n## truncated.stdf\n\n\
         The generator lot `fixtures::truncated_config` (TRUNC01, 2 sites, 1 wafer, 3 PTR + 1 FTR \
         tests, little-endian; full stream {} bytes, {} records) cut inside PTR number {} \
         (0-based, in file order): the file ends 2 bytes into that PTR's RESULT.\n\n\
         * file size: {} bytes\n\
         * complete records before the cut: {} (FAR first)\n\
         * the cut record: PTR at byte offset {} (TEST_NUM {}, SITE_NUM {}), REC_LEN {} \
         but only {} payload bytes present\n\
         * complete parts (PRRs) before the cut: {}; PIRs before the cut: {}; parts open at the \
         cut: {}\n\
         * PTRs complete before the cut: {}\n\
         * reading it: error kind `Truncated`, offset {}, record `PTR`\n",
        st.bytes,
        st.records,
        TRUNCATED_PTR_ORDINAL,
        bytes.len(),
        summary.records,
        off,
        summary.cut_test,
        summary.cut_site,
        summary.cut_len,
        cut as u64 - off - 4,
        summary.prrs,
        summary.pirs,
        summary.pirs - summary.prrs,
        summary.ptrs,
        off,
    );
    out.push(Fixture {
        name: "truncated.stdf",
        bytes,
    });

    out.push(Fixture {
        name: "corrupt.stdf",
        bytes: corrupt(),
    });
    readme.push_str(CORRUPT_MD);

    let (np, s_np) = lot(&no_pir_config());
    readme.push_str(
        "\n## no_pir.stdf\n\n\
         Pitfall P26: generator lot `fixtures::no_pir_config` with `write_pir: false`: no PIR \
         anywhere; results of sites 0-3 interleave and each part is closed by its PRR only. \
         SITE_NUM 0-3, little-endian. A reader must open a part implicitly at the first result of \
         a head/site with none open.\n",
    );
    readme.push_str(&stats_md(&s_np));
    out.push(Fixture {
        name: "no_pir.stdf",
        bytes: np,
    });

    let [ca, cb] = concat_configs();
    let (a, s_a) = lot(&ca);
    let (b, s_b) = lot(&cb);
    let _ = writeln!(
        readme,
        "\n## concat.stdf\n\n\
         Two complete FAR..MRR streams byte-concatenated (pitfall P21): stream 0 = lot CONCAT_A, \
         little-endian, bytes 0..{}; stream 1 = lot CONCAT_B, **big-endian**, starting at byte \
         offset {} with its own FAR. Total {} bytes, {} records.\n",
        a.len(),
        a.len(),
        a.len() + b.len(),
        s_a.records + s_b.records
    );
    readme.push_str("\n### stream 0 (CONCAT_A)\n");
    readme.push_str(&stats_md(&s_a));
    readme.push_str("\n### stream 1 (CONCAT_B)\n");
    readme.push_str(&stats_md(&s_b));
    out.push(Fixture {
        name: "concat.stdf",
        bytes: [a, b].concat(),
    });

    out.push(Fixture {
        name: "latin1.stdf",
        bytes: latin1(),
    });
    readme.push_str(LATIN1_MD);

    let mut sizes = String::from("\n## File sizes\n\n| file | bytes |\n|---|---|\n");
    for f in &out {
        let _ = writeln!(sizes, "| {} | {} |", f.name, f.bytes.len());
        assert!(f.bytes.len() <= MAX_FIXTURE_BYTES, "{} is too big", f.name);
    }
    readme.push_str(&sizes);
    out.push(Fixture {
        name: "README.md",
        bytes: readme.into_bytes(),
    });
    out
}

/// Write every fixture (and README.md) into `dir`.
pub fn write_all(dir: &Path) -> io::Result<Vec<&'static str>> {
    std::fs::create_dir_all(dir)?;
    let mut names = Vec::new();
    for f in build_all() {
        std::fs::write(dir.join(f.name), &f.bytes)?;
        names.push(f.name);
    }
    Ok(names)
}

struct TruncSummary {
    records: u64,
    prrs: u64,
    pirs: u64,
    ptrs: u64,
    cut_test: u32,
    cut_site: u8,
    cut_len: u16,
}

fn truncated_summary(bytes: &[u8]) -> TruncSummary {
    let mut rd = RecordReader::from_reader(
        "truncated",
        Box::new(io::Cursor::new(bytes.to_vec())),
        stdf_core::Compression::None,
        bytes.len() as u64,
    )
    .expect("reader");
    let mut s = TruncSummary {
        records: 0,
        prrs: 0,
        pirs: 0,
        ptrs: 0,
        cut_test: 0,
        cut_site: 0,
        cut_len: 0,
    };
    loop {
        match rd.next_record() {
            Ok(Some(r)) => {
                s.records += 1;
                match (r.typ, r.sub) {
                    (5, 10) => s.pirs += 1,
                    (5, 20) => s.prrs += 1,
                    (15, 10) => s.ptrs += 1,
                    _ => {}
                }
            }
            Ok(None) => panic!("truncated.stdf must end inside a record"),
            Err(e) => {
                let off = e.offset.expect("offset") as usize;
                let h = &bytes[off..off + 12];
                s.cut_len = u16::from_le_bytes([h[0], h[1]]);
                s.cut_test = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
                s.cut_site = h[9];
                return s;
            }
        }
    }
}

/// Markdown tables of a generator lot's Stats.
pub fn stats_md(s: &Stats) -> String {
    let mut m = String::new();
    let _ = writeln!(
        m,
        "\n* lot `{}`, {} byte order, {} bytes, {} records",
        s.lot_id, s.byte_order, s.bytes, s.records
    );
    let rc: Vec<String> = s
        .record_counts
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    let _ = writeln!(m, "* records per type: {}", rc.join(", "));
    let _ = writeln!(
        m,
        "* parts (PRRs, every insertion) {}, good (hard bin 1) {}, re-probes {}, distinct dice {}, \
         dice whose last insertion is good {}",
        s.parts, s.good_parts, s.retests, s.dice, s.final_good
    );
    let ps: Vec<String> = s
        .parts_per_site
        .iter()
        .map(|(k, n)| format!("site {k}: {n}"))
        .collect();
    let _ = writeln!(m, "* parts per site: {}", ps.join(", "));
    let _ = writeln!(
        m,
        "* PTR records {}, MPR records {} ({} values), FTR records {} ({} failing)",
        s.ptr_records, s.mpr_records, s.mpr_values, s.ftr_records, s.ftr_failures
    );
    let hb: Vec<String> = s
        .hard_bins
        .iter()
        .map(|(k, n)| {
            format!(
                "{k}: {n} (final {})",
                s.final_hard_bins.get(k).copied().unwrap_or(0)
            )
        })
        .collect();
    let _ = writeln!(
        m,
        "* hard bins (all insertions, final in brackets): {}",
        hb.join(", ")
    );
    let sb: Vec<String> = s
        .soft_bins
        .iter()
        .map(|(k, n)| format!("{k}: {n}"))
        .collect();
    let _ = writeln!(m, "* soft bins: {}", sb.join(", "));
    for w in &s.wafers {
        let _ = writeln!(
            m,
            "* wafer `{}`: parts {}, good {}, re-probes {}, dice {}, functional {}",
            w.wafer_id, w.parts, w.good, w.retests, w.dice, w.func
        );
    }
    m.push_str(
        "\n| TEST_NUM | type | name | units | lo limit | hi limit | executions | failures | values | exact sum of values | min | max |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let f32s = |v: Option<f32>| v.map(|x| format!("{x:?}")).unwrap_or_else(|| "none".into());
    let f64s = |v: Option<f64>| v.map(|x| format!("{x:?}")).unwrap_or_else(|| "-".into());
    for (n, t) in &s.tests {
        let _ = writeln!(
            m,
            "| {n} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            t.kind,
            t.name,
            if t.units.is_empty() { "-" } else { &t.units },
            if t.kind == 'F' {
                "-".into()
            } else {
                f32s(t.lo_limit)
            },
            if t.kind == 'F' {
                "-".into()
            } else {
                f32s(t.hi_limit)
            },
            t.executions,
            t.failures,
            t.values,
            if t.values == 0 {
                "-".to_string()
            } else {
                format!("{:?}", t.sum)
            },
            f64s(t.min),
            f64s(t.max)
        );
    }
    m
}

const README_HEAD: &str = "# STDF test fixtures

Small STDF files written by the project's own writer (`stdf-core`'s `Writer`), for the
parser, table-function and Python tests. **Do not edit by hand**: every file here, this README
included, is produced by `rust/stdf-gen/src/fixtures.rs`. Regenerate with

    cargo test -p stdf-gen -- --ignored regenerate_fixtures

and the (non-ignored) test `fixtures_match_committed` fails whenever the committed bytes differ
from what the current writer produces, so fixtures never drift from the writer.

Conventions in the numbers below:
* *parts* counts PRRs, i.e. every insertion including end-of-wafer re-probes (the same X/Y tested
  again on the same wafer, with PART_FLG supersede bits 0/1 clear); *final* counts use the last
  insertion of each (wafer, X, Y).
* *values*: one per PTR, RSLT_CNT per MPR (one per pin), none for FTR.
* Parametric results are multiples of a per-test power of two, so the sum of a test's values is
  exact in DOUBLE whatever the order of addition; sums are printed as the shortest decimal that
  reads back as the same f64 (Rust `{:?}`). Limits are the f32 values stored in the first record
  of each test (later PTR/MPR records carry no default data; an MPR's RTN_INDX is only in the
  first MPR of the test, pointing at the PMRs of the site that wrote it). \"none\" = no limit
  (OPT_FLAG bit 6/7).
* A test is executed on a part until its first failing test (stop on fail): PRR.NUM_TEST counts
  the result records of that part. PART_FLG bit 3 is set exactly when a result record of the part
  has TEST_FLG bit 7; hard bin 1 (\"PASS\", soft bins 1 and 2) is the only passing bin.
* Test numbers are 1000 + 10 x position in the flow; tests of the generator lots are named after
  their template (`IDD_ACTIVE`, `IDDQ`, `VREF`, ... for PTR; `CONTINUITY`, `IIL_PINS` for MPR;
  `SCAN_CHAIN`, `MBIST_RAM`, ... for FTR). PMR_INDX = (site index) x pins + pin + 1.
";

const MPR_FTR_MD: &str = "
## mpr_ftr.stdf

Hand-written, little-endian, one site (HEAD 1, SITE 1), no wafer (X/Y = -32768, PART_ID \"1\" to
\"3\", TEST_T 0). PMR 1-4 = A0, A1, A2, A3 (HEAD 1, SITE 1); PGR 32768 \"ABUS\" = [1, 2, 3, 4].
Lot MPRFTR, part type HANDPART, TEST_COD FT1. Every MPR has PARM_FLG 0xC0.

First MPR of each test (part 1) carries the default data:

| TEST_NUM | name | RTN_ICNT j | RSLT_CNT k | OPT_FLAG | LO/HI limit | START_IN / INCR_IN | RTN_INDX | UNITS / UNITS_IN |
|---|---|---|---|---|---|---|---|---|
| 100 | VTH_PINS | 4 | 4 | 0x0E | 0.25 / 1.0 | invalid (bit 1) | [1, 2, 3, 4] | V / \"\" |
| 110 | SWEEP_IDD | 0 | 5 | 0x0C | 0.0 / 4.0 | 1.0 / 0.5 (valid) | [] | A / V |
| 120 | PIN_STATES | 3 | 0 | 0xCE (no limits) | - | invalid | [1, 2, 3] | \"\" |
| 130 | PF_ONLY | 0 | 0 | 0xCE (no limits) | - | invalid | [] | \"\" |
| 140 | MISMATCH | 2 | 3 | 0x0E | 0.0 / 8.0 | invalid | [1, 2] | V / \"\" |

Parts (PIR ... PRR, in this order):

1. part \"1\": passes. VTH_PINS [0.5, 0.625, 0.75, 0.875] states [0,0,0,0]; SWEEP_IDD
   [0.125, 0.25, 0.5, 1.0, 2.0] (input 1.0, 1.5, 2.0, 2.5, 3.0 V); PIN_STATES states [1, 0, 1];
   PF_ONLY; MISMATCH states [0, 0] results [1.0, 2.0, 3.0]; FTR 200 FUNC_A pass (first FTR:
   PATG_NUM 1, SPIN_MAP 5 bits = 0x1E, PMR 1-4); FTR 210 FUNC_B pass (first: same SPIN_MAP).
   PRR: PART_FLG 0x00, NUM_TEST 7, HARD_BIN 1, SOFT_BIN 1.
2. part \"2\": VTH_PINS [0.5, 0.5, 0.5, 0.5]; SWEEP_IDD [0.25, 0.25, 0.5, 0.5, 1.0];
   PIN_STATES [0, 1, 0]; PF_ONLY; MISMATCH [4.0, 5.0, 6.0]; FUNC_A pass; FUNC_B **fails** with
   two FTRs (TEST_FLG 0x80, OPT_FLAG 0xC0 = all optional fields valid):
   * VECT_OFF 0: CYCL_CNT 1234, REL_VADR 1200, REPT_CNT 1, NUM_FAIL 2, XFAIL_AD 10,
     YFAIL_AD -3, RTN_INDX [2, 4], RTN_STAT [5, 6] (failed low, failed high), PGM_INDX [2, 4],
     PGM_STAT [2, 3], FAIL_PIN 5 bits = 0x14 (PMR 2 and 4), VECT_NAM pat_b, TIME_SET TS2,
     OP_CODE RPT, PROG_TXT \"prog\", RSLT_TXT \"2 pins failed\";
   * VECT_OFF 1: CYCL_CNT 1235, REL_VADR 1201, REPT_CNT 1, NUM_FAIL 1, XFAIL_AD 11,
     YFAIL_AD -3, RTN_INDX [4], RTN_STAT [6], PGM_ICNT 0, FAIL_PIN 5 bits = 0x10 (PMR 4).
   Later MPRs/FTRs carry no default data (no OPT_FLAG, no RTN_INDX, no PATG_NUM/SPIN_MAP).
   PRR: PART_FLG 0x08, NUM_TEST 7, HARD_BIN 3, SOFT_BIN 30.
3. part \"3\": VTH_PINS **fails**: [0.75, 0.75, 1.5, 0.75] states [0, 0, 6, 0], TEST_FLG 0x80
   (A2 = 1.5 V above the 1.0 V limit); testing stops. PRR: PART_FLG 0x08, NUM_TEST 1,
   HARD_BIN 2, SOFT_BIN 20.

Totals: 3 parts, 1 good. Result records: MPR 11 (VTH_PINS 3, others 2 each), FTR 5 (FUNC_A 2,
FUNC_B 3 of which 2 failing). MPR values: VTH_PINS 12 values, sum 2.75 + 2.0 + 3.75 = 8.5;
SWEEP_IDD 10 values, sum 3.875 + 2.5 = 6.375; PIN_STATES 0 values (6 states); PF_ONLY 0;
MISMATCH 6 values, sum 6.0 + 15.0 = 21.0. Elements under the rule of shared/docs/stdf-reference.md
§3.13 (max(j, k) per record, at least one):
VTH_PINS 12, SWEEP_IDD 10, PIN_STATES 6, PF_ONLY 0 (one row per record: 2), MISMATCH 6.
Summary (HEAD 255, SITE 255): TSR (OPT_FLAG 0xFF, no statistics) EXEC/FAIL = 100: 3/1,
110: 2/0, 120: 2/0, 130: 2/0, 140: 2/0, 200: 2/0, 210: 2/1 (executions, not FTR records);
HBR 1 \"PASS\" 1 P, 2 \"PARAMETRIC\" 1 F, 3 \"FUNCTIONAL\" 1 F; SBR 1 \"PASS\" 1 P, 20 \"VTH\" 1 F,
30 \"FUNC\" 1 F; PCR PART_CNT 3, RTST_CNT 0, ABRT_CNT 0, GOOD_CNT 1, FUNC_CNT 3; MRR FINISH_T
1700003600. Records: FAR 1, MIR 1, PMR 4, PGR 1, PIR 3, MPR 11, FTR 5, PRR 3, TSR 7, HBR 3, SBR 3,
PCR 1, MRR 1 = 44.
";

const V4_2007_MD: &str = "
## v4_2007.stdf

Hand-written, **big-endian** (CPU_TYPE 1), a V4-2007 scan file. Records in order (23):
FAR; VUR in the later layout (UPD_CNT 1, UPD_NAM [\"V4-2007\"]); VUR in the 2007 layout (single
UPD_NAM \"Scan:2007.1\"); MIR (lot SCAN2007, TEST_COD FT1, TST_TEMP \"25\"); PMR 1-4 (SI0, SO0,
CLK, SE; HEAD 1 SITE 1); PSR; NMR; CNR x2; SSR; CDR; PIR; STR x2; PRR; TSR; HBR; SBR; PCR; MRR.

* PSR: CONT_FLG 0, PSR_INDX 1, PSR_NAM \"scan_patterns\", OPT_FLG 0, TOTP_CNT 2, LOCP_CNT 2,
  PAT_BGN [0, 1000], PAT_END [999, 2999], PAT_FILE [scan_a.stil, scan_b.stil], PAT_LBL [A, B],
  FILE_UID [uid-a, uid-b], ATPG_DSC [\"atpg 1\", \"atpg 2\"], SRC_ID [s1, s2].
* NMR: CONT_FLG 0, TOTM_CNT 2, LOCM_CNT 2, PMR_INDX [1, 2], ATPG_NAM [scan_in[0], scan_out[0]].
* CNR: (CHN_NUM 1, BIT_POS 0, CELL_NAM S*n \"u_core/ff0\"), (1, 1, \"u_core/ff1\").
* SSR: SSR_NAM scan_top, CHN_CNT 1, CHN_LIST [1].
* CDR: CONT_FLG 0, CDR_INDX 1, CHN_NAM chain1, CHN_LEN 2, SIN_PIN 1, SOUT_PIN 2, MSTR_CNT 1,
  M_CLKS [3], SLAV_CNT 0, S_CLKS [], INV_VAL 0, LST_CNT 2, CELL_LST (S*n) [u_core/ff0, u_core/ff1].
* STR #1 (CONT_FLG 1: continued): TEST_NUM 500, HEAD 1, SITE 1, PSR_REF 1, TEST_FLG 0x80,
  LOG_TYP FULL, TEST_TXT SCAN_STUCK_AT, ALARM_ID/PROG_TXT/RSLT_TXT \"\", Z_VAL 0, FMU_FLG 0,
  MASK_MAP and FAL_MAP 4 bits = 0x00, CYC_CNT 3000 (U*8), TOTF_CNT 3, TOTL_CNT 3, CYC_BASE 0,
  BIT_BASE 0, COND_CNT 1, LIM_CNT 0, CYC_SIZE 4, PMR_SIZE 2, CHN_SIZE 1, PAT_SIZE 1, BIT_SIZE 2,
  U1/U2/U3_SIZE 1, UTX_SIZE 4, CAP_BGN 0, LIM_INDX [], LIM_SPEC [], COND_LST [\"VDD=0.9\"],
  CYC_OFST [120, 1500] (U*4), PMR_INDX [2, 2] (U*2), CHN_NUM [1, 1] (U*1), EXP_DATA [0, 1],
  CAP_DATA [1, 0], NEW_DATA [], PAT_NUM [0, 1] (U*1), BIT_POS [0, 1] (U*2), USR1/2/3 [],
  USER_TXT [\"f001\", \"f002\"] (C*4).
* STR #2 (CONT_FLG 0: last): same header fields, COND_CNT 0, COND_LST [], CYC_OFST [2001],
  PMR_INDX [2], CHN_NUM [1], EXP_DATA [1], CAP_DATA [0], PAT_NUM [1], BIT_POS [1],
  USER_TXT [\"f003\"]. Together: 3 logged fails (= TOTL_CNT), all on PMR 2 (SO0), chain 1.
* PRR: PART_FLG 0x08, NUM_TEST 1, HARD_BIN 3, SOFT_BIN 30, X/Y -32768, PART_ID \"1\".
* TSR (255/255): TEST_TYP space, TEST_NUM 500, EXEC_CNT 1, FAIL_CNT 1, TEST_NAM SCAN_STUCK_AT,
  OPT_FLAG 0xFF. HBR 3 \"FUNCTIONAL\" 1 F; SBR 30 \"SCAN\" 1 F; PCR PART_CNT 1, GOOD_CNT 0,
  FUNC_CNT 1.
";

const CORRUPT_MD: &str = "
## corrupt.stdf

Hand-written, little-endian, 100 bytes: valid records, then a record whose REC_LEN overruns the
end of the file.

| # | offset | record | length (header + REC_LEN) | content |
|---|---|---|---|---|
| 0 | 0 | FAR | 4 + 2 | CPU_TYPE 2, STDF_VER 4 |
| 1 | 6 | MIR | 4 + 32 | lot CORRUPT1, part P, node n, tester t, job j; stops after JOB_NAM |
| 2 | 42 | PIR | 4 + 2 | HEAD 1, SITE 1 |
| 3 | 48 | PTR | 4 + 15 | TEST_NUM 7, RESULT 0.5, TEST_TXT \"T1\"; stops after TEST_TXT |
| 4 | 67 | PRR | 4 + 13 | PART_FLG 0, NUM_TEST 1, HARD_BIN 1, SOFT_BIN 1, X 3, Y 4; stops after Y_COORD |
| 5 | 84 | DTR | header says REC_LEN 4096 | only 12 bytes follow (`0B` \"garbage....\") |

Reading it: 5 records, then error kind `Truncated`, offset 84, record `DTR`. One complete part
(passing, bin 1, result 0.5 for test 7).
";

const LATIN1_MD: &str = "
## latin1.stdf

Hand-written, little-endian, non-UTF-8 text (pitfall P9): MIR lot LATIN1 with TST_TEMP bytes
`32 35 B0 43` (Latin-1 \"25°C\"); one part on HEAD 1 SITE 1; PTR TEST_NUM 100 with TEST_TXT bytes
`49 5F 4C 45 41 4B 20 B5 41` (Latin-1 \"I_LEAK µA\"), RESULT 2^-20 = 9.5367431640625e-07 A,
TEST_FLG 0, PARM_FLG 0xC0, OPT_FLAG 0x0E, RES/LLM/HLM_SCAL 6, LO_LIMIT 0.0, HI_LIMIT
2^-16 = 1.52587890625e-05, UNITS A, formats %6.3f; a DTR with CP-1252 en dash 0x96:
`probe card \\x96 cleaned`; PRR PART_FLG 0, NUM_TEST 1, HARD/SOFT_BIN 1, PART_ID \"1\";
TSR (255/255, type P, 100, EXEC 1, FAIL 0, TEST_NAM = the same Latin-1 bytes, OPT_FLAG 0xFF);
HBR/SBR 1 \"PASS\" 1 P; PCR PART_CNT 1, GOOD_CNT 1; MRR. Decoded as UTF-8-else-Latin-1 the
texts are \"25°C\", \"I_LEAK µA\" and \"probe card \\u{96} cleaned\" (or an en dash with the CP-1252
mapping).
";

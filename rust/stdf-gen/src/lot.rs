//! A synthetic wafer-sort lot, written the way a multi-site tester writes one: see
//! [`generate_lot`].
//!
//! Stream layout:
//!
//! ```text
//! FAR ATR MIR SDR PMR(pins x sites) WCR
//! per wafer: WIR DTR
//!            touchdowns: PIR(all active sites) results(test by test, site by site) PRR(shuffled)
//!            re-probes:  the same X/Y again on its original site (no supersede flags)
//!            WRR
//! TSR(per site, then HEAD 255) HBR(per site, then 255) SBR(per site, then 255)
//! PCR(per site, then 255) MRR
//! ```
//!
//! Results are multiples of a per-test power of two (the "ADC step"), small enough in count
//! that every sum in [`Stats`] is exact in f64 whatever the order of addition: a query engine
//! summing `result` as DOUBLE must get exactly `TestStats::sum`.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::rc::Rc;

use stdf_core::records::{
    rec_name, Atr, Dtr, Far, Ftr, Hbr, Mir, Mpr, Mrr, Pcr, Pir, Pmr, Prr, Ptr, Sbr, Sdr, Tsr, Wcr,
    Wir, Wrr,
};
use stdf_core::writer::Writer;
use stdf_core::{ByteOrder, Dn, Record, Str};

use crate::rng::Rng;

mod emit;
mod program;
mod stats;
mod summary;

use program::*;
pub use stats::{Stats, TestStats, WaferStats};

/// What to generate.
#[derive(Clone, Debug)]
pub struct LotConfig {
    pub lot_id: String,
    pub part_typ: String,
    pub job_nam: String,
    /// MIR.TEST_COD: the test step ("CP1").
    pub test_cod: String,
    pub flow_id: String,
    /// Wafers to write at least.
    pub wafers: u32,
    /// Approximate number of dice on a wafer (a round wafer is laid out to about this many).
    pub dice_per_wafer: u32,
    /// Sites tested in parallel (1..=64).
    pub sites: u8,
    /// SITE_NUM of the first site (the others follow).
    pub first_site: u8,
    pub ptr_tests: u32,
    pub mpr_tests: u32,
    /// Pins per site (PMRs, MPR elements, FTR pins).
    pub pins: u16,
    pub ftr_tests: u32,
    pub order: ByteOrder,
    pub seed: u64,
    /// Keep adding wafers until the stream has at least this many MiB (uncompressed).
    pub target_mb: Option<f64>,
    /// Re-probe some failing dice at the end of each wafer.
    pub retest: bool,
    /// Write PIRs (false: results and PRRs only, as some testers do; pitfall P26).
    pub write_pir: bool,
    /// MIR.SETUP_T; every other time stamp follows from it.
    pub start_t: u32,
}

impl Default for LotConfig {
    fn default() -> Self {
        LotConfig {
            lot_id: "SYN0001".into(),
            part_typ: "SYNPART-A1".into(),
            job_nam: "SYNPART_CP1".into(),
            test_cod: "CP1".into(),
            flow_id: "P1".into(),
            wafers: 2,
            dice_per_wafer: 500,
            sites: 4,
            first_site: 1,
            ptr_tests: 12,
            mpr_tests: 2,
            pins: 8,
            ftr_tests: 3,
            order: ByteOrder::Little,
            seed: 1,
            target_mb: None,
            retest: true,
            write_pir: true,
            start_t: 1_700_000_000,
        }
    }
}

impl LotConfig {
    fn validate(&self) -> io::Result<()> {
        let bad = |m: &str| Err(io::Error::new(io::ErrorKind::InvalidInput, m.to_string()));
        if self.sites == 0 || self.sites > 64 {
            return bad("sites must be 1..=64");
        }
        if self.first_site as u32 + self.sites as u32 > 255 {
            return bad("site numbers must stay below 255");
        }
        if self.pins == 0 || self.pins as u32 * self.sites as u32 > 32_000 {
            return bad("pins must be >= 1 and pins x sites <= 32000");
        }
        if self.dice_per_wafer == 0 {
            return bad("dice_per_wafer must be >= 1");
        }
        if self.ptr_tests + self.mpr_tests + self.ftr_tests > 5000 {
            return bad("at most 5000 tests");
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Output with byte and record counting
// ---------------------------------------------------------------------------------------------

struct Counting<W> {
    inner: W,
    n: Rc<Cell<u64>>,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let k = self.inner.write(b)?;
        self.n.set(self.n.get() + k as u64);
        Ok(k)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

struct Out<W: Write> {
    w: Writer<Counting<W>>,
    bytes: Rc<Cell<u64>>,
    counts: BTreeMap<String, u64>,
    records: u64,
}

impl<W: Write> Out<W> {
    fn new(w: W, order: ByteOrder) -> Self {
        let bytes = Rc::new(Cell::new(0));
        Out {
            w: Writer::new(
                Counting {
                    inner: w,
                    n: bytes.clone(),
                },
                order,
            ),
            bytes,
            counts: BTreeMap::new(),
            records: 0,
        }
    }
    fn put(&mut self, r: Record) -> io::Result<()> {
        self.w.write(&r)?;
        let (t, s) = r.codes();
        *self
            .counts
            .entry(rec_name(t, s).unwrap_or("UNKNOWN").to_string())
            .or_default() += 1;
        self.records += 1;
        Ok(())
    }
    fn bytes(&self) -> u64 {
        self.bytes.get()
    }
}

// ---------------------------------------------------------------------------------------------
// The test program
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Param {
    units: &'static str,
    scal: i8,
    fmt: &'static str,
    mean: f64,
    sigma: f64,
    /// Resolution: values are multiples of this power of two.
    q: f64,
    lo: Option<f32>,
    hi: Option<f32>,
    lo_spec: Option<f32>,
    hi_spec: Option<f32>,
}

#[derive(Clone, Debug)]
enum Kind {
    Ptr(Param),
    Mpr(Param),
    Ftr { pattern: String, cycles: u32 },
}

#[derive(Clone, Debug)]
struct TestDef {
    num: u32,
    name: String,
    kind: Kind,
    sbin: u16,
    hbin: u16,
    /// Mean execution time in seconds (TSR.TEST_TIM).
    time: f32,
}

impl TestDef {
    fn typ(&self) -> u8 {
        match self.kind {
            Kind::Ptr(_) => b'P',
            Kind::Mpr(_) => b'M',
            Kind::Ftr { .. } => b'F',
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, Default)]
struct Acc {
    exec: u64,
    fail: u64,
    n: u64,
    sum: f64,
    sqrs: f64,
    min: Option<f64>,
    max: Option<f64>,
}

impl Acc {
    fn value(&mut self, v: f64) {
        self.n += 1;
        self.sum += v;
        self.sqrs += v * v;
        self.min = Some(self.min.map_or(v, |m| m.min(v)));
        self.max = Some(self.max.map_or(v, |m| m.max(v)));
    }
    fn merge(&mut self, o: &Acc) {
        self.exec += o.exec;
        self.fail += o.fail;
        self.n += o.n;
        self.sum += o.sum;
        self.sqrs += o.sqrs;
        if let Some(m) = o.min {
            self.min = Some(self.min.map_or(m, |x| x.min(m)));
        }
        if let Some(m) = o.max {
            self.max = Some(self.max.map_or(m, |x| x.max(m)));
        }
    }
}

#[derive(Clone, Debug, Default)]
struct SiteAcc {
    parts: u64,
    retests: u64,
    good: u64,
    func: u64,
    hbins: BTreeMap<u16, u64>,
    sbins: BTreeMap<u16, u64>,
}

impl SiteAcc {
    fn merge(&mut self, o: &SiteAcc) {
        self.parts += o.parts;
        self.retests += o.retests;
        self.good += o.good;
        self.func += o.func;
        for (k, v) in &o.hbins {
            *self.hbins.entry(*k).or_default() += v;
        }
        for (k, v) in &o.sbins {
            *self.sbins.entry(*k).or_default() += v;
        }
    }
}

/// One die being tested in a touchdown.
#[derive(Clone, Debug)]
struct Run {
    si: usize,
    x: i16,
    y: i16,
    retest: bool,
    /// Program index of a forced failure (a defect).
    defect: Option<usize>,
    failed_at: Option<usize>,
    num_test: u16,
    grade_b: bool,
}

struct Gen<'c, W: Write> {
    cfg: &'c LotConfig,
    out: Out<W>,
    rng: Rng,
    prog: Vec<TestDef>,
    defaults_done: Vec<bool>,
    t: u32,
    part_seq: u64,
    sites: Vec<SiteAcc>,
    acc: Vec<Vec<Acc>>,
    stats: Stats,
    /// (wafer, x, y) -> hard bin of the last insertion
    last: BTreeMap<(u32, i16, i16), u16>,
    /// first-insertion failures of the current wafer: (site index, x, y, hard bin)
    wafer_fails: Vec<(usize, i16, i16, u16)>,
    cur_wafer: WaferStats,
    wafer_no: u32,
}

fn site_num(cfg: &LotConfig, si: usize) -> u8 {
    cfg.first_site + si as u8
}

fn pmr_index(cfg: &LotConfig, si: usize, pin: u16) -> u16 {
    (si as u32 * cfg.pins as u32 + pin as u32 + 1) as u16
}

/// Dice of a round wafer with about `n` dice: (x, y) with 0 <= x, y < 2c, centre (c, c).
fn die_map(n: u32) -> (Vec<(i16, i16)>, i16, f64) {
    let r = (n as f64 / std::f64::consts::PI).sqrt().max(1.0);
    let c = r.ceil() as i32;
    let mut v = Vec::new();
    for y in -c..c {
        for x in -c..c {
            let (dx, dy) = (x as f64 + 0.5, y as f64 + 0.5);
            if dx * dx + dy * dy <= r * r {
                v.push(((x + c) as i16, (y + c) as i16));
            }
        }
    }
    (v, c as i16, r)
}

impl<'c, W: Write> Gen<'c, W> {
    fn new(cfg: &'c LotConfig, w: W) -> Self {
        let prog = build_program(cfg);
        let n = prog.len();
        Gen {
            cfg,
            out: Out::new(w, cfg.order),
            rng: Rng::new(cfg.seed),
            defaults_done: vec![false; n],
            prog,
            t: cfg.start_t,
            part_seq: 0,
            sites: vec![SiteAcc::default(); cfg.sites as usize],
            acc: vec![vec![Acc::default(); n]; cfg.sites as usize],
            stats: Stats::default(),
            last: BTreeMap::new(),
            wafer_fails: Vec::new(),
            cur_wafer: WaferStats::default(),
            wafer_no: 0,
        }
    }

    fn header(&mut self) -> io::Result<()> {
        let cfg = self.cfg;
        let cpu = if cfg.order == ByteOrder::Little { 2 } else { 1 };
        self.out.put(Record::Far(Far {
            cpu_type: Some(cpu),
            stdf_ver: Some(4),
            ..Default::default()
        }))?;
        let cmd = format!(
            "stdf-gen --seed {} --sites {} --wafers {} --dice {}",
            cfg.seed, cfg.sites, cfg.wafers, cfg.dice_per_wafer
        );
        self.out.put(Record::Atr(Atr {
            mod_tim: Some(cfg.start_t + 1),
            cmd_line: Some(Str(cmd.as_bytes())),
            ..Default::default()
        }))?;
        self.t = cfg.start_t + 120;
        let s = |x: &'c str| Some(Str(x.as_bytes()));
        self.out.put(Record::Mir(Mir {
            setup_t: Some(cfg.start_t),
            start_t: Some(self.t),
            stat_num: Some(1),
            mode_cod: Some(b'P'),
            rtst_cod: Some(b'N'),
            prot_cod: Some(b' '),
            burn_tim: Some(65535),
            cmod_cod: Some(b' '),
            lot_id: s(&cfg.lot_id),
            part_typ: s(&cfg.part_typ),
            node_nam: Some("tester01".into()),
            tstr_typ: Some("SYNTH-T2".into()),
            job_nam: s(&cfg.job_nam),
            job_rev: Some("1.4".into()),
            sblot_id: Some("".into()),
            oper_nam: Some("op17".into()),
            exec_typ: Some("SynthExec".into()),
            exec_ver: Some("2.4.1".into()),
            test_cod: s(&cfg.test_cod),
            tst_temp: Some("25".into()),
            user_txt: Some("".into()),
            aux_file: Some("".into()),
            pkg_typ: Some("".into()),
            famly_id: Some("SYNFAM".into()),
            date_cod: Some("".into()),
            facil_id: Some("SITE-A".into()),
            floor_id: Some("F2".into()),
            proc_id: Some("N28".into()),
            oper_frq: Some("".into()),
            spec_nam: Some("".into()),
            spec_ver: Some("".into()),
            flow_id: s(&cfg.flow_id),
            setup_id: Some("SETUP-1".into()),
            dsgn_rev: Some("B0".into()),
            ..Default::default()
        }))?;
        let site_nums: Vec<u8> = (0..cfg.sites as usize).map(|i| site_num(cfg, i)).collect();
        self.out.put(Record::Sdr(Sdr {
            head_num: Some(1),
            site_grp: Some(1),
            site_cnt: Some(cfg.sites),
            site_num: Some(site_nums),
            hand_typ: Some("PROBER-X".into()),
            hand_id: Some("PRB07".into()),
            card_typ: Some("PC-4S".into()),
            card_id: Some("CARD-0113".into()),
            load_typ: Some("".into()),
            load_id: Some("LB-2".into()),
            ..Default::default()
        }))?;
        for si in 0..cfg.sites as usize {
            for pin in 0..cfg.pins {
                let idx = pmr_index(cfg, si, pin);
                let chan = format!("CH{idx:03}");
                let phy = format!("P{}", pin + 1);
                let log = pin_name(pin);
                self.out.put(Record::Pmr(Pmr {
                    pmr_indx: Some(idx),
                    chan_typ: Some(0),
                    chan_nam: Some(Str(chan.as_bytes())),
                    phy_nam: Some(Str(phy.as_bytes())),
                    log_nam: Some(Str(log.as_bytes())),
                    head_num: Some(1),
                    site_num: Some(site_num(cfg, si)),
                    ..Default::default()
                }))?;
            }
        }
        let (_, c, _) = die_map(cfg.dice_per_wafer);
        self.out.put(Record::Wcr(Wcr {
            wafr_siz: Some(300.0),
            die_ht: Some(5.0),
            die_wid: Some(4.0),
            wf_units: Some(3),
            wf_flat: Some(b'D'),
            center_x: Some(c),
            center_y: Some(c),
            pos_x: Some(b'R'),
            pos_y: Some(b'D'),
            ..Default::default()
        }))
    }

    fn wafer(&mut self, n: u32) -> io::Result<()> {
        let cfg = self.cfg;
        self.wafer_no = n;
        let wafer_id = format!("{}-{:02}", cfg.lot_id, n + 1);
        self.cur_wafer = WaferStats {
            wafer_id: wafer_id.clone(),
            ..Default::default()
        };
        self.wafer_fails.clear();
        self.t += 45;
        self.out.put(Record::Wir(Wir {
            head_num: Some(1),
            site_grp: Some(1),
            start_t: Some(self.t),
            wafer_id: Some(Str(wafer_id.as_bytes())),
            ..Default::default()
        }))?;
        let note = format!("WAFER_START id={wafer_id} chuck_temp=25.0");
        self.out.put(Record::Dtr(Dtr {
            text_dat: Some(Str(note.as_bytes())),
            ..Default::default()
        }))?;

        let (dice, c, r) = die_map(cfg.dice_per_wafer);
        let mut rows: BTreeMap<i16, Vec<i16>> = BTreeMap::new();
        for (x, y) in &dice {
            rows.entry(*y).or_default().push(*x);
        }
        let ns = cfg.sites as i16;
        for (ri, (y, xs)) in rows.iter().enumerate() {
            let (xmin, xmax) = (*xs.iter().min().unwrap(), *xs.iter().max().unwrap());
            let mut starts: Vec<i16> = (0..)
                .map(|k| xmin + k * ns)
                .take_while(|x0| *x0 <= xmax)
                .collect();
            if ri % 2 == 1 {
                starts.reverse();
            }
            for x0 in starts {
                let mut td = Vec::new();
                for si in 0..cfg.sites as usize {
                    let x = x0 + si as i16;
                    if x <= xmax {
                        let (dx, dy) = ((x - c) as f64 + 0.5, (*y - c) as f64 + 0.5);
                        let rr = (dx * dx + dy * dy) / (r * r);
                        let p = 0.05 + 0.30 * rr * rr * rr;
                        td.push((si, x, *y, p, false));
                    }
                }
                self.touchdown(&td)?;
            }
        }
        if cfg.retest {
            let fails = std::mem::take(&mut self.wafer_fails);
            for (si, x, y, hb) in fails {
                let again = hb == 4 || self.rng.chance(0.3);
                if again {
                    let p = if hb == 4 { 0.3 } else { 0.6 };
                    self.touchdown(&[(si, x, y, p, true)])?;
                }
            }
        }
        self.t += 20;
        let w = self.cur_wafer.clone();
        let fabwf = format!("FW{:04}", n + 1);
        self.out.put(Record::Wrr(Wrr {
            head_num: Some(1),
            site_grp: Some(1),
            finish_t: Some(self.t),
            part_cnt: Some(w.parts as u32),
            rtst_cnt: Some(w.retests as u32),
            abrt_cnt: Some(0),
            good_cnt: Some(w.good as u32),
            func_cnt: Some(w.func as u32),
            wafer_id: Some(Str(wafer_id.as_bytes())),
            fabwf_id: Some(Str(fabwf.as_bytes())),
            frame_id: Some("".into()),
            mask_id: Some("MSK-7".into()),
            ..Default::default()
        }))?;
        self.stats.wafers.push(w);
        Ok(())
    }

    /// One touchdown: (site index, x, y, defect probability, re-probe).
    fn touchdown(&mut self, dice: &[(usize, i16, i16, f64, bool)]) -> io::Result<()> {
        let cfg = self.cfg;
        let np = self.prog.len();
        let mut runs: Vec<Run> = dice
            .iter()
            .map(|&(si, x, y, p, retest)| {
                let defect =
                    (np > 0 && self.rng.chance(p)).then(|| self.rng.below(np as u64) as usize);
                Run {
                    si,
                    x,
                    y,
                    retest,
                    defect,
                    failed_at: None,
                    num_test: 0,
                    grade_b: false,
                }
            })
            .collect();
        self.t += 1 + self.rng.below(2) as u32;
        if cfg.write_pir {
            for r in &runs {
                self.out.put(Record::Pir(Pir {
                    head_num: Some(1),
                    site_num: Some(site_num(cfg, r.si)),
                    ..Default::default()
                }))?;
            }
        }
        for ti in 0..np {
            for r in runs.iter_mut() {
                if r.failed_at.is_some() {
                    continue;
                }
                let (pass, first_value) = self.emit_test(ti, r.si, r.defect == Some(ti))?;
                r.num_test += 1;
                if !pass {
                    r.failed_at = Some(ti);
                } else if let (Kind::Ptr(p), Some(v)) = (&self.prog[ti].kind, first_value) {
                    // the first PTR decides the grade of a passing die
                    if self.prog[..ti]
                        .iter()
                        .all(|t| !matches!(t.kind, Kind::Ptr(_)))
                    {
                        r.grade_b = v > p.mean + p.sigma;
                    }
                }
            }
        }
        let mut order: Vec<usize> = (0..runs.len()).collect();
        self.rng.shuffle(&mut order);
        for k in order {
            let r = runs[k].clone();
            self.prr(&r)?;
        }
        Ok(())
    }

    fn prr(&mut self, r: &Run) -> io::Result<()> {
        let cfg = self.cfg;
        let (hb, sb) = match r.failed_at {
            Some(ti) => (self.prog[ti].hbin, self.prog[ti].sbin),
            None => (1, if r.grade_b { 2 } else { 1 }),
        };
        let failed = r.failed_at.is_some();
        self.part_seq += 1;
        let part_id = self.part_seq.to_string();
        let test_t = 40 + 3 * r.num_test as u32 + self.rng.below(25) as u32;
        self.out.put(Record::Prr(Prr {
            head_num: Some(1),
            site_num: Some(site_num(cfg, r.si)),
            part_flg: Some(if failed { 0x08 } else { 0x00 }),
            num_test: Some(r.num_test),
            hard_bin: Some(hb),
            soft_bin: Some(sb),
            x_coord: Some(r.x),
            y_coord: Some(r.y),
            test_t: Some(test_t),
            part_id: Some(Str(part_id.as_bytes())),
            ..Default::default()
        }))?;
        let key = (self.wafer_no, r.x, r.y);
        let is_retest = self.last.contains_key(&key);
        debug_assert_eq!(is_retest, r.retest);
        self.last.insert(key, hb);
        if failed && !r.retest {
            self.wafer_fails.push((r.si, r.x, r.y, hb));
        }
        let s = &mut self.sites[r.si];
        s.parts += 1;
        *s.hbins.entry(hb).or_default() += 1;
        *s.sbins.entry(sb).or_default() += 1;
        let w = &mut self.cur_wafer;
        w.parts += 1;
        if !is_retest {
            w.dice += 1;
        }
        if is_retest {
            s.retests += 1;
            w.retests += 1;
        }
        if hb == 1 {
            s.good += 1;
            w.good += 1;
        }
        if hb != 4 {
            s.func += 1;
            w.func += 1;
        }
        Ok(())
    }

    fn finish(mut self) -> io::Result<Stats> {
        self.out.w.flush()?;
        let mut st = self.stats;
        st.lot_id = self.cfg.lot_id.clone();
        st.byte_order = self.cfg.order.name();
        st.bytes = self.out.bytes();
        st.records = self.out.records;
        st.record_counts = self.out.counts;
        Ok(st)
    }
}

/// Write a synthetic wafer-sort lot to `w` and return exact counts of what was written.
///
/// The output depends only on `cfg` (the byte order changes the bytes, not the values).
pub fn generate_lot<W: Write>(cfg: &LotConfig, w: W) -> io::Result<Stats> {
    cfg.validate()?;
    let mut g = Gen::new(cfg, w);
    g.header()?;
    let target = cfg.target_mb.map(|mb| (mb * 1024.0 * 1024.0) as u64);
    let mut n = 0u32;
    while n < cfg.wafers || target.is_some_and(|t| g.out.bytes() < t) {
        g.wafer(n)?;
        n += 1;
    }
    g.summary()?;
    g.finish()
}

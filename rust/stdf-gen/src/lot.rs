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

/// Per-test totals over all sites and insertions.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TestStats {
    /// 'P' (PTR), 'M' (MPR) or 'F' (FTR).
    pub kind: char,
    pub name: String,
    /// Result records written.
    pub executions: u64,
    /// Records with TEST_FLG bit 7 (failed).
    pub failures: u64,
    /// Values written: one per PTR, RSLT_CNT per MPR, none for FTR.
    pub values: u64,
    /// Exact sum of the values (as f64 of the written f32).
    pub sum: f64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Resolved limits of the test (from its first record).
    pub lo_limit: Option<f32>,
    pub hi_limit: Option<f32>,
    pub units: String,
}

/// Per-wafer totals.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WaferStats {
    pub wafer_id: String,
    /// PRRs on the wafer, re-probes included (WRR.PART_CNT).
    pub parts: u64,
    /// PRRs in hard bin 1 (WRR.GOOD_CNT).
    pub good: u64,
    /// PRRs that re-probe an X/Y already tested on this wafer (WRR.RTST_CNT).
    pub retests: u64,
    /// PRRs not in the open/short hard bin 4 (WRR.FUNC_CNT).
    pub func: u64,
    /// Distinct X/Y tested.
    pub dice: u64,
}

/// Exact counts of what [`generate_lot`] wrote.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    pub lot_id: String,
    pub byte_order: &'static str,
    /// Bytes of the (uncompressed) stream.
    pub bytes: u64,
    pub records: u64,
    /// Records per type name.
    pub record_counts: BTreeMap<String, u64>,
    pub wafers: Vec<WaferStats>,
    /// PRRs (every insertion, re-probes included) = PCR.PART_CNT of the HEAD 255 PCR.
    pub parts: u64,
    /// PRRs with hard bin 1 (PART_FLG bit 3 clear).
    pub good_parts: u64,
    /// PRRs re-probing an X/Y tested earlier on the same wafer.
    pub retests: u64,
    /// Distinct (wafer, X, Y).
    pub dice: u64,
    /// Dice whose last insertion passed.
    pub final_good: u64,
    /// PRRs per SITE_NUM.
    pub parts_per_site: BTreeMap<u8, u64>,
    /// PRRs per HARD_BIN / SOFT_BIN (every insertion; equals the HEAD 255 HBR/SBR counts).
    pub hard_bins: BTreeMap<u16, u64>,
    pub soft_bins: BTreeMap<u16, u64>,
    /// Hard bin of the last insertion of each die.
    pub final_hard_bins: BTreeMap<u16, u64>,
    pub ptr_records: u64,
    pub mpr_records: u64,
    /// MPR elements (sum of RSLT_CNT).
    pub mpr_values: u64,
    pub ftr_records: u64,
    pub ftr_failures: u64,
    /// Per TEST_NUM.
    pub tests: BTreeMap<u32, TestStats>,
}

fn jstr(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn jopt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:?}")).unwrap_or_else(|| "null".into())
}

impl Stats {
    /// One JSON object per line: the lot, record counts, sites, bins, wafers, tests.
    pub fn json_lines(&self) -> Vec<String> {
        let mut v = vec![format!(
            "{{\"kind\":\"lot\",\"lot_id\":{},\"byte_order\":\"{}\",\"bytes\":{},\"records\":{},\"wafers\":{},\"parts\":{},\"good_parts\":{},\"retests\":{},\"dice\":{},\"final_good\":{},\"ptr_records\":{},\"mpr_records\":{},\"mpr_values\":{},\"ftr_records\":{},\"ftr_failures\":{}}}",
            jstr(&self.lot_id),
            self.byte_order,
            self.bytes,
            self.records,
            self.wafers.len(),
            self.parts,
            self.good_parts,
            self.retests,
            self.dice,
            self.final_good,
            self.ptr_records,
            self.mpr_records,
            self.mpr_values,
            self.ftr_records,
            self.ftr_failures
        )];
        let rc: Vec<String> = self
            .record_counts
            .iter()
            .map(|(k, n)| format!("{}:{n}", jstr(k)))
            .collect();
        v.push(format!("{{\"kind\":\"records\",{}}}", rc.join(",")));
        for (s, n) in &self.parts_per_site {
            v.push(format!("{{\"kind\":\"site\",\"site\":{s},\"parts\":{n}}}"));
        }
        for (b, n) in &self.hard_bins {
            let f = self.final_hard_bins.get(b).copied().unwrap_or(0);
            v.push(format!(
                "{{\"kind\":\"hard_bin\",\"bin\":{b},\"count\":{n},\"final\":{f}}}"
            ));
        }
        for (b, n) in &self.soft_bins {
            v.push(format!(
                "{{\"kind\":\"soft_bin\",\"bin\":{b},\"count\":{n}}}"
            ));
        }
        for w in &self.wafers {
            v.push(format!(
                "{{\"kind\":\"wafer\",\"wafer_id\":{},\"parts\":{},\"good\":{},\"retests\":{},\"dice\":{}}}",
                jstr(&w.wafer_id),
                w.parts,
                w.good,
                w.retests,
                w.dice
            ));
        }
        for (n, t) in &self.tests {
            v.push(format!(
                "{{\"kind\":\"test\",\"test_num\":{n},\"type\":\"{}\",\"name\":{},\"executions\":{},\"failures\":{},\"values\":{},\"sum\":{:?},\"min\":{},\"max\":{}}}",
                t.kind,
                jstr(&t.name),
                t.executions,
                t.failures,
                t.values,
                t.sum,
                jopt(t.min),
                jopt(t.max)
            ));
        }
        v
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

/// (name, units, RES_SCAL, format, mean, sigma, has a low limit)
type Template = (&'static str, &'static str, i8, &'static str, f64, f64, bool);

const PTR_TEMPLATES: &[Template] = &[
    ("IDD_ACTIVE", "A", 3, "%7.3f", 12.5e-3, 0.4e-3, true),
    ("IDDQ", "A", 6, "%7.2f", 2.0e-6, 0.2e-6, false),
    ("VREF", "V", 3, "%7.2f", 1.2, 0.004, true),
    ("F_OSC", "Hz", -6, "%7.3f", 32.0e6, 0.15e6, true),
    ("T_PD", "s", 9, "%6.3f", 2.5e-9, 0.05e-9, true),
    ("VOH", "V", 0, "%6.3f", 3.1, 0.02, true),
    ("VOL", "V", 3, "%6.1f", 0.15, 0.01, true),
    ("I_LEAK_IN", "A", 9, "%7.2f", 5e-9, 2e-9, true),
    ("GAIN", "dB", 0, "%6.2f", 20.0, 0.15, true),
    ("V_OFFSET", "V", 3, "%7.3f", 0.0, 0.8e-3, true),
];

const MPR_TEMPLATES: &[Template] = &[
    ("CONTINUITY", "V", 3, "%7.1f", -0.6, 0.02, true),
    ("IIL_PINS", "A", 9, "%7.2f", -2e-9, 1e-9, true),
    ("IIH_PINS", "A", 9, "%7.2f", 2e-9, 1e-9, true),
    ("VOH_PINS", "V", 0, "%6.3f", 2.9, 0.03, true),
];

const FTR_TEMPLATES: &[(&str, u32)] = &[
    ("SCAN_CHAIN", 40_960),
    ("MBIST_RAM", 131_072),
    ("FUNC_CORE", 8_192),
    ("JTAG_IDCODE", 256),
    ("PLL_LOCK", 2_048),
];

const PIN_NAMES: &[&str] = &["CLK", "RST_N", "SDA", "SCL", "TX", "RX", "MOSI", "MISO"];

fn pin_name(p: u16) -> String {
    match PIN_NAMES.get(p as usize) {
        Some(n) => n.to_string(),
        None => format!("IO{}", p as usize - PIN_NAMES.len()),
    }
}

/// Largest power of two <= sigma / 16.
fn quantum(sigma: f64) -> f64 {
    let target = sigma / 16.0;
    let mut q = 1.0f64;
    while q > target {
        q *= 0.5;
    }
    while q * 2.0 <= target {
        q *= 2.0;
    }
    q
}

fn param(t: &Template, k: usize, idx: usize) -> (String, Param) {
    let (name, units, scal, fmt, mean0, sigma, has_lo) = *t;
    let name = if k == 0 {
        name.to_string()
    } else {
        format!("{name}_{k}")
    };
    let mean = mean0 + sigma * k as f64;
    let lo = has_lo.then_some((mean - 4.5 * sigma) as f32);
    let hi = Some((mean + 4.5 * sigma) as f32);
    let spec = idx % 3 == 2;
    let p = Param {
        units,
        scal,
        fmt,
        mean,
        sigma,
        q: quantum(sigma),
        lo,
        hi,
        lo_spec: (spec && has_lo).then_some((mean - 6.0 * sigma) as f32),
        hi_spec: spec.then_some((mean + 6.0 * sigma) as f32),
    };
    (name, p)
}

/// MPRs first (contact and DC per pin), then PTRs with the FTRs spread among them.
fn build_program(cfg: &LotConfig) -> Vec<TestDef> {
    let mut kinds: Vec<(char, usize)> = Vec::new();
    for i in 0..cfg.mpr_tests as usize {
        kinds.push(('M', i));
    }
    let (np, nf) = (cfg.ptr_tests as usize, cfg.ftr_tests as usize);
    let mut fi = 0;
    let every = np.checked_div(nf).map_or(usize::MAX, |e| e.max(1));
    for i in 0..np {
        if fi < nf && i % every == 0 {
            kinds.push(('F', fi));
            fi += 1;
        }
        kinds.push(('P', i));
    }
    while fi < nf {
        kinds.push(('F', fi));
        fi += 1;
    }
    let mut prog = Vec::new();
    let mut param_bin = 0u16;
    for (pos, (c, i)) in kinds.into_iter().enumerate() {
        let num = 1000 + 10 * pos as u32;
        let time = 0.0005 * (1 + pos % 5) as f32;
        let d = match c {
            'M' => {
                let t = &MPR_TEMPLATES[i % MPR_TEMPLATES.len()];
                let (name, p) = param(t, i / MPR_TEMPLATES.len(), i);
                let (hbin, sbin) = if i == 0 {
                    (4, 40)
                } else {
                    param_bin += 1;
                    (2, 20 + (param_bin - 1) % 10)
                };
                TestDef {
                    num,
                    name,
                    kind: Kind::Mpr(p),
                    sbin,
                    hbin,
                    time,
                }
            }
            'P' => {
                let t = &PTR_TEMPLATES[i % PTR_TEMPLATES.len()];
                let (name, p) = param(t, i / PTR_TEMPLATES.len(), i);
                param_bin += 1;
                TestDef {
                    num,
                    name,
                    kind: Kind::Ptr(p),
                    sbin: 20 + (param_bin - 1) % 10,
                    hbin: 2,
                    time,
                }
            }
            _ => {
                let (pat, cycles) = FTR_TEMPLATES[i % FTR_TEMPLATES.len()];
                let k = i / FTR_TEMPLATES.len();
                let name = if k == 0 {
                    pat.to_string()
                } else {
                    format!("{pat}_{k}")
                };
                let pattern = format!("{}_pat", name.to_lowercase());
                TestDef {
                    num,
                    name,
                    kind: Kind::Ftr { pattern, cycles },
                    sbin: 30 + (i % 10) as u16,
                    hbin: 3,
                    time,
                }
            }
        };
        prog.push(d);
    }
    prog
}

/// (number, name, pass/fail) of each bin.
type BinList = Vec<(u16, String, u8)>;

/// Hard and soft bins of a program.
fn bin_names(prog: &[TestDef]) -> (BinList, BinList) {
    let mut hb: BTreeMap<u16, (String, u8)> = BTreeMap::new();
    let mut sb: BTreeMap<u16, (String, u8)> = BTreeMap::new();
    hb.insert(1, ("PASS".into(), b'P'));
    sb.insert(1, ("PASS".into(), b'P'));
    sb.insert(2, ("PASS_GRADE_B".into(), b'P'));
    for t in prog {
        let hn = match t.hbin {
            2 => "PARAMETRIC",
            3 => "FUNCTIONAL",
            _ => "OPEN_SHORT",
        };
        hb.insert(t.hbin, (hn.into(), b'F'));
        let sn = match t.sbin {
            40 => "CONTACT".to_string(),
            b @ 20..=29 => format!("PARAM_{b}"),
            b => format!("FUNC_{b}"),
        };
        sb.insert(t.sbin, (sn, b'F'));
    }
    let f = |m: BTreeMap<u16, (String, u8)>| m.into_iter().map(|(k, (n, pf))| (k, n, pf)).collect();
    (f(hb), f(sb))
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

fn quantize(x: f64, q: f64) -> f64 {
    (x / q).round() * q
}

fn normal_value(rng: &mut Rng, p: &Param) -> f64 {
    quantize(p.mean + p.sigma * rng.normal(), p.q)
}

/// A value well outside the limits (5 to 8 sigma), on a side that has a limit.
fn fail_value(rng: &mut Rng, p: &Param) -> f64 {
    let high = match (p.lo, p.hi) {
        (None, _) => true,
        (_, None) => false,
        _ => rng.chance(0.5),
    };
    let d = p.sigma * (5.0 + 3.0 * rng.f64());
    quantize(if high { p.mean + d } else { p.mean - d }, p.q)
}

/// (passes, PARM_FLG failure bits): bit 3 above the high limit, bit 4 below the low limit.
fn judge(p: &Param, v: f32) -> (bool, u8) {
    if p.lo.is_some_and(|l| v < l) {
        (false, 0x10)
    } else if p.hi.is_some_and(|h| v > h) {
        (false, 0x08)
    } else {
        (true, 0)
    }
}

/// OPT_FLAG of the first PTR/MPR of a test: bit1 (reserved in PTR; START_IN/INCR_IN invalid in
/// MPR) set, bit2/bit3 = no LO_SPEC/HI_SPEC, bit6/bit7 = no low/high limit; bits 0, 4, 5 clear
/// (RES_SCAL and the limits given here are valid).
fn opt_flag(p: &Param) -> u8 {
    let mut f = 0x02;
    if p.lo_spec.is_none() {
        f |= 0x04;
    }
    if p.hi_spec.is_none() {
        f |= 0x08;
    }
    if p.lo.is_none() {
        f |= 0x40;
    }
    if p.hi.is_none() {
        f |= 0x80;
    }
    f
}

/// PARM_FLG base: bits 6/7 = a result equal to a limit passes.
const PARM_EQ_PASS: u8 = 0xC0;

fn dn_bits(nbits: u16, set: &[u16]) -> Vec<u8> {
    let mut b = vec![0u8; (nbits as usize).div_ceil(8)];
    for &i in set {
        b[i as usize / 8] |= 1 << (i % 8);
    }
    b
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

    /// Write the record(s) of test `ti` for site index `si`; (passed, the PTR result).
    fn emit_test(
        &mut self,
        ti: usize,
        si: usize,
        force_fail: bool,
    ) -> io::Result<(bool, Option<f64>)> {
        let cfg = self.cfg;
        let first = !self.defaults_done[ti];
        self.defaults_done[ti] = true;
        let def = &self.prog[ti];
        let site = Some(site_num(cfg, si));
        let name = Some(Str(def.name.as_bytes()));
        let acc = &mut self.acc[si][ti];
        acc.exec += 1;
        match &def.kind {
            Kind::Ptr(p) => {
                let v = if force_fail {
                    fail_value(&mut self.rng, p)
                } else {
                    normal_value(&mut self.rng, p)
                };
                let v32 = v as f32;
                debug_assert_eq!(v32 as f64, v, "values must be exact in f32");
                let (pass, bits) = judge(p, v32);
                let mut r = Ptr {
                    test_num: Some(def.num),
                    head_num: Some(1),
                    site_num: site,
                    test_flg: Some(if pass { 0 } else { 0x80 }),
                    parm_flg: Some(PARM_EQ_PASS | bits),
                    result: Some(v32),
                    test_txt: name,
                    ..Default::default()
                };
                if first {
                    r.alarm_id = Some(Str(b""));
                    r.opt_flag = Some(opt_flag(p));
                    r.res_scal = Some(p.scal);
                    r.llm_scal = Some(p.scal);
                    r.hlm_scal = Some(p.scal);
                    r.lo_limit = Some(p.lo.unwrap_or(0.0));
                    r.hi_limit = Some(p.hi.unwrap_or(0.0));
                    r.units = Some(Str(p.units.as_bytes()));
                    r.c_resfmt = Some(Str(p.fmt.as_bytes()));
                    r.c_llmfmt = Some(Str(p.fmt.as_bytes()));
                    r.c_hlmfmt = Some(Str(p.fmt.as_bytes()));
                    if p.lo_spec.is_some() || p.hi_spec.is_some() {
                        r.lo_spec = Some(p.lo_spec.unwrap_or(0.0));
                        r.hi_spec = Some(p.hi_spec.unwrap_or(0.0));
                    }
                }
                self.out.put(Record::Ptr(r))?;
                acc.value(v);
                if !pass {
                    acc.fail += 1;
                }
                let t = self.stats.tests.entry(def.num).or_default();
                t.executions += 1;
                t.values += 1;
                t.sum += v;
                t.min = Some(t.min.map_or(v, |m| m.min(v)));
                t.max = Some(t.max.map_or(v, |m| m.max(v)));
                if !pass {
                    t.failures += 1;
                }
                self.stats.ptr_records += 1;
                Ok((pass, Some(v)))
            }
            Kind::Mpr(p) => {
                let n = cfg.pins;
                let bad = force_fail.then(|| self.rng.below(n as u64) as u16);
                let mut vals = Vec::with_capacity(n as usize);
                let mut stat = Vec::with_capacity(n as usize);
                let mut pass = true;
                let mut parm = PARM_EQ_PASS;
                for pin in 0..n {
                    let v = if bad == Some(pin) {
                        fail_value(&mut self.rng, p)
                    } else {
                        normal_value(&mut self.rng, p)
                    };
                    let v32 = v as f32;
                    debug_assert_eq!(v32 as f64, v);
                    let (ok, bits) = judge(p, v32);
                    // RTN_STAT: 0 = in limits, 5 = failed low, 6 = failed high
                    stat.push(match bits {
                        0x10 => 5,
                        0x08 => 6,
                        _ => 0,
                    });
                    if !ok && pass {
                        parm |= bits;
                    }
                    pass &= ok;
                    vals.push(v32);
                }
                let mut r = Mpr {
                    test_num: Some(def.num),
                    head_num: Some(1),
                    site_num: site,
                    test_flg: Some(if pass { 0 } else { 0x80 }),
                    parm_flg: Some(parm),
                    rtn_icnt: Some(n),
                    rslt_cnt: Some(n),
                    rtn_stat: Some(stat),
                    rtn_rslt: Some(vals.clone()),
                    test_txt: name,
                    ..Default::default()
                };
                if first {
                    r.alarm_id = Some(Str(b""));
                    r.opt_flag = Some(opt_flag(p));
                    r.res_scal = Some(p.scal);
                    r.llm_scal = Some(p.scal);
                    r.hlm_scal = Some(p.scal);
                    r.lo_limit = Some(p.lo.unwrap_or(0.0));
                    r.hi_limit = Some(p.hi.unwrap_or(0.0));
                    r.start_in = Some(0.0);
                    r.incr_in = Some(0.0);
                    r.rtn_indx = Some((0..n).map(|pin| pmr_index(cfg, si, pin)).collect());
                    r.units = Some(Str(p.units.as_bytes()));
                    r.units_in = Some(Str(b""));
                    r.c_resfmt = Some(Str(p.fmt.as_bytes()));
                    r.c_llmfmt = Some(Str(p.fmt.as_bytes()));
                    r.c_hlmfmt = Some(Str(p.fmt.as_bytes()));
                    if p.lo_spec.is_some() || p.hi_spec.is_some() {
                        r.lo_spec = Some(p.lo_spec.unwrap_or(0.0));
                        r.hi_spec = Some(p.hi_spec.unwrap_or(0.0));
                    }
                }
                self.out.put(Record::Mpr(r))?;
                if !pass {
                    acc.fail += 1;
                }
                let t = self.stats.tests.entry(def.num).or_default();
                t.executions += 1;
                if !pass {
                    t.failures += 1;
                }
                for v in vals {
                    let v = v as f64;
                    acc.value(v);
                    t.values += 1;
                    t.sum += v;
                    t.min = Some(t.min.map_or(v, |m| m.min(v)));
                    t.max = Some(t.max.map_or(v, |m| m.max(v)));
                }
                self.stats.mpr_records += 1;
                self.stats.mpr_values += n as u64;
                Ok((pass, None))
            }
            Kind::Ftr { pattern, cycles } => {
                let pass = !force_fail;
                let npmr = cfg.pins as u32 * cfg.sites as u32;
                let nbits = (npmr + 1) as u16;
                let mut r = Ftr {
                    test_num: Some(def.num),
                    head_num: Some(1),
                    site_num: site,
                    test_flg: Some(if pass { 0 } else { 0x80 }),
                    // bits 6-7 reserved (1); bit1 REL_VADR, bit2 REPT_CNT, bit4 X/YFAIL_AD,
                    // bit5 VECT_OFF invalid; CYCL_CNT and NUM_FAIL valid
                    opt_flag: Some(0xF6),
                    cycl_cnt: Some(*cycles),
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
                    vect_nam: Some(Str(pattern.as_bytes())),
                    time_set: Some(Str(b"TS1")),
                    op_code: Some(Str(b"")),
                    test_txt: name,
                    ..Default::default()
                };
                let fail_bytes;
                if !pass {
                    let k = 1 + self.rng.below(3.min(cfg.pins as u64)) as u16;
                    let mut pins: Vec<u16> = (0..cfg.pins).collect();
                    self.rng.shuffle(&mut pins);
                    let mut pins = pins[..k as usize].to_vec();
                    pins.sort_unstable();
                    let idx: Vec<u16> = pins.iter().map(|&p| pmr_index(cfg, si, p)).collect();
                    let stat: Vec<u8> = pins.iter().map(|_| 5 + self.rng.below(2) as u8).collect();
                    let vaddr = self.rng.below(*cycles as u64) as u32;
                    fail_bytes = dn_bits(nbits, &idx);
                    r.opt_flag = Some(0xF4); // REL_VADR valid too
                    r.cycl_cnt = Some(vaddr);
                    r.rel_vadr = Some(vaddr);
                    r.num_fail = Some(k as u32);
                    r.rtn_icnt = Some(k);
                    r.rtn_indx = Some(idx);
                    r.rtn_stat = Some(stat);
                    r.fail_pin = Some(Dn {
                        nbits,
                        bytes: &fail_bytes,
                    });
                }
                let spin;
                if first {
                    let all: Vec<u16> = (0..cfg.pins).map(|p| pmr_index(cfg, si, p)).collect();
                    spin = dn_bits(nbits, &all);
                    r.alarm_id = Some(Str(b""));
                    r.prog_txt = Some(Str(b""));
                    r.rslt_txt = Some(Str(b""));
                    r.patg_num = Some(1);
                    r.spin_map = Some(Dn {
                        nbits,
                        bytes: &spin,
                    });
                }
                self.out.put(Record::Ftr(r))?;
                if !pass {
                    acc.fail += 1;
                }
                let t = self.stats.tests.entry(def.num).or_default();
                t.executions += 1;
                if !pass {
                    t.failures += 1;
                    self.stats.ftr_failures += 1;
                }
                self.stats.ftr_records += 1;
                Ok((pass, None))
            }
        }
    }

    fn summary(&mut self) -> io::Result<()> {
        let cfg = self.cfg;
        self.t += 30;
        let ns = cfg.sites as usize;
        // TSR: per site, then all sites (HEAD 255)
        let mut total: Vec<Acc> = vec![Acc::default(); self.prog.len()];
        for si in 0..=ns {
            let (head, site) = if si < ns {
                (1, site_num(cfg, si))
            } else {
                (255, 255)
            };
            for (ti, def) in self.prog.iter().enumerate() {
                let a = if si < ns {
                    total[ti].merge(&self.acc[si][ti]);
                    self.acc[si][ti].clone()
                } else {
                    total[ti].clone()
                };
                let mut r = Tsr {
                    head_num: Some(head),
                    site_num: Some(site),
                    test_typ: Some(def.typ()),
                    test_num: Some(def.num),
                    exec_cnt: Some(a.exec as u32),
                    fail_cnt: Some(a.fail as u32),
                    alrm_cnt: Some(0),
                    test_nam: Some(Str(def.name.as_bytes())),
                    seq_name: Some(Str(b"MAIN")),
                    test_lbl: Some(Str(b"")),
                    // bits 3, 6, 7 reserved (1); statistics invalid unless a PTR with results
                    opt_flag: Some(0xFB),
                    test_tim: Some(def.time),
                    ..Default::default()
                };
                if matches!(def.kind, Kind::Ptr(_)) && a.n > 0 {
                    r.opt_flag = Some(0xC8);
                    r.test_min = a.min.map(|v| v as f32);
                    r.test_max = a.max.map(|v| v as f32);
                    r.tst_sums = Some(a.sum as f32);
                    r.tst_sqrs = Some(a.sqrs as f32);
                }
                self.out.put(Record::Tsr(r))?;
            }
        }
        let (hbins, sbins) = bin_names(&self.prog);
        let mut all = SiteAcc::default();
        for s in &self.sites {
            all.merge(s);
        }
        for is_hard in [true, false] {
            for si in 0..=ns {
                let (head, site, acc) = if si < ns {
                    (1, site_num(cfg, si), &self.sites[si])
                } else {
                    (255, 255, &all)
                };
                let list = if is_hard { &hbins } else { &sbins };
                for (bin, name, pf) in list {
                    let cnt = if is_hard {
                        acc.hbins.get(bin)
                    } else {
                        acc.sbins.get(bin)
                    };
                    let cnt = cnt.copied().unwrap_or(0) as u32;
                    let rec = if is_hard {
                        Record::Hbr(Hbr {
                            head_num: Some(head),
                            site_num: Some(site),
                            hbin_num: Some(*bin),
                            hbin_cnt: Some(cnt),
                            hbin_pf: Some(*pf),
                            hbin_nam: Some(Str(name.as_bytes())),
                            ..Default::default()
                        })
                    } else {
                        Record::Sbr(Sbr {
                            head_num: Some(head),
                            site_num: Some(site),
                            sbin_num: Some(*bin),
                            sbin_cnt: Some(cnt),
                            sbin_pf: Some(*pf),
                            sbin_nam: Some(Str(name.as_bytes())),
                            ..Default::default()
                        })
                    };
                    self.out.put(rec)?;
                }
            }
        }
        for si in 0..=ns {
            let (head, site, a) = if si < ns {
                (1, site_num(cfg, si), &self.sites[si])
            } else {
                (255, 255, &all)
            };
            self.out.put(Record::Pcr(Pcr {
                head_num: Some(head),
                site_num: Some(site),
                part_cnt: Some(a.parts as u32),
                rtst_cnt: Some(a.retests as u32),
                abrt_cnt: Some(0),
                good_cnt: Some(a.good as u32),
                func_cnt: Some(a.func as u32),
                ..Default::default()
            }))?;
        }
        self.out.put(Record::Mrr(Mrr {
            finish_t: Some(self.t),
            disp_cod: Some(b' '),
            usr_desc: Some(Str(b"synthetic lot")),
            ..Default::default()
        }))?;
        // totals into the stats
        let st = &mut self.stats;
        st.parts = all.parts;
        st.good_parts = all.good;
        st.retests = all.retests;
        st.hard_bins = all.hbins.clone();
        st.soft_bins = all.sbins.clone();
        for (si, s) in self.sites.iter().enumerate() {
            st.parts_per_site.insert(site_num(cfg, si), s.parts);
        }
        for hb in self.last.values() {
            *st.final_hard_bins.entry(*hb).or_default() += 1;
        }
        st.dice = self.last.len() as u64;
        st.final_good = st.final_hard_bins.get(&1).copied().unwrap_or(0);
        for def in &self.prog {
            let t = st.tests.entry(def.num).or_default();
            t.kind = def.typ() as char;
            t.name = def.name.clone();
            if let Kind::Ptr(p) | Kind::Mpr(p) = &def.kind {
                t.lo_limit = p.lo;
                t.hi_limit = p.hi;
                t.units = p.units.to_string();
            }
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

//! The test catalog of a stream: test identity, default ("semi-static") data and its
//! resolution per result record (stdf-reference.md §3.5-§3.7, §3.12), and PMR pin names (§3.13).

use super::{clean, IntMap};
use crate::records::{Ftr, Mpr, Ptr, StrRec, Tsr};
use crate::Str;

/// Kind of test record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestType {
    /// PTR 15/10: parametric test.
    Ptr,
    /// MPR 15/15: multiple-result parametric test.
    Mpr,
    /// FTR 15/20: functional test.
    Ftr,
    /// STR 15/30: scan test (V4-2007).
    Str,
}

impl TestType {
    /// One-letter code: `"P"`, `"M"`, `"F"` or `"S"`.
    pub fn code(self) -> &'static str {
        match self {
            TestType::Ptr => "P",
            TestType::Mpr => "M",
            TestType::Ftr => "F",
            TestType::Str => "S",
        }
    }
    /// The record's name: `"PTR"`, `"MPR"`, `"FTR"` or `"STR"`.
    pub fn rec_name(self) -> &'static str {
        match self {
            TestType::Ptr => "PTR",
            TestType::Mpr => "MPR",
            TestType::Ftr => "FTR",
            TestType::Str => "STR",
        }
    }
}

/// Default data of a test (from its first PTR/MPR/FTR), owned.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Defaults {
    /// OPT_FLAG: the optional-data flags of the first PTR/MPR.
    pub opt_flag: Option<u8>,
    /// RES_SCAL: display exponent of the result.
    pub res_scal: Option<i8>,
    /// LLM_SCAL: display exponent of the low limit.
    pub llm_scal: Option<i8>,
    /// HLM_SCAL: display exponent of the high limit.
    pub hlm_scal: Option<i8>,
    /// LO_LIMIT: low test limit (base units).
    pub lo_limit: Option<f32>,
    /// HI_LIMIT: high test limit (base units).
    pub hi_limit: Option<f32>,
    /// UNITS: base units of the result.
    pub units: Option<String>,
    /// C_RESFMT: printf format of the result.
    pub c_resfmt: Option<String>,
    /// C_LLMFMT: printf format of the low limit.
    pub c_llmfmt: Option<String>,
    /// C_HLMFMT: printf format of the high limit.
    pub c_hlmfmt: Option<String>,
    /// LO_SPEC: low specification limit.
    pub lo_spec: Option<f32>,
    /// HI_SPEC: high specification limit.
    pub hi_spec: Option<f32>,
    /// START_IN (MPR): starting input value of a sweep.
    pub start_in: Option<f32>,
    /// INCR_IN (MPR): increment of the input value of a sweep.
    pub incr_in: Option<f32>,
    /// RTN_INDX (MPR): PMR indexes of the pins returning results (the first MPR that has it).
    pub rtn_indx: Option<Vec<u16>>,
    /// UNITS_IN (MPR): units of the input value.
    pub units_in: Option<String>,
    /// PATG_NUM (FTR): pattern generator number (255, not used, is `None`).
    pub patg_num: Option<u8>,
}

/// TSR figures of a test: the HEAD 255 summary when present, else the sum over sites.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TsrInfo {
    /// TEST_TYP: test type (`P` parametric, `F` functional, `M` multiple-result; blank is `None`).
    pub test_typ: Option<String>,
    /// TEST_NAM: test name.
    pub test_nam: Option<String>,
    /// SEQ_NAME: sequencer (program segment) name.
    pub seq_name: Option<String>,
    /// TEST_LBL: test label or text.
    pub test_lbl: Option<String>,
    /// EXEC_CNT: number of test executions (4 294 967 295, missing, is `None`).
    pub exec_cnt: Option<u64>,
    /// FAIL_CNT: number of test failures (4 294 967 295, missing, is `None`).
    pub fail_cnt: Option<u64>,
    /// ALRM_CNT: number of alarmed tests (4 294 967 295, missing, is `None`).
    pub alrm_cnt: Option<u64>,
    /// TEST_TIM: average test execution time, seconds (`None` when OPT_FLAG bit 2 marks it invalid).
    pub test_tim: Option<f32>,
    /// TEST_MIN: lowest test result value (`None` when OPT_FLAG bit 0 marks it invalid).
    pub test_min: Option<f32>,
    /// TEST_MAX: highest test result value (`None` when OPT_FLAG bit 1 marks it invalid).
    pub test_max: Option<f32>,
    /// TST_SUMS: sum of the test result values (`None` when OPT_FLAG bit 4 marks it invalid).
    pub tst_sums: Option<f32>,
    /// TST_SQRS: sum of the squares of the test result values (`None` when OPT_FLAG bit 5 marks it invalid).
    pub tst_sqrs: Option<f32>,
    /// "summary" or "site_sum".
    pub source: Option<&'static str>,
}

/// One test of the catalog.
#[derive(Clone, Debug, Default)]
pub struct TestDef {
    /// 0-based id of the test in the catalog, in order of first appearance (index into `tests`).
    pub test_id: u32,
    /// TEST_NUM: the test number.
    pub test_num: u32,
    /// Kind of the first result record seen for the test.
    pub test_type: Option<TestType>,
    /// First non-empty TEST_TXT of its result records.
    pub test_txt: Option<String>,
    /// Default data, captured from the first result record.
    pub defaults: Defaults,
    /// Program section (innermost open BPS SEQ_NAME, non-empty) at a result of the test; filled in
    /// by the lot tables ([`lot`](crate::semantics::lot)), not by the catalog.
    pub seq_name: Option<String>,
    /// Record index of its first result record.
    pub first_record_index: Option<u64>,
    /// Executions: result records with TEST_FLG bit 4 (test not executed) clear.
    pub n_executed: u64,
    /// Failures: executed, TEST_FLG bit 6 (pass/fail invalid) clear and bit 7 (failed) set.
    pub n_failed: u64,
    /// Alarms: result records with TEST_FLG bit 0 (alarm) set.
    pub n_alarmed: u64,
    /// Some result record had LO_LIMIT or HI_LIMIT in force other than the defaults.
    pub limits_overridden: bool,
    /// Its TSR figures.
    pub tsr: TsrInfo,
    tsr_sites: TsrInfo,
    has_tsr_summary: bool,
    /// Has default data been captured from a result record.
    pub captured: bool,
}

impl TestDef {
    /// Catalog name: TSR name, else first TEST_TXT.
    pub fn name(&self) -> Option<&str> {
        self.tsr.test_nam.as_deref().or(self.test_txt.as_deref())
    }
    /// Name known while streaming results (TSRs come at the end): first TEST_TXT, else TSR.
    pub fn stream_name(&self) -> Option<&str> {
        self.test_txt.as_deref().or(self.tsr.test_nam.as_deref())
    }
}

/// Limits, scales and units in force for one result record (§3.5).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resolved<'r> {
    /// RES_SCAL in force: the record's when valid (OPT_FLAG bit 0 clear), else the default.
    pub res_scal: Option<i8>,
    /// LLM_SCAL in force, taken with LO_LIMIT.
    pub llm_scal: Option<i8>,
    /// HLM_SCAL in force, taken with HI_LIMIT.
    pub hlm_scal: Option<i8>,
    /// LO_LIMIT in force: none with OPT_FLAG bit 6; the record's when valid (bit 4 clear), else the default.
    pub lo_limit: Option<f32>,
    /// HI_LIMIT in force: none with OPT_FLAG bit 7; the record's when valid (bit 5 clear), else the default.
    pub hi_limit: Option<f32>,
    /// LO_SPEC in force: none with OPT_FLAG bit 2, else the record's, else the default.
    pub lo_spec: Option<f32>,
    /// HI_SPEC in force: none with OPT_FLAG bit 3, else the record's, else the default.
    pub hi_spec: Option<f32>,
    /// The record's own units when it carries non-empty ones, else None (use the test's).
    pub units_override: Option<Str<'r>>,
    /// START_IN in force (MPR; `None` for a PTR).
    pub start_in: Option<f32>,
    /// INCR_IN in force (MPR; `None` for a PTR).
    pub incr_in: Option<f32>,
    /// The resolved LO_LIMIT or HI_LIMIT differs from the test's default.
    pub limits_overridden: bool,
}

fn own(s: Option<Str>) -> Option<String> {
    s.map(|s| s.text().into_owned())
}

/// Text default field: present and non-empty in the record -> record; explicit "\0" -> "".
fn pick_text(r: Option<Str>, d: &Option<String>) -> Option<String> {
    match r {
        Some(s) if s.is_explicit_empty() => Some(String::new()),
        Some(s) if !s.is_empty() => Some(s.text().into_owned()),
        _ => d.clone(),
    }
}

/// The test catalog of one stream, keyed by test number.
#[derive(Debug, Default)]
pub struct Catalog {
    index: IntMap<u32, u32>,
    /// The tests, indexed by `test_id`.
    pub tests: Vec<TestDef>,
}

/// The parametric fields shared by PTR and MPR, for resolution.
struct ParamView<'a> {
    opt_flag: Option<u8>,
    res_scal: Option<i8>,
    llm_scal: Option<i8>,
    hlm_scal: Option<i8>,
    lo_limit: Option<f32>,
    hi_limit: Option<f32>,
    lo_spec: Option<f32>,
    hi_spec: Option<f32>,
    units: Option<Str<'a>>,
}

/// PTR and MPR share their parametric fields.
trait HasParams<'a> {
    fn params(&self) -> ParamView<'a>;
}

macro_rules! has_params {
    ($t:ident) => {
        impl<'a> HasParams<'a> for $t<'a> {
            fn params(&self) -> ParamView<'a> {
                ParamView {
                    opt_flag: self.opt_flag,
                    res_scal: self.res_scal,
                    llm_scal: self.llm_scal,
                    hlm_scal: self.hlm_scal,
                    lo_limit: self.lo_limit,
                    hi_limit: self.hi_limit,
                    lo_spec: self.lo_spec,
                    hi_spec: self.hi_spec,
                    units: self.units,
                }
            }
        }
    };
}
has_params!(Ptr);
has_params!(Mpr);

impl<'a> ParamView<'a> {
    fn of(r: &impl HasParams<'a>) -> Self {
        r.params()
    }
}

impl Catalog {
    /// The test with this number, created (with the next test_id) when first seen.
    #[inline]
    pub fn get_or_add(&mut self, test_num: u32) -> u32 {
        if let Some(&i) = self.index.get(&test_num) {
            return i;
        }
        let id = self.tests.len() as u32;
        self.tests.push(TestDef {
            test_id: id,
            test_num,
            ..Default::default()
        });
        self.index.insert(test_num, id);
        id
    }

    /// The `test_id` of a test number, if it has been seen.
    pub fn lookup(&self, test_num: u32) -> Option<u32> {
        self.index.get(&test_num).copied()
    }

    /// Forget every test (a new stream starts).
    pub fn clear(&mut self) {
        self.index.clear();
        self.tests.clear();
    }

    fn note_exec(t: &mut TestDef, ty: TestType, test_flg: Option<u8>, txt: Option<Str>, rec: u64) {
        if t.test_type.is_none() {
            t.test_type = Some(ty);
        }
        if t.first_record_index.is_none() {
            t.first_record_index = Some(rec);
        }
        if t.test_txt.is_none() {
            if let Some(s) = clean(txt) {
                t.test_txt = Some(s);
            }
        }
        let f = test_flg.unwrap_or(0);
        if f & 0x10 == 0 {
            t.n_executed += 1;
            if f & 0x40 == 0 && f & 0x80 != 0 {
                t.n_failed += 1;
            }
        }
        if f & 0x01 != 0 {
            t.n_alarmed += 1;
        }
    }

    fn resolve_param<'r>(t: &mut TestDef, p: &ParamView<'r>) -> Resolved<'r> {
        let d = if t.captured { Some(&t.defaults) } else { None };
        let dflt = |f: fn(&Defaults) -> Option<f32>| d.and_then(f);
        let flag = p.opt_flag;
        let bit = |b: u8| flag.map(|f| f & (1 << b) != 0).unwrap_or(false);
        let has_flag = flag.is_some();
        let res_scal = if p.res_scal.is_some() && has_flag && !bit(0) {
            p.res_scal
        } else {
            d.and_then(|d| d.res_scal)
        };
        let (lo_limit, llm_scal) = if bit(6) {
            (None, None)
        } else if p.lo_limit.is_some() && has_flag && !bit(4) {
            (p.lo_limit, p.llm_scal)
        } else {
            (dflt(|d| d.lo_limit), d.and_then(|d| d.llm_scal))
        };
        let (hi_limit, hlm_scal) = if bit(7) {
            (None, None)
        } else if p.hi_limit.is_some() && has_flag && !bit(5) {
            (p.hi_limit, p.hlm_scal)
        } else {
            (dflt(|d| d.hi_limit), d.and_then(|d| d.hlm_scal))
        };
        let lo_spec = if bit(2) {
            None
        } else {
            p.lo_spec.or_else(|| dflt(|d| d.lo_spec))
        };
        let hi_spec = if bit(3) {
            None
        } else {
            p.hi_spec.or_else(|| dflt(|d| d.hi_spec))
        };
        let units_override = match p.units {
            Some(s) if !s.is_empty() => Some(s),
            _ => None,
        };
        let r = Resolved {
            res_scal,
            llm_scal,
            hlm_scal,
            lo_limit,
            hi_limit,
            lo_spec,
            hi_spec,
            units_override,
            start_in: None,
            incr_in: None,
            limits_overridden: false,
        };
        if !t.captured {
            t.captured = true;
            t.defaults.opt_flag = flag;
            t.defaults.res_scal = res_scal;
            t.defaults.llm_scal = llm_scal;
            t.defaults.hlm_scal = hlm_scal;
            t.defaults.lo_limit = lo_limit;
            t.defaults.hi_limit = hi_limit;
            t.defaults.lo_spec = lo_spec;
            t.defaults.hi_spec = hi_spec;
            t.defaults.units = pick_text(p.units, &None);
        }
        r
    }

    fn finish_override<'r>(t: &mut TestDef, mut r: Resolved<'r>) -> Resolved<'r> {
        let d = &t.defaults;
        let same = |a: Option<f32>, b: Option<f32>| a.map(f32::to_bits) == b.map(f32::to_bits);
        r.limits_overridden = !same(r.lo_limit, d.lo_limit) || !same(r.hi_limit, d.hi_limit);
        if r.limits_overridden {
            t.limits_overridden = true;
        }
        // units equal to the default are not an override
        if let (Some(u), Some(du)) = (r.units_override, d.units.as_deref()) {
            if u.trimmed_bytes() == du.as_bytes() {
                r.units_override = None;
            }
        }
        r
    }

    /// Resolve a PTR against its test's defaults (capturing them on the first PTR).
    pub fn resolve_ptr<'r>(&mut self, r: &Ptr<'r>, record_index: u64) -> (u32, Resolved<'r>) {
        let id = self.get_or_add(r.test_num.unwrap_or(0));
        let t = &mut self.tests[id as usize];
        let first = !t.captured;
        Self::note_exec(t, TestType::Ptr, r.test_flg, r.test_txt, record_index);
        let res = Self::resolve_param(t, &ParamView::of(r));
        if first {
            t.defaults.c_resfmt = pick_text(r.c_resfmt, &None);
            t.defaults.c_llmfmt = pick_text(r.c_llmfmt, &None);
            t.defaults.c_hlmfmt = pick_text(r.c_hlmfmt, &None);
        }
        (id, Self::finish_override(t, res))
    }

    /// Resolve an MPR; also returns the pin indexes in force (record's, else the default).
    pub fn resolve_mpr<'r, 's>(
        &'s mut self,
        r: &'s Mpr<'r>,
        record_index: u64,
    ) -> (u32, Resolved<'r>, &'s [u16]) {
        let id = self.get_or_add(r.test_num.unwrap_or(0));
        let t = &mut self.tests[id as usize];
        let first = !t.captured;
        Self::note_exec(t, TestType::Mpr, r.test_flg, r.test_txt, record_index);
        let mut res = Self::resolve_param(t, &ParamView::of(r));
        let sweep_invalid = r.opt_flag.map(|f| f & 0x02 != 0).unwrap_or(true);
        if sweep_invalid || r.start_in.is_none() {
            res.start_in = if first { None } else { t.defaults.start_in };
            res.incr_in = if first { None } else { t.defaults.incr_in };
        } else {
            res.start_in = r.start_in;
            res.incr_in = r.incr_in;
        }
        if first {
            t.defaults.start_in = res.start_in;
            t.defaults.incr_in = res.incr_in;
            t.defaults.c_resfmt = pick_text(r.c_resfmt, &None);
            t.defaults.c_llmfmt = pick_text(r.c_llmfmt, &None);
            t.defaults.c_hlmfmt = pick_text(r.c_hlmfmt, &None);
            t.defaults.units_in = pick_text(r.units_in, &None);
        }
        if t.defaults.rtn_indx.is_none() {
            if let Some(ix) = &r.rtn_indx {
                t.defaults.rtn_indx = Some(ix.clone());
            }
        }
        let res = Self::finish_override(t, res);
        let t = &self.tests[id as usize];
        let pins: &[u16] = match &r.rtn_indx {
            Some(ix) if !ix.is_empty() || r.rtn_icnt.unwrap_or(0) == 0 => ix.as_slice(),
            _ => t.defaults.rtn_indx.as_deref().unwrap_or(&[]),
        };
        (id, res, pins)
    }

    /// Register an FTR execution (defaults: PATG_NUM only).
    pub fn note_ftr(&mut self, r: &Ftr, record_index: u64) -> u32 {
        let id = self.get_or_add(r.test_num.unwrap_or(0));
        let t = &mut self.tests[id as usize];
        let first = !t.captured;
        Self::note_exec(t, TestType::Ftr, r.test_flg, r.test_txt, record_index);
        if first {
            t.captured = true;
            t.defaults.patg_num = r.patg_num.filter(|&p| p != 255);
        }
        id
    }

    /// Register an STR execution.
    pub fn note_str(&mut self, r: &StrRec, record_index: u64) -> u32 {
        let id = self.get_or_add(r.test_num.unwrap_or(0));
        let t = &mut self.tests[id as usize];
        t.captured = true;
        Self::note_exec(t, TestType::Str, r.test_flg, r.test_txt, record_index);
        id
    }

    /// Register only the execution counts of a record whose body is not decoded.
    pub fn note_light(
        &mut self,
        ty: TestType,
        test_num: u32,
        test_flg: u8,
        record_index: u64,
    ) -> u32 {
        let id = self.get_or_add(test_num);
        let t = &mut self.tests[id as usize];
        Self::note_exec(t, ty, Some(test_flg), None, record_index);
        id
    }

    /// Fold a TSR into the catalog (§3.4: summary row wins over the sum of sites).
    pub fn add_tsr(&mut self, r: &Tsr) {
        let id = self.get_or_add(r.test_num.unwrap_or(0));
        let t = &mut self.tests[id as usize];
        let summary = r.head_num == Some(255);
        let cnt = |v: Option<u32>| v.filter(|&x| x != u32::MAX).map(|x| x as u64);
        let f = r.opt_flag;
        let all_zero = [r.test_min, r.test_max, r.tst_sums, r.tst_sqrs]
            .iter()
            .all(|v| v.map(|x| x == 0.0).unwrap_or(true))
            && cnt(r.exec_cnt).unwrap_or(0) > 0;
        let stat = |v: Option<f32>, b: u8| -> Option<f32> {
            match f {
                Some(fl) if fl & (1 << b) == 0 && !all_zero => v,
                _ => None,
            }
        };
        let typ = r
            .test_typ
            .filter(|&c| c != b' ' && c != 0)
            .map(|c| (c as char).to_string());
        let info = TsrInfo {
            test_typ: typ,
            test_nam: clean(r.test_nam),
            seq_name: clean(r.seq_name),
            test_lbl: clean(r.test_lbl),
            exec_cnt: cnt(r.exec_cnt),
            fail_cnt: cnt(r.fail_cnt),
            alrm_cnt: cnt(r.alrm_cnt),
            test_tim: stat(r.test_tim, 2),
            test_min: stat(r.test_min, 0),
            test_max: stat(r.test_max, 1),
            tst_sums: stat(r.tst_sums, 4),
            tst_sqrs: stat(r.tst_sqrs, 5),
            source: None,
        };
        if summary {
            t.has_tsr_summary = true;
            t.tsr = TsrInfo {
                source: Some("summary"),
                ..info
            };
        } else {
            let s = &mut t.tsr_sites;
            let add = |a: Option<u64>, b: Option<u64>| match (a, b) {
                (None, x) | (x, None) => x,
                (Some(x), Some(y)) => Some(x + y),
            };
            s.exec_cnt = add(s.exec_cnt, info.exec_cnt);
            s.fail_cnt = add(s.fail_cnt, info.fail_cnt);
            s.alrm_cnt = add(s.alrm_cnt, info.alrm_cnt);
            s.test_min = match (s.test_min, info.test_min) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            s.test_max = match (s.test_max, info.test_max) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            s.tst_sums = match (s.tst_sums, info.tst_sums) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
            s.tst_sqrs = match (s.tst_sqrs, info.tst_sqrs) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
            s.test_tim = s.test_tim.or(info.test_tim);
            s.test_typ = s.test_typ.take().or(info.test_typ);
            s.test_nam = s.test_nam.take().or(info.test_nam);
            s.seq_name = s.seq_name.take().or(info.seq_name);
            s.test_lbl = s.test_lbl.take().or(info.test_lbl);
            s.source = Some("site_sum");
            if !t.has_tsr_summary {
                t.tsr = t.tsr_sites.clone();
            }
        }
    }
}

/// Pin names by PMR index (LOG_NAM, else PHY_NAM, else CHAN_NAM).
#[derive(Debug, Default)]
pub struct Pins {
    /// Pin name by PMR_INDX.
    pub names: IntMap<u16, String>,
}

impl Pins {
    /// Take the name of a PMR (kept only when it has PMR_INDX and a non-blank name).
    pub fn add(&mut self, p: &crate::records::Pmr) {
        let name = clean(p.log_nam)
            .or_else(|| clean(p.phy_nam))
            .or_else(|| clean(p.chan_nam));
        if let (Some(i), Some(n)) = (p.pmr_indx, name) {
            self.names.insert(i, n);
        }
    }
    /// The name of pin `i`, if a PMR gave one.
    pub fn name(&self, i: u16) -> Option<&str> {
        self.names.get(&i).map(|s| s.as_str())
    }
}

/// Own a string value for a default field.
pub fn owned(s: Option<Str>) -> Option<String> {
    own(s)
}

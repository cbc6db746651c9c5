//! What a generated lot holds, counted while it is written: the expected values of the tests
//! (per test, per wafer, per lot) and their JSON form.

use super::*;

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

pub(super) fn jstr(s: &str) -> String {
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

pub(super) fn jopt(v: Option<f64>) -> String {
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

//! The rules applied at the end of a stream (stdf-reference.md §3.8-§3.11): retests and
//! `is_final`, bin names and a part's pass/fail, bin counts, wafer dice and yield, the stream's
//! counts. Pure functions of the rows, unit-tested in `tests.rs`.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::{Bin, Part, StreamSummary, Wafer, HARD, SOFT};
use crate::records::flags;
use crate::scan::ScanState;

/// Retests (§3.10): parts (in part order) with the same identity, (wafer, x, y) when both
/// coordinates are known, else PART_ID; the last one of each identity is final.
pub fn mark_retests(parts: &mut [Part]) {
    let mut last_by_key: HashMap<(Option<u16>, i32, i32, String), usize> = HashMap::new();
    for i in 0..parts.len() {
        let p = &parts[i];
        let key = match (p.x, p.y, &p.part_id) {
            (Some(x), Some(y), _) => Some((p.wafer_index, x as i32, y as i32, String::new())),
            (_, _, Some(id)) => Some((None, i32::MIN, i32::MIN, id.clone())),
            _ => None,
        };
        parts[i].is_final = true;
        if let Some(k) = key {
            if let Some(&prev) = last_by_key.get(&k) {
                parts[prev].is_final = false;
                parts[prev].superseded_by = Some(parts[i].part_index);
                parts[i].retest_index = parts[prev].retest_index.saturating_add(1);
            }
            last_by_key.insert(k, i);
        }
    }
}

/// Bin name and P/F per (type, number), each field from the summary record (HEAD 255) when
/// it gives one, else from the first per-site record that does, whatever their order (§3.11).
pub struct BinNames {
    bins: HashMap<(&'static str, u16), BinName>,
    /// catalog names of first failing tests, shared by the parts that name them
    tests: RefCell<HashMap<u32, Option<Arc<str>>>>,
}

/// Shared by every part of the bin: one allocation per bin, not per part.
#[derive(Default)]
struct BinName {
    summary_name: Option<Arc<str>>,
    summary_pf: Option<Arc<str>>,
    site_name: Option<Arc<str>>,
    site_pf: Option<Arc<str>>,
}

fn shared(s: &Option<String>) -> Option<Arc<str>> {
    s.as_deref().map(Arc::from)
}

impl BinNames {
    /// The names and P/F of a stream's HBR/SBR records.
    pub fn of(bins: &[Bin]) -> Self {
        let mut m: HashMap<(&'static str, u16), BinName> = HashMap::new();
        for b in bins {
            let e = m.entry((b.bin_type, b.bin_num)).or_default();
            let (name, pf) = if b.is_summary == Some(true) {
                (&mut e.summary_name, &mut e.summary_pf)
            } else {
                (&mut e.site_name, &mut e.site_pf)
            };
            if name.is_none() {
                *name = shared(&b.bin_name);
            }
            if pf.is_none() {
                *pf = shared(&b.bin_pf);
            }
        }
        BinNames {
            bins: m,
            tests: RefCell::default(),
        }
    }
    /// (name, P/F) of bin `num` of type `ty`.
    pub fn get(&self, ty: &'static str, num: u16) -> (Option<Arc<str>>, Option<Arc<str>>) {
        match self.bins.get(&(ty, num)) {
            Some(b) => (
                b.summary_name.clone().or(b.site_name.clone()),
                b.summary_pf.clone().or(b.site_pf.clone()),
            ),
            None => (None, None),
        }
    }
}

/// A part's bin names, pass/fail (§3.8: PART_FLG, else the hard bin's P/F, else the soft
/// bin's; nothing for an incomplete part) and first failing test's name.
pub fn derive_part(p: &mut Part, names: &BinNames, st: &ScanState) {
    if let Some(h) = p.hard_bin {
        (p.hbin_name, p.hbin_pf) = names.get(HARD, h);
    }
    if let Some(s) = p.soft_bin {
        (p.sbin_name, p.sbin_pf) = names.get(SOFT, s);
    }
    let (passed, src) = match p.part_flg.and_then(flags::part_passed) {
        Some(passed) => (Some(passed), Some("part_flg")),
        None => match (&p.hbin_pf, &p.sbin_pf) {
            (Some(h), _) => (Some(&**h == "P"), Some("hbin_pf")),
            (None, Some(s)) => (Some(&**s == "P"), Some("sbin_pf")),
            _ => (None, None),
        },
    };
    if p.complete {
        p.passed = passed;
        p.pass_source = src;
    } else {
        p.passed = None;
        p.pass_source = None;
    }
    if let Some(ff) = p.first_fail {
        let mut cache = names.tests.borrow_mut();
        let name = cache.entry(ff).or_insert_with(|| {
            st.catalog
                .lookup(ff)
                .and_then(|i| st.catalog.tests[i as usize].name().map(Arc::from))
        });
        p.first_fail_name = name.clone();
    }
}

/// Bin counts from the complete parts (per site for a per-site record, all sites for a summary),
/// plus a row for each bin seen only in PRRs; without HBR (SBR) records a bin's P/F is inferred
/// from its parts' PART_FLG.
pub fn count_bins(mut bins: Vec<Bin>, parts: &[Part], stream_index: u16) -> Vec<Bin> {
    let mut per_site: HashMap<(&'static str, u16, u8, u8), (u32, u32)> = HashMap::new();
    let mut per_bin: HashMap<(&'static str, u16), (u32, u32)> = HashMap::new();
    for p in parts.iter().filter(|p| p.complete) {
        for (ty, num) in [(HARD, p.hard_bin), (SOFT, p.soft_bin)] {
            let Some(num) = num else { continue };
            let e = per_site.entry((ty, num, p.head, p.site)).or_default();
            e.0 += 1;
            e.1 += p.is_final as u32;
            let e = per_bin.entry((ty, num)).or_default();
            e.0 += 1;
            e.1 += p.is_final as u32;
        }
    }
    for b in bins.iter_mut() {
        let (n, nf) = if b.is_summary == Some(true) {
            per_bin.get(&(b.bin_type, b.bin_num)).copied()
        } else {
            match (b.head, b.site) {
                (Some(h), Some(s)) => per_site.get(&(b.bin_type, b.bin_num, h, s)).copied(),
                _ => None,
            }
        }
        .unwrap_or((0, 0));
        b.n_parts = n;
        b.n_parts_final = nf;
    }
    let known: HashSet<(&'static str, u16)> =
        bins.iter().map(|b| (b.bin_type, b.bin_num)).collect();
    let mut extra: Vec<Bin> = per_bin
        .iter()
        .filter(|(k, _)| !known.contains(*k))
        .map(|(&(ty, num), &(n, nf))| Bin {
            stream_index,
            bin_type: ty,
            bin_num: num,
            n_parts: n,
            n_parts_final: nf,
            ..Default::default()
        })
        .collect();
    extra.sort_by_key(|b| (b.bin_type, b.bin_num));
    for ty in [HARD, SOFT] {
        if bins.iter().any(|b| b.bin_type == ty) {
            continue;
        }
        for b in extra.iter_mut().filter(|b| b.bin_type == ty) {
            b.bin_pf = inferred_pf(parts, ty, b.bin_num);
        }
    }
    bins.extend(extra);
    bins
}

/// P/F of a bin from the PART_FLG of its complete parts: 'P' when every one says passed, 'F'
/// when every one says failed, None when they differ or none says (a bin without HBR/SBR).
pub fn inferred_pf(parts: &[Part], ty: &str, num: u16) -> Option<String> {
    let mut seen = None;
    for p in parts.iter().filter(|p| p.complete) {
        let bin = if ty == HARD { p.hard_bin } else { p.soft_bin };
        if bin != Some(num) {
            continue;
        }
        let passed = p.part_flg.and_then(flags::part_passed)?;
        match seen {
            None => seen = Some(passed),
            Some(s) if s != passed => return None,
            _ => {}
        }
    }
    seen.map(|p| if p { "P" } else { "F" }.to_string())
}

/// Per wafer: complete parts, dice (distinct x, y; a final part without coordinates is a die of
/// its own, so that yield stays a fraction of dice), dice tested more than once, final passes.
pub fn count_wafers(wafers: &mut [Wafer], parts: &[Part]) {
    #[derive(Default)]
    struct Acc {
        n_parts: u32,
        dice: HashMap<(i16, i16), u32>,
        uncoordinated: u32,
        n_passed_final: u32,
    }
    let mut acc: HashMap<u16, Acc> = HashMap::new();
    for p in parts.iter().filter(|p| p.complete) {
        let Some(wi) = p.wafer_index else { continue };
        let a = acc.entry(wi).or_default();
        a.n_parts += 1;
        if let (Some(x), Some(y)) = (p.x, p.y) {
            *a.dice.entry((x, y)).or_default() += 1;
        } else if p.is_final {
            a.uncoordinated += 1;
        }
        if p.is_final && p.passed == Some(true) {
            a.n_passed_final += 1;
        }
    }
    for w in wafers.iter_mut() {
        if let Some(a) = acc.get(&w.wafer_index) {
            w.n_parts = a.n_parts;
            w.n_dice = a.dice.len() as u32 + a.uncoordinated;
            w.n_retested = a.dice.values().filter(|&&c| c > 1).count() as u32;
            w.n_passed_final = a.n_passed_final;
        }
    }
}

/// The stream's counts of parts, final parts and passes, wafers, sites and tests.
pub(super) fn summarize(s: &mut StreamSummary, parts: &[Part], n_wafers: usize, st: &ScanState) {
    s.n_parts = parts.len() as u32;
    s.n_parts_final = parts.iter().filter(|p| p.is_final && p.complete).count() as u32;
    s.n_passed_final = parts
        .iter()
        .filter(|p| p.is_final && p.passed == Some(true))
        .count() as u32;
    s.n_wafers = n_wafers as u16;
    let mut sites: Vec<(u8, u8)> = parts.iter().map(|p| (p.head, p.site)).collect();
    sites.sort_unstable();
    sites.dedup();
    s.n_sites = sites.len() as u16;
    s.n_tests = st.catalog.tests.len() as u32;
}

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
    let mut r = Retests::default();
    for p in parts.iter_mut() {
        r.mark(p);
    }
    for (i, p) in parts.iter_mut().enumerate() {
        r.settle(i, p);
    }
}

/// [`mark_retests`] part by part, for parts that are not all in memory: [`Retests::mark`]
/// each part in part order (its `retest_index`), then, once the stream is over,
/// [`Retests::settle`] each (its `is_final` and `superseded_by`). Memory: 4 bytes per part and
/// a small entry per identity, those of a wafer dropped once no later part can be on it
/// ([`Retests::wafer_closed`]).
#[derive(Default)]
pub struct Retests {
    /// (wafer, x, y) packed -> (position of its last part, that part's retest_index)
    pub(super) by_xy: HashMap<u64, (u32, u16)>,
    /// PART_ID -> the same
    by_id: HashMap<String, (u32, u16)>,
    /// per position: part_index of the next test of the same identity (NOT_SUPERSEDED: none)
    next: Vec<u32>,
    /// closed wafers whose identities are still kept: (wafer, parts opened before it closed)
    pub(super) closed: Vec<(u16, u32)>,
}

const NOT_SUPERSEDED: u32 = u32::MAX;

impl Retests {
    /// The next part of the stream, in part order: its retest_index.
    pub fn mark(&mut self, p: &mut Part) {
        let pos = self.next.len() as u32;
        self.next.push(NOT_SUPERSEDED);
        let slot = match (p.x, p.y, &p.part_id) {
            (Some(x), Some(y), _) => {
                let w = p.wafer_index.map_or(0, |w| w as u64 + 1);
                let key = w << 32 | (x as u16 as u64) << 16 | y as u16 as u64;
                self.by_xy.entry(key).or_insert((NOT_SUPERSEDED, 0))
            }
            (_, _, Some(id)) => {
                if !self.by_id.contains_key(id.as_str()) {
                    self.by_id.insert(id.clone(), (NOT_SUPERSEDED, 0));
                }
                match self.by_id.get_mut(id.as_str()) {
                    Some(e) => e,
                    None => return,
                }
            }
            _ => return,
        };
        let (prev, prev_retest) = *slot;
        if let Some(n) = self.next.get_mut(prev as usize) {
            *n = p.part_index;
            p.retest_index = prev_retest.saturating_add(1);
        }
        *slot = (pos, p.retest_index);
    }

    /// Wafer `wafer` was closed when `parts_before` parts had been opened: no later part can
    /// be on it (stdf-core gives a part the wafer open on its head when it opens).
    pub fn wafer_closed(&mut self, wafer: u16, parts_before: u32) {
        self.closed.push((wafer, parts_before));
    }

    /// Every part before part `below` was marked: forget the identities of the wafers closed
    /// before it.
    pub fn marked_below(&mut self, below: u32) {
        if !self.closed.iter().any(|&(_, n)| n <= below) {
            return;
        }
        let done: Vec<u64> = self
            .closed
            .iter()
            .filter(|&&(_, n)| n <= below)
            .map(|&(w, _)| w as u64 + 1)
            .collect();
        self.closed.retain(|&(_, n)| n > below);
        self.by_xy.retain(|k, _| !done.contains(&(k >> 32)));
    }

    /// The part at position `pos` (0-based, in part order), once every part was marked.
    pub fn settle(&self, pos: usize, p: &mut Part) {
        let next = self.next.get(pos).copied().unwrap_or(NOT_SUPERSEDED);
        p.is_final = next == NOT_SUPERSEDED;
        p.superseded_by = (next != NOT_SUPERSEDED).then_some(next);
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

/// What a stream's bins, wafers and summary count of its parts, gathered part by part (the
/// parts need not all be in memory): fed with every part once derived ([`derive_part`],
/// [`Retests::settle`]).
#[derive(Default)]
pub struct Tally {
    /// (type, bin, head, site) -> (complete parts, final ones)
    per_site: HashMap<(&'static str, u16, u8, u8), (u32, u32)>,
    /// (type, bin) -> (complete parts, final ones)
    per_bin: HashMap<(&'static str, u16), (u32, u32)>,
    /// (type, bin) -> what PART_FLG says of its complete parts: Some(passed) when they all
    /// agree, None when they differ or one says nothing
    flg_pf: HashMap<(&'static str, u16), Option<bool>>,
    wafers: HashMap<u16, WaferTally>,
    n_parts: u32,
    n_parts_final: u32,
    n_passed_final: u32,
    sites: HashSet<(u8, u8)>,
}

#[derive(Default)]
struct WaferTally {
    n_parts: u32,
    /// first tests of a coordinate (retest_index 0): the distinct (x, y)
    dice: u32,
    /// second tests of a coordinate: the (x, y) tested more than once
    retested: u32,
    uncoordinated: u32,
    n_passed_final: u32,
}

impl Tally {
    /// The tally of `parts` (derived and settled).
    pub fn of(parts: &[Part]) -> Self {
        let mut t = Tally::default();
        for p in parts {
            t.add(p);
        }
        t
    }

    /// One more part (derived and settled).
    pub fn add(&mut self, p: &Part) {
        self.n_parts += 1;
        self.sites.insert((p.head, p.site));
        let passed_final = p.is_final && p.passed == Some(true);
        self.n_passed_final += passed_final as u32;
        if !p.complete {
            return;
        }
        self.n_parts_final += p.is_final as u32;
        for (ty, num) in [(HARD, p.hard_bin), (SOFT, p.soft_bin)] {
            let Some(num) = num else { continue };
            let e = self.per_site.entry((ty, num, p.head, p.site)).or_default();
            e.0 += 1;
            e.1 += p.is_final as u32;
            let e = self.per_bin.entry((ty, num)).or_default();
            e.0 += 1;
            e.1 += p.is_final as u32;
            let passed = p.part_flg.and_then(flags::part_passed);
            self.flg_pf
                .entry((ty, num))
                .and_modify(|seen| {
                    if *seen != passed {
                        *seen = None
                    }
                })
                .or_insert(passed);
        }
        let Some(wi) = p.wafer_index else { return };
        let w = self.wafers.entry(wi).or_default();
        w.n_parts += 1;
        if p.x.is_some() && p.y.is_some() {
            // a part's coordinates are its identity on the wafer (§3.10, [`Retests`])
            w.dice += (p.retest_index == 0) as u32;
            w.retested += (p.retest_index == 1) as u32;
        } else if p.is_final {
            w.uncoordinated += 1;
        }
        w.n_passed_final += passed_final as u32;
    }

    /// P/F of a bin from the PART_FLG of its complete parts: 'P' when every one says passed,
    /// 'F' when every one says failed, None when they differ or none says.
    pub fn inferred_pf(&self, ty: &str, num: u16) -> Option<String> {
        let ty = if ty == HARD { HARD } else { SOFT };
        let seen = (*self.flg_pf.get(&(ty, num))?)?;
        Some(if seen { "P" } else { "F" }.to_string())
    }

    /// Bin counts from the complete parts (per site for a per-site record, all sites for a
    /// summary), plus a row for each bin seen only in PRRs; without HBR (SBR) records a bin's
    /// P/F is inferred from its parts' PART_FLG.
    pub fn bins(&self, mut bins: Vec<Bin>, stream_index: u16) -> Vec<Bin> {
        for b in bins.iter_mut() {
            let (n, nf) = if b.is_summary == Some(true) {
                self.per_bin.get(&(b.bin_type, b.bin_num)).copied()
            } else {
                match (b.head, b.site) {
                    (Some(h), Some(s)) => {
                        self.per_site.get(&(b.bin_type, b.bin_num, h, s)).copied()
                    }
                    _ => None,
                }
            }
            .unwrap_or((0, 0));
            b.n_parts = n;
            b.n_parts_final = nf;
        }
        let known: HashSet<(&'static str, u16)> =
            bins.iter().map(|b| (b.bin_type, b.bin_num)).collect();
        let mut extra: Vec<Bin> = self
            .per_bin
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
                b.bin_pf = self.inferred_pf(ty, b.bin_num);
            }
        }
        bins.extend(extra);
        bins
    }

    /// Per wafer: complete parts, dice (distinct x, y; a final part without coordinates is a
    /// die of its own, so that yield stays a fraction of dice), dice tested more than once,
    /// final passes.
    pub fn wafers(&self, wafers: &mut [Wafer]) {
        for w in wafers.iter_mut() {
            if let Some(a) = self.wafers.get(&w.wafer_index) {
                w.n_parts = a.n_parts;
                w.n_dice = a.dice + a.uncoordinated;
                w.n_retested = a.retested;
                w.n_passed_final = a.n_passed_final;
            }
        }
    }

    /// The stream's counts of parts, final parts and passes, wafers, sites and tests.
    pub(super) fn summarize(&self, s: &mut StreamSummary, n_wafers: usize, st: &ScanState) {
        s.n_parts = self.n_parts;
        s.n_parts_final = self.n_parts_final;
        s.n_passed_final = self.n_passed_final;
        s.n_wafers = n_wafers as u16;
        s.n_sites = self.sites.len() as u16;
        s.n_tests = st.catalog.tests.len() as u32;
    }
}

/// [`Tally::bins`] of `parts`.
pub fn count_bins(bins: Vec<Bin>, parts: &[Part], stream_index: u16) -> Vec<Bin> {
    Tally::of(parts).bins(bins, stream_index)
}

/// [`Tally::inferred_pf`] of `parts`.
pub fn inferred_pf(parts: &[Part], ty: &str, num: u16) -> Option<String> {
    Tally::of(parts).inferred_pf(ty, num)
}

/// [`Tally::wafers`] of `parts` (marked by [`mark_retests`]).
pub fn count_wafers(wafers: &mut [Wafer], parts: &[Part]) {
    Tally::of(parts).wafers(wafers)
}

//! Header-chain checks: a damaged REC_LEN is found where it is, and the walk resynchronises.
//!
//! STDF has no sync marker: each header's REC_LEN says where the next header is, so one wrong
//! REC_LEN sends a naive walk through garbage (pitfall P11). The reader therefore delivers a
//! record only once the headers after it chain, [`LOOKAHEAD`] of them or up to the end of the
//! data (each header is looked at once, as the look-ahead window moves):
//!
//! * a *strong* header has a type the spec defines and a REC_LEN that type can hold with every
//!   field at its longest ([`max_len`]); a FAR is strong only when complete (REC_LEN 2);
//! * a *weak* header (a type the spec does not define, as vendors write; a record longer than its
//!   fields allow, pitfall P2) is accepted when the chain after it reaches [`RUN`] strong headers
//!   in a row, or the end of the data exactly;
//! * a record whose fields end before its REC_LEN with whole records after them, up to its end,
//!   swallowed those records: its REC_LEN is damaged. What counts as records inside is neither
//!   a FAR/ATR/VUR code nor an empty record; unless they start exactly where the record's
//!   fields end, each is of a kind (a test record: of its test number) seen before (random bytes
//!   read as one record too often; a swallowed stretch repeats the file's records). A record
//!   cut short, as the spec allows, that swallowed one of a kind not seen before is not seen.
//!
//! When the chain breaks, the resync point is the first offset after the record being delivered
//! where [`RUN`] strong headers chain (or strong headers chain up to the end of the data), and the
//! damaged record is the last checked header before it: for a REC_LEN too long that is the record
//! whose span holds the resync point, for one too short the record whose end lands on garbage.
//! A header whose record runs past the end of the data with no resync point after it is a plain
//! truncation, reported as before. Nothing here runs on a clean stream but the window step.

use super::RecordReader;
use crate::codec::ByteOrder;
use crate::records::rec_name;

mod lengths;
pub use lengths::max_len;
use lengths::{any_ends_at, limit, read_u16, Usual};

/// Headers checked after the record delivered.
const LOOKAHEAD: u32 = 4;
/// Strong headers in a row that confirm a weak one or make a resync point.
const RUN: u32 = 4;
/// Headers, and bytes, followed at most while confirming weak ones (bounded work on garbage).
const WEAK_MAX: u32 = 4096;
const WEAK_BYTES: u64 = 1 << 20;
/// Bytes kept before the resync scan position (the rest of the damaged stretch is dropped).
const SCAN_KEEP: u64 = 1 << 20;

/// Why a record was judged damaged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// Its REC_LEN leads to `at`, where the headers do not chain (`bytes` found there).
    BadNext {
        /// Offset the REC_LEN leads to.
        at: u64,
        /// The 4 bytes found there.
        bytes: [u8; 4],
    },
    /// Its REC_LEN runs past the end of the data, yet valid records start inside it.
    Overrun,
    /// Valid records start inside it, at `at` (whole records up to its REC_LEN, or a chain
    /// running on past it).
    Swallowed {
        /// Offset of the first valid record found inside it.
        at: u64,
    },
}

/// A damaged record and the stretch of the stream skipped with it (warn mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Skip {
    /// Offset of the damaged record's header: the first byte skipped.
    pub from: u64,
    /// The resync point: offset of the next record delivered, or the end of the data.
    pub to: u64,
    /// REC_TYP of the damaged record's header as found.
    pub typ: u8,
    /// REC_SUB of the damaged record's header as found.
    pub sub: u8,
    /// REC_LEN of the damaged record's header as found.
    pub rec_len: u16,
    /// Why the record was judged damaged.
    pub cause: Cause,
}

impl Skip {
    /// Record name of the damaged header (`PTR`, `UNKNOWN 95/116`).
    pub fn label(&self) -> String {
        match rec_name(self.typ, self.sub) {
            Some(n) => n.to_string(),
            None => format!("UNKNOWN {}/{}", self.typ, self.sub),
        }
    }

    /// What is wrong with the record, in words (without the skipped range).
    pub fn cause_text(&self) -> String {
        let (name, from, len) = (self.label(), self.from, self.rec_len);
        match self.cause {
            Cause::BadNext { at, bytes: b } => format!(
                "{name} at byte {from} declares REC_LEN {len}, which leads to byte {at} where no valid record header chains (found {:02X} {:02X} {:02X} {:02X}): the REC_LEN or the header after it is damaged",
                b[0], b[1], b[2], b[3]
            ),
            Cause::Overrun => format!(
                "{name} at byte {from} declares REC_LEN {len}, running past the end of the data, yet valid records start inside it: its REC_LEN is damaged"
            ),
            Cause::Swallowed { at } => format!(
                "{name} at byte {from} declares REC_LEN {len}, but valid records start inside it at byte {at}: its REC_LEN is damaged"
            ),
        }
    }

    /// The warning text: the cause, the bytes skipped and where the walk resumed.
    pub fn message(&self, at_end: bool) -> String {
        let resumed = if at_end {
            "no valid record follows: the rest of the stream is lost".to_string()
        } else {
            format!("the walk resynchronised at byte {}", self.to)
        };
        format!(
            "{}; bytes {}..{} skipped ({} bytes), {resumed}",
            self.cause_text(),
            self.from,
            self.to,
            self.to - self.from
        )
    }
}

/// One header looked at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// A whole record is there.
    Rec {
        len: u16,
        typ: u8,
        sub: u8,
        strong: bool,
        /// Byte order after it (a FAR sets it).
        order: ByteOrder,
    },
    /// Exactly at the end of the data (end of the stream or of a member).
    End,
    /// The header, or the record it declares, runs past the end of the data; `known`: the header
    /// is complete and names a type the spec defines.
    Overrun { known: bool },
    /// The input failed before these bytes: nothing more can be looked at.
    Failed,
}

/// Outcome of a resync scan from one offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chain {
    Found,
    AtEnd,
    No,
    Failed,
}

/// A damaged record found ahead of the walk, handled when the walk reaches it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Damage {
    pub at: u64,
    resync: Option<u64>,
    cause: Cause,
    /// With no resync point after it, this is a plain truncation (the old report).
    truncation: bool,
    /// A resync chain must get past this offset (where the walk broke).
    past: u64,
}

/// State of the look-ahead window.
#[derive(Debug, Default)]
pub(super) struct Check {
    /// First header not checked yet: the chain is checked from the next record up to here.
    vpos: u64,
    /// The last header checked (before `vpos`).
    vprev: u64,
    /// Byte order at `vpos`.
    vorder: Option<ByteOrder>,
    /// `vorder` is big-endian (for the hot path).
    be: bool,
    /// Checked headers from the next record to deliver (inclusive) up to `vpos`.
    ahead: u32,
    /// How long records usually are in this file (a longer one is looked inside).
    seen: Usual,
    /// The window reached the end of the data (it restarts past a member's end).
    at_end: bool,
    /// Nothing more can be checked (truncation or input failure ahead, or checks are off).
    halted: bool,
    /// The window holds LOOKAHEAD checked headers after the next record, with nothing pending:
    /// the next check may take the fast path.
    steady: bool,
    pending: Option<Damage>,
}

/// What the walk must do with the record at hand.
pub(super) enum Verdict {
    Deliver,
    Damaged(Damage),
}

/// The resync point of a damage: an offset where records chain again, or the end of the data.
pub(super) enum Resync {
    At(u64),
    End(u64),
    /// No resync point: deliver as before (a plain truncation follows).
    None,
}

impl RecordReader {
    /// Bytes `[off, off + n)` of the stream in the buffer: Ok(index of `off`), or why not.
    fn peek(&mut self, off: u64, n: usize) -> Result<usize, Step> {
        let rel = (off - self.position()) as usize;
        if self.end - self.start < rel + n {
            let r = self.fill(rel + n);
            if self.end - self.start < rel + n {
                return Err(if r.is_err() {
                    Step::Failed
                } else if self.end - self.start == rel {
                    Step::End
                } else {
                    Step::Overrun { known: false }
                });
            }
        }
        Ok(self.start + rel)
    }

    /// Look at the header at `off` (stream offset, not before the record at hand).
    fn step(&mut self, off: u64, order: ByteOrder) -> Step {
        let i = match self.peek(off, 4) {
            Ok(i) => i,
            Err(s) => return s,
        };
        let h = [
            self.buf[i],
            self.buf[i + 1],
            self.buf[i + 2],
            self.buf[i + 3],
        ];
        let (typ, sub) = (h[2], h[3]);
        let far = typ == 0 && sub == 10 && (h[0..2] == [2, 0] || h[0..2] == [0, 2]);
        let order = match (far, h[0]) {
            (true, 2) => ByteOrder::Little,
            (true, _) => ByteOrder::Big,
            _ => order,
        };
        let len = read_u16(order, [h[0], h[1]]);
        let limit = max_len(typ, sub);
        match self.peek(off, 4 + len as usize) {
            Ok(_) => {}
            Err(Step::Failed) => return Step::Failed,
            Err(_) => {
                return Step::Overrun {
                    known: limit.is_some() && typ != 0,
                }
            }
        }
        let strong = limit.is_some_and(|m| len as usize <= m) && (far || (typ, sub) != (0, 10));
        Step::Rec {
            len,
            typ,
            sub,
            strong,
            order,
        }
    }

    /// Called for the record at `at` (its header read, the byte order known) before it is
    /// delivered: extends the checked window and says whether this record is the damaged one.
    #[inline]
    pub(super) fn check_record(&mut self, at: u64, order: ByteOrder) -> Verdict {
        if self.check.steady {
            if let Some(len) = self.check_next_fast() {
                // one more header checked, one record delivered: the window keeps its size
                let c = &mut self.check;
                c.vprev = c.vpos;
                c.vpos += 4 + len as u64;
                return Verdict::Deliver;
            }
        }
        self.check_record_slow(at, order)
    }

    /// The common case, with nothing to decide: the next header to check names a type the
    /// spec defines other than FAR/ATR/VUR, its record lies in the buffer and is no longer
    /// than usual ([`Usual`]; a longer one is looked inside for swallowed records). Its
    /// REC_LEN, else None (the general path decides).
    #[inline]
    fn check_next_fast(&mut self) -> Option<usize> {
        let c = &mut self.check;
        let i = (c.vpos - self.base) as usize;
        let b = &self.buf[..self.end];
        let h = b.get(i..i + 4)?;
        let (typ, sub) = (h[2], h[3]);
        let len = if c.be {
            u16::from_be_bytes([h[0], h[1]])
        } else {
            u16::from_le_bytes([h[0], h[1]])
        } as usize;
        let p = b.get(i + 4..i + 4 + len)?;
        c.seen.usual_fast(typ, sub, p).then_some(len)
    }

    fn check_record_slow(&mut self, at: u64, order: ByteOrder) -> Verdict {
        let c = &mut self.check;
        if c.at_end && !c.halted && at >= c.vpos {
            // past the end of a member: a new stream starts here
            c.at_end = false;
            c.vpos = at;
            c.vprev = at;
            c.ahead = 0;
        }
        if c.vorder.is_none() {
            c.vorder = Some(order);
            c.vpos = at;
            c.vprev = at;
        }
        if !c.at_end && !c.halted && c.pending.is_none() && c.ahead <= LOOKAHEAD {
            self.extend(at);
        }
        let c = &mut self.check;
        if let Some(d) = c.pending.filter(|d| d.at == at) {
            c.pending = None;
            c.steady = false;
            return Verdict::Damaged(d);
        }
        c.ahead = c.ahead.saturating_sub(1);
        c.steady = c.ahead == LOOKAHEAD && !c.at_end && !c.halted && c.pending.is_none();
        c.be = c.vorder == Some(ByteOrder::Big);
        Verdict::Deliver
    }

    /// Check headers until LOOKAHEAD are checked after `at`, the data ends, or damage is found.
    fn extend(&mut self, at: u64) {
        while self.check.ahead <= LOOKAHEAD {
            let v = self.check.vpos;
            let order = self.check.vorder.unwrap_or(ByteOrder::Little);
            match self.step(v, order) {
                Step::Rec {
                    len,
                    typ,
                    sub,
                    strong,
                    order,
                } => {
                    if strong && !self.usual_at(v, typ, sub, len) {
                        if let Some(e) = self.swallowed(v, len, order) {
                            self.check.pending = Some(Damage {
                                at: v,
                                resync: Some(e),
                                cause: Cause::Swallowed { at: e },
                                truncation: false,
                                past: 0,
                            });
                            return;
                        }
                        self.note_at(v, typ, sub, len);
                    }
                    if strong {
                        let c = &mut self.check;
                        c.vprev = v;
                        c.vpos = v + 4 + len as u64;
                        c.vorder = Some(order);
                        c.ahead += 1;
                    } else if !self.confirm(at, v, order) {
                        return;
                    }
                }
                Step::End => {
                    self.check.at_end = true;
                    return;
                }
                Step::Overrun { known } => {
                    self.broken(at, v, Some(known));
                    return;
                }
                Step::Failed => {
                    self.check.halted = true;
                    return;
                }
            }
        }
    }

    /// A weak header at `w` (already looked at): follow the chain after it until RUN strong
    /// headers in a row or the end of the data; then every header followed is checked (false:
    /// the chain is broken, the damage is pending). A weak run is garbage when strong records
    /// chain from inside the record before it, or from inside the run, to where it ends.
    fn confirm(&mut self, at: u64, w: u64, order: ByteOrder) -> bool {
        let (mut pos, mut order, mut n, mut run, mut run_start) = (w, order, 0u32, 0u32, w);
        let mut last = w;
        while run < RUN {
            if n >= WEAK_MAX || pos - w > WEAK_BYTES {
                self.broken(at, pos, None);
                return false;
            }
            match self.step(pos, order) {
                Step::Rec {
                    len,
                    typ,
                    sub,
                    strong,
                    order: o,
                } => {
                    if strong && !self.usual_at(pos, typ, sub, len) {
                        if let Some(e) = self.swallowed(pos, len, o) {
                            // a record of the run swallowed others: the damage is there
                            self.check.pending = Some(Damage {
                                at: pos,
                                resync: Some(e),
                                cause: Cause::Swallowed { at: e },
                                truncation: false,
                                past: 0,
                            });
                            break;
                        }
                        self.note_at(pos, typ, sub, len);
                    }
                    if strong {
                        if run == 0 {
                            run_start = pos;
                        }
                        run += 1;
                    } else {
                        run = 0;
                    }
                    last = pos;
                    pos += 4 + len as u64;
                    order = o;
                    n += 1;
                }
                Step::End => break,
                Step::Overrun { .. } => {
                    self.broken(at, pos, None);
                    return false;
                }
                Step::Failed => {
                    // nothing more to look at: deliver as the headers say, the failure follows
                    self.check.halted = true;
                    return false;
                }
            }
        }
        let q_end = if run > 0 { run_start } else { pos };
        let from = (self.check.vprev + 4).max(self.position());
        let prev_order = self.check.vorder.unwrap_or(order);
        if (from..q_end.saturating_sub(3)).any(|q| self.chain_inner(q, q_end, prev_order, false)) {
            self.broken(at, q_end, None);
            return false;
        }
        let c = &mut self.check;
        c.vprev = last;
        c.vpos = pos;
        c.vorder = Some(order);
        c.ahead += n;
        true
    }

    /// Offset after the record at `off` (its header looked at before), and the order after it.
    fn step_after(&mut self, off: u64) -> Option<(u64, ByteOrder)> {
        let order = self.order.unwrap_or(ByteOrder::Little);
        match self.step(off, order) {
            Step::Rec { len, order, .. } => Some((off + 4 + len as u64, order)),
            _ => None,
        }
    }

    fn usual_at(&mut self, off: u64, typ: u8, sub: u8, len: u16) -> bool {
        let i = self.start + (off - self.position()) as usize + 4;
        self.check
            .seen
            .usual(typ, sub, &self.buf[i..i + len as usize])
    }

    fn note_at(&mut self, off: u64, typ: u8, sub: u8, len: u16) {
        let i = self.start + (off - self.position()) as usize + 4;
        self.check
            .seen
            .note(typ, sub, &self.buf[i..i + len as usize]);
    }

    /// The record at `off` holds whole records that chain up to its end, from an offset inside
    /// it (its REC_LEN swallowed them): the first such offset, where it really ends. Looked for
    /// only when a header inside it declares a record ending exactly where it ends.
    fn swallowed(&mut self, off: u64, len: u16, order: ByteOrder) -> Option<u64> {
        let n = len as usize;
        let i = self.start + (off - self.position()) as usize + 4;
        let p = &self.buf[i..i + n];
        let last_fits = |q: usize| {
            let l = read_u16(order, [p[q], p[q + 1]]) as usize;
            q + 4 + l == n && limit(p[q + 2], p[q + 3]) as usize > l
        };
        if !any_ends_at(p, order) || !(0..n - 3).any(last_fits) {
            return None;
        }
        let end = off + 4 + n as u64;
        // where its fields end: records chaining from exactly there are what it swallowed; from
        // elsewhere, only records of kinds seen before count
        let (typ, sub) = (self.buf[i - 2], self.buf[i - 1]);
        let (_, c) = crate::records::Record::decode(typ, sub, &self.buf[i..i + n], order);
        let fields_end = off + 4 + c.pos() as u64;
        if fields_end < end && !c.was_short() && self.chain_inner(fields_end, end, order, false) {
            return Some(fields_end);
        }
        (off + 4..end - 3).find(|&q| self.chain_inner(q, end, order, true))
    }

    /// `chain_exact` with records that can be swallowed ones: no FAR/ATR/VUR code (a FAR is the
    /// start of a stream, and a record's own bytes read as one easily) and no empty record;
    /// `seen`: each of a kind (a test record: of its test number) seen before it. One
    /// header in a record's bytes that happens to chain is 1 in 10^5 for a kilobyte of random
    /// binary data, too often to call a valid record damaged; records that repeat the file's
    /// own lengths are what a swallowed stretch holds.
    fn chain_inner(&mut self, from: u64, limit: u64, order: ByteOrder, seen: bool) -> bool {
        let (mut pos, mut order) = (from, order);
        while pos < limit {
            match self.step(pos, order) {
                Step::Rec {
                    len,
                    typ,
                    sub,
                    strong: true,
                    order: o,
                } if typ != 0 && len > 0 && pos + 4 + len as u64 <= limit => {
                    if seen {
                        let i = self.start + (pos - self.position()) as usize + 4;
                        let p = &self.buf[i..i + len as usize];
                        if !self.check.seen.seen_kind(typ, sub, p) {
                            return false;
                        }
                    }
                    pos += 4 + len as u64;
                    order = o;
                }
                _ => return false,
            }
        }
        pos == limit && from < limit
    }

    /// Whether records chain from `q`: RUN strong headers and on past `past` (a chain that
    /// merges into the broken walk reaches its bad header instead), or strong ones up to the
    /// end of the data.
    fn chain_from(&mut self, q: u64, order: ByteOrder, past: u64) -> Chain {
        let (mut pos, mut order, mut n) = (q, order, 0u32);
        while n < RUN || pos <= past {
            match self.step(pos, order) {
                Step::Rec {
                    len,
                    strong: true,
                    order: o,
                    ..
                } => {
                    pos += 4 + len as u64;
                    order = o;
                    n += 1;
                }
                Step::End if n == 0 => return Chain::AtEnd,
                Step::End => return Chain::Found,
                Step::Failed => return Chain::Failed,
                _ => return Chain::No,
            }
        }
        Chain::Found
    }

    /// The chain breaks at `bad` (the first header not checked is `vpos`): find the damaged
    /// record among the checked ones from `at`, and the resync point when it lies in the bytes
    /// looked at. `overrun`: the header at `vpos` itself runs past the end (`Some(known)`).
    fn broken(&mut self, at: u64, bad: u64, overrun: Option<bool>) {
        let order = self.order.unwrap_or(ByteOrder::Little);
        let vpos = self.check.vpos;
        let mut resync = None;
        let mut q = at + 4;
        while q <= bad {
            match self.chain_from(q, order, bad) {
                Chain::Found => {
                    resync = Some(q);
                    break;
                }
                Chain::No => q += 1,
                _ => break,
            }
        }
        // the first header not checked is the damaged one when it names a type the spec defines
        // and the resync point lies inside the bytes its REC_LEN claims (a REC_LEN too long,
        // e.g. a PIR of REC_LEN 3), or when it runs past the end of the data; else the last
        // checked record before the resync point (a REC_LEN too short: its end lands on garbage)
        let own = self.span_at(vpos);
        let damaged = match resync {
            Some(p) if own.is_some_and(|(f, e)| f <= p && p < e) => vpos,
            Some(p) => self.last_checked_before(at, p),
            None if overrun == Some(true) => vpos,
            None => self.last_checked_before(at, vpos),
        };
        // a complete FAR cannot be the damaged record (its REC_LEN is 2 by definition, and it
        // opens the stream): the damage starts right after it
        let damaged = if self.is_far(damaged) && resync.is_none_or(|p| p > damaged + 6) {
            damaged + 6
        } else {
            damaged
        };
        let truncation = resync.is_none() && overrun.is_some();
        let cause = match (resync, self.step_after(damaged)) {
            (Some(p), _) if damaged == vpos => Cause::Swallowed { at: p },
            (_, Some((next, _))) => Cause::BadNext {
                at: next,
                bytes: self.bytes4(next),
            },
            _ => Cause::Overrun,
        };
        let resync = resync.filter(|&p| p > damaged);
        let c = &mut self.check;
        c.halted = true;
        c.pending = Some(Damage {
            at: damaged,
            resync,
            cause,
            truncation,
            past: bad,
        });
    }

    /// The payload span (first byte, end) the header at `off` claims, for a type the spec
    /// defines.
    fn span_at(&mut self, off: u64) -> Option<(u64, u64)> {
        let h = self.bytes4(off);
        if limit(h[2], h[3]) == 0 || h[2] == 0 {
            // a FAR/ATR/VUR code in mid-stream is most often garbage (a REC_LEN byte, then the
            // next record's 0 and type bytes): not taken for a record
            return None;
        }
        let len = read_u16(self.order.unwrap_or(ByteOrder::Little), [h[0], h[1]]);
        Some((off + 4, off + 4 + len as u64))
    }

    /// Whether a complete FAR header (REC_LEN 2 in either byte order) is at `off`.
    fn is_far(&mut self, off: u64) -> bool {
        let h = self.bytes4(off);
        h[2..] == [0, 10] && (h[..2] == [2, 0] || h[..2] == [0, 2])
    }

    /// Up to 4 bytes at `off` (zeros past the data).
    fn bytes4(&mut self, off: u64) -> [u8; 4] {
        let mut b = [0u8; 4];
        let rel = (off - self.position()) as usize;
        for (k, x) in b.iter_mut().enumerate() {
            if let Some(v) = self.buf[self.start..self.end].get(rel + k) {
                *x = *v;
            }
        }
        b
    }

    /// The last checked header before `limit`, walking from `at` (`at` itself at least).
    fn last_checked_before(&mut self, at: u64, limit: u64) -> u64 {
        let (mut pos, mut last) = (at, at);
        let mut order = self.order.unwrap_or(ByteOrder::Little);
        while pos < limit && pos < self.check.vpos {
            last = pos;
            match self.step(pos, order) {
                Step::Rec { len, order: o, .. } => {
                    pos += 4 + len as u64;
                    order = o;
                }
                _ => break,
            }
        }
        last
    }

    /// The walk is at the damaged record `d`: find its resync point (scanning on from it when
    /// the window did not see one), dropping the bytes scanned past.
    pub(super) fn resync(&mut self, d: &Damage) -> Resync {
        if let Some(p) = d.resync {
            return Resync::At(p);
        }
        let order = self.order.unwrap_or(ByteOrder::Little);
        let mut q = d.at + 4;
        loop {
            if q - self.position() > SCAN_KEEP {
                let drop = q - self.position() - SCAN_KEEP / 2;
                self.start += drop as usize;
            }
            match self.chain_from(q, order, d.past) {
                Chain::Found => return Resync::At(q),
                Chain::AtEnd if d.truncation => return Resync::None,
                Chain::AtEnd => return Resync::End(q),
                Chain::Failed if d.truncation => return Resync::None,
                Chain::Failed => return Resync::End(q),
                Chain::No => q += 1,
            }
        }
    }

    /// Skip to the resync point `to` (in the buffer) and restart the window there.
    pub(super) fn skip_to(&mut self, to: u64) {
        let n = (to.saturating_sub(self.position()) as usize).min(self.end - self.start);
        self.start += n;
        let seen = std::mem::take(&mut self.check.seen);
        self.check = Check {
            seen,
            vpos: to,
            vprev: to,
            vorder: self.order,
            ..Check::default()
        };
    }

    /// Record this damage as skipped: the skip the caller reports.
    pub(super) fn skip_of(&self, d: &Damage, to: u64, header: [u8; 4]) -> Skip {
        let order = self.order.unwrap_or(ByteOrder::Little);
        Skip {
            from: d.at,
            to,
            typ: header[2],
            sub: header[3],
            rec_len: read_u16(order, [header[0], header[1]]),
            cause: d.cause,
        }
    }

    /// Stop checking (the walk delivers records as their headers say).
    pub(super) fn halt_checks(&mut self) {
        self.check.halted = true;
        self.check.steady = false;
        self.check.pending = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_len_bounds_the_fixed_records() {
        // PIR: HEAD_NUM, SITE_NUM; PTR: 12 + 2 C*n + 12 + 4 C*n + 8; MPR has arrays
        assert_eq!(max_len(5, 10), Some(2));
        assert_eq!(max_len(15, 10), Some(12 + 2 * 256 + 12 + 4 * 256 + 8));
        assert!(max_len(15, 15).unwrap() > 65535);
        assert_eq!(max_len(0, 10), Some(2));
        assert_eq!(max_len(95, 116), None);
    }
}

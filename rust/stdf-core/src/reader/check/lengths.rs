//! Record lengths: the largest REC_LEN each record type can hold with every field at its
//! longest ([`max_len`]), how long records of a kind usually are in this file ([`Usual`]), and
//! whether whole records can hide inside a payload ([`any_ends_at`]).

use crate::codec::ByteOrder;
use crate::records::MAX_LENS;

/// How long the last record of its kind was, so that only a record longer than that is looked
/// inside for swallowed records: a PTR/MPR/FTR is compared with the last one of its test
/// number, any other record with the last one of its type (records of a kind mostly repeat
/// their length: a longer one is 0.1-15% of the records of real files).
#[derive(Debug, Default)]
pub(super) struct Usual {
    /// Last REC_LEN + 1 per type (`LIMITS` rows of 256 subtypes; 0 = none yet).
    types: Vec<u32>,
    /// Per test number and test record type, a 2-way cache of (key, last REC_LEN + 1): a test
    /// not found counts as seen for the first time.
    tests: Vec<[(u32, u32); 2]>,
}

/// Sets of the test cache.
const TEST_SETS: usize = 4096;

impl Usual {
    /// Where the last length of this record's kind is kept (a fresh slot: 0).
    #[inline]
    fn slot(&mut self, typ: u8, sub: u8, p: &[u8]) -> &mut u32 {
        if typ == 15 && matches!(sub, 10 | 15 | 20) && p.len() >= 4 {
            if self.tests.is_empty() {
                self.tests.resize(TEST_SETS, [(0, 0); 2]);
            }
            let key = Self::test_key(sub, p);
            let h = (key.wrapping_mul(0x9E37_79B1) >> 20) as usize;
            let set = &mut self.tests[h % TEST_SETS];
            if set[0].0 != key {
                if set[1].0 != key {
                    set[1] = (key, 0);
                }
                set.swap(0, 1);
            }
            return &mut set[0].1;
        }
        if self.types.is_empty() {
            self.types.resize(LIMITS.lim.len() << 8, 0);
        }
        &mut self.types[((LIMITS.row[typ as usize] as usize) << 8) | sub as usize]
    }
    /// `usual` for the hot path: false (the general path decides) for a FAR/ATR/VUR, a type the
    /// spec does not define, or before anything is noted.
    #[inline]
    pub(super) fn usual_fast(&mut self, typ: u8, sub: u8, p: &[u8]) -> bool {
        let len = p.len() as u32;
        let last = if typ == 15 && (sub == 10 || sub == 15 || sub == 20) && len >= 4 {
            if self.tests.is_empty() {
                return false;
            }
            let key = Self::test_key(sub, p);
            let set = &mut self.tests[(key.wrapping_mul(0x9E37_79B1) >> 20) as usize % TEST_SETS];
            if set[0].0 != key {
                return false;
            }
            &mut set[0].1
        } else {
            let row = LIMITS.row[typ as usize] as usize;
            if typ == 0 || row == 0 || LIMITS.lim[row][sub as usize] == 0 {
                return false;
            }
            match self.types.get_mut((row << 8) | sub as usize) {
                Some(l) => l,
                None => return false,
            }
        };
        let usual = len < *last || len < 4;
        if usual {
            *last = len + 1;
        }
        usual
    }

    /// The cache key of a test record: its test number (either byte order tells tests apart)
    /// and record type.
    #[inline]
    fn test_key(sub: u8, p: &[u8]) -> u32 {
        u32::from_le_bytes([p[0], p[1], p[2], p[3]]).rotate_left(2) ^ sub as u32
    }

    /// Whether the record (of a type the spec defines) is no longer than the last of its kind
    /// (or too short to hold a record); then it is noted as the last.
    #[inline]
    pub(super) fn usual(&mut self, typ: u8, sub: u8, p: &[u8]) -> bool {
        let len = p.len() as u32;
        let last = self.slot(typ, sub, p);
        let usual = len < *last || len < 4;
        if usual {
            *last = len + 1;
        }
        usual
    }

    /// Whether a record of its kind (a test record: of its test number) was seen.
    pub(super) fn seen_kind(&mut self, typ: u8, sub: u8, p: &[u8]) -> bool {
        *self.slot(typ, sub, p) != 0
    }

    /// Note the record as the last of its kind.
    pub(super) fn note(&mut self, typ: u8, sub: u8, p: &[u8]) {
        *self.slot(typ, sub, p) = p.len() as u32 + 1;
    }
}

/// REC_LEN bounds as a lookup table: `lim[row[typ]][sub]` is the largest REC_LEN + 1 (65 537:
/// any), 0 for codes the spec does not define (row 0).
struct Limits {
    row: [u8; 256],
    lim: [[u32; 256]; 9],
}

const fn limits() -> Limits {
    let mut l = Limits {
        row: [0; 256],
        lim: [[0; 256]; 9],
    };
    let (mut next, mut i) = (1u8, 0);
    while i < MAX_LENS.len() {
        let (t, s, m) = MAX_LENS[i];
        if l.row[t as usize] == 0 {
            l.row[t as usize] = next;
            next += 1;
        }
        let m = if m > 65536 { 65536 } else { m };
        l.lim[l.row[t as usize] as usize][s as usize] = m as u32 + 1;
        i += 1;
    }
    l
}

static LIMITS: Limits = limits();

/// Largest REC_LEN + 1 of a record type, 0 for a code the spec does not define.
#[inline]
pub(super) fn limit(typ: u8, sub: u8) -> u32 {
    LIMITS.lim[LIMITS.row[typ as usize] as usize][sub as usize]
}

/// Largest REC_LEN of a record type with every field at its longest (65 536: any); `None` for a
/// code the spec does not define.
pub fn max_len(typ: u8, sub: u8) -> Option<usize> {
    limit(typ, sub).checked_sub(1).map(|m| m as usize)
}

#[inline]
pub(super) fn read_u16(order: ByteOrder, b: [u8; 2]) -> u16 {
    match order {
        ByteOrder::Little => u16::from_le_bytes(b),
        ByteOrder::Big => u16::from_be_bytes(b),
    }
}

/// Whether some offset `q` of `p` holds a header (of a type other than 0) whose REC_LEN ends
/// its record exactly at the end of `p` (`q + 4 + REC_LEN == p.len()`): the only way whole
/// records can follow inside it. Without early exit, so that it vectorises.
pub(super) fn any_ends_at(p: &[u8], order: ByteOrder) -> bool {
    let n = p.len();
    if n < 4 {
        return false;
    }
    let m = n - 3;
    let (a, b, t) = (&p[..m], &p[1..m + 1], &p[2..m + 2]);
    let (lo, hi) = if order == ByteOrder::Little {
        (a, b)
    } else {
        (b, a)
    };
    // u16 arithmetic is exact here: REC_LEN + q + 4 == n has no wrapped solution below 65 536
    let end = n as u16;
    let mut acc = 0u8;
    for q in 0..m {
        let len = lo[q] as u16 | (hi[q] as u16) << 8;
        let at_end = len.wrapping_add(q as u16).wrapping_add(4) == end;
        acc |= (at_end as u8) & ((t[q] != 0) as u8);
    }
    acc != 0
}

//! Semantics the analysis tables need (stdf-reference.md §3): parts keyed by (head, site)
//! and wafers (`parts`), the test catalog with default ("semi-static") data resolution and
//! pins (`catalog`), the lot tables' rules: retests, pass/fail, bins, wafer yield (`lot`);
//! lot context and warnings here.

use std::collections::HashMap;

use crate::records::Mir;
use crate::Str;

mod catalog;
pub mod lot;
mod parts;

pub use catalog::{owned, Catalog, Defaults, Pins, Resolved, TestDef, TestType, TsrInfo};
pub use parts::{OpenPart, PartTracker, PirOutcome};

/// A tolerance decision or damage found while reading.
#[derive(Clone, Debug, PartialEq)]
pub struct Warning {
    /// 0-based ordinal of the record concerned, when there is one.
    pub record_index: Option<u64>,
    /// Offset in the decompressed stream where it was found, when known.
    pub byte_offset: Option<u64>,
    /// Short machine-readable code (`"truncated"`, `"trailing_garbage"`, ...).
    pub code: &'static str,
    /// What happened, in words.
    pub message: String,
}

/// Lot context of the current stream (from the MIR).
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// MIR LOT_ID: the lot ID.
    pub lot_id: Option<String>,
    /// MIR PART_TYP: the part type (product ID).
    pub part_typ: Option<String>,
    /// Test stage: MIR TEST_COD, else FLOW_ID.
    pub test_stage: Option<String>,
    /// MIR SBLOT_ID: the sublot ID.
    pub sblot_id: Option<String>,
}

/// Text of a derived string column: trimmed, empty -> None.
pub fn clean(s: Option<Str>) -> Option<String> {
    let s = s?;
    let t = s.text();
    let t = t.trim();
    if t.is_empty() {
        None
    } else {
        Some(t.to_string())
    }
}

impl Context {
    /// The context of a MIR (each string trimmed, blank ones `None`).
    pub fn from_mir(m: &Mir) -> Self {
        let stage = clean(m.test_cod).or_else(|| clean(m.flow_id));
        Context {
            lot_id: clean(m.lot_id),
            part_typ: clean(m.part_typ),
            test_stage: stage,
            sblot_id: clean(m.sblot_id),
        }
    }
}
/// A fast hasher for integer keys.
#[derive(Default, Clone, Copy)]
pub struct IntHasher(u64);
impl std::hash::Hasher for IntHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let v = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u32(&mut self, i: u32) {
        self.0 = (self.0.rotate_left(5) ^ i as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u16(&mut self, i: u16) {
        self.write_u32(i as u32)
    }
}
/// A `HashMap` hashed with [`IntHasher`].
pub type IntMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<IntHasher>>;

//! VUR 0/30 — Version Update Record (V4-2007). Two layouts exist: the 2007 addendum's single
//! `UPD_NAM C*n`, and the later `UPD_CNT U*1` + `UPD_NAM kxC*n`. The single-string layout is
//! taken when it accounts for the payload exactly and its name is not only NULs; otherwise the
//! count layout. (A payload of n then n zero bytes reads both ways: one name of n NULs, or n
//! empty names. It is taken as the count layout, which the writer gives for such names, so
//! every decoded VUR is written back to bytes that decode to it; a single-layout VUR built
//! with a name of only NULs, e.g. "", is what the writer cannot give back.)

use crate::codec::{Cur, Enc, Str};
use crate::records::{FieldKind, FieldValue};

/// VUR 0/30 — Version Update Record.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Vur<'a> {
    /// Number of names (count layout); `None` in the single-name 2007 layout.
    pub upd_cnt: Option<u8>,
    /// Extension names, e.g. "V4-2007", "Scan:2007.1".
    pub upd_nam: Option<Vec<Str<'a>>>,
}

impl<'a> Vur<'a> {
    /// REC_TYP.
    pub const TYP: u8 = 0;
    /// REC_SUB.
    pub const SUB: u8 = 30;
    /// (REC_TYP, REC_SUB).
    pub const CODE: (u8, u8) = (Self::TYP, Self::SUB);
    /// The spec's abbreviation.
    pub const NAME: &'static str = "VUR";
    /// Any REC_LEN (UPD_CNT names of up to 256 bytes each).
    pub const MAX_LEN: usize = 1 << 16;
    /// Field names (lower-case spec names) and shapes.
    pub const FIELDS: &'static [(&'static str, FieldKind)] =
        &[("upd_cnt", FieldKind::U1), ("upd_nam", FieldKind::ArrStr)];

    /// Decode a payload, choosing the layout as the module docs say.
    pub fn decode(c: &mut Cur<'a>) -> Self {
        let rest = c.rest();
        if rest.is_empty() {
            return Vur::default();
        }
        if rest[0] as usize + 1 == rest.len() && rest[1..].iter().any(|&b| b != 0) {
            let s = c.cn();
            return Vur { upd_cnt: None, upd_nam: s.map(|s| vec![s]) };
        }
        let n = c.u1();
        let names = c.arr_cn(n.unwrap_or(0) as usize);
        Vur { upd_cnt: n, upd_nam: names }
    }

    /// Encode: without `upd_cnt`, the first name alone as C*n (nothing if there is none);
    /// with it, `upd_cnt` then every name in `upd_nam`.
    pub fn encode(&self, e: &mut Enc) {
        let names = self.upd_nam.as_deref().unwrap_or(&[]);
        match self.upd_cnt {
            None => {
                if let Some(s) = names.first() {
                    e.cn(s)
                }
            }
            Some(n) => {
                e.u1(n);
                for s in names {
                    e.cn(s)
                }
            }
        }
    }

    /// Generic view of field `i` (index into `FIELDS`).
    pub fn field(&self, i: usize) -> FieldValue<'_, 'a> {
        match i {
            0 => FieldValue::U1(self.upd_cnt),
            1 => FieldValue::ArrStr(self.upd_nam.as_deref()),
            _ => FieldValue::Missing,
        }
    }
}

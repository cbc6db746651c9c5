//! Marker types for the STDF data type codes, mapping each to its Rust value type, its decoder
//! and its encoder. Record definitions name fields by these markers (`test_num: U4`).

use super::{FieldKind, FieldValue, GenValue};
use crate::codec::{Cur, Dn, Enc, Str};

/// One STDF data type: value type, decoder, encoder and generic view.
pub trait Kind<'a> {
    /// The Rust type a decoded field of this data type holds.
    type V: Clone + std::fmt::Debug + PartialEq;
    /// The field shape reported in `FIELDS` and by [`FieldValue`].
    const KIND: FieldKind;
    /// Most bytes one field of this type can take; arrays and S*n are unbounded within a
    /// record (65 536: more than any REC_LEN).
    const MAX_BYTES: usize = 1 << 16;
    /// Decode; `n` is the item count of an array (from its count field), `size` the item width
    /// of a kxU*f / kxC*f array.
    fn read(c: &mut Cur<'a>, n: usize, size: usize) -> Option<Self::V>;
    /// Encode; `None` writes the type's empty value (`n` empty items for arrays).
    fn write(e: &mut Enc, v: Option<&Self::V>, n: usize, size: usize);
    /// Borrow a field's value as the generic [`FieldValue`].
    fn view<'r>(v: &'r Option<Self::V>) -> FieldValue<'r, 'a>;
}

macro_rules! scalar_kind {
    ($(#[$m:meta])* $k:ident, $t:ty, $kind:ident, $rd:ident, $wr:ident, $zero:expr) => {
        $(#[$m])*
        pub struct $k;
        impl<'a> Kind<'a> for $k {
            type V = $t;
            const KIND: FieldKind = FieldKind::$kind;
            const MAX_BYTES: usize = std::mem::size_of::<$t>();
            #[inline]
            fn read(c: &mut Cur<'a>, _n: usize, _s: usize) -> Option<$t> {
                c.$rd()
            }
            fn write(e: &mut Enc, v: Option<&$t>, _n: usize, _s: usize) {
                e.$wr(v.copied().unwrap_or($zero))
            }
            fn view<'r>(v: &'r Option<$t>) -> FieldValue<'r, 'a> {
                FieldValue::$kind(*v)
            }
        }
    };
}

scalar_kind!(/// U*1
    U1, u8, U1, u1, u1, 0);
scalar_kind!(/// U*2
    U2, u16, U2, u2, u2, 0);
scalar_kind!(/// U*4
    U4, u32, U4, u4, u4, 0);
scalar_kind!(/// U*8 (V4-2007)
    U8, u64, U8, u8, u8, 0);
scalar_kind!(/// I*1
    I1, i8, I1, i1, i1, 0);
scalar_kind!(/// I*2
    I2, i16, I2, i2, i2, 0);
scalar_kind!(/// I*4
    I4, i32, I4, i4, i4, 0);
scalar_kind!(/// R*4
    R4, f32, R4, r4, r4, 0.0);
scalar_kind!(/// R*8
    R8, f64, R8, r8, r8, 0.0);
scalar_kind!(/// B*1 (flag byte)
    B1, u8, U1, u1, u1, 0);
scalar_kind!(/// C*1 (one character, space = missing)
    C1, u8, C1, c1, u1, b' ');

macro_rules! str_kind {
    ($(#[$m:meta])* $k:ident, $rd:ident, $wr:ident, $max:expr) => {
        $(#[$m])*
        pub struct $k;
        impl<'a> Kind<'a> for $k {
            type V = Str<'a>;
            const KIND: FieldKind = FieldKind::Str;
            const MAX_BYTES: usize = $max;
            #[inline]
            fn read(c: &mut Cur<'a>, _n: usize, _s: usize) -> Option<Str<'a>> {
                c.$rd()
            }
            fn write(e: &mut Enc, v: Option<&Str<'a>>, _n: usize, _s: usize) {
                e.$wr(v.unwrap_or(&Str(&[])))
            }
            fn view<'r>(v: &'r Option<Str<'a>>) -> FieldValue<'r, 'a> {
                FieldValue::Str(*v)
            }
        }
    };
}
str_kind!(/// C*n
    Cn, cn, cn, 1 + 255);
str_kind!(/// S*n (V4-2007)
    Sn, sn, sn, 2 + 65535);

/// B*n
pub struct Bn;
impl<'a> Kind<'a> for Bn {
    type V = &'a [u8];
    const KIND: FieldKind = FieldKind::Bytes;
    const MAX_BYTES: usize = 1 + 255;
    fn read(c: &mut Cur<'a>, _n: usize, _s: usize) -> Option<&'a [u8]> {
        c.bn()
    }
    fn write(e: &mut Enc, v: Option<&&'a [u8]>, _n: usize, _s: usize) {
        e.bn(v.copied().unwrap_or(&[]))
    }
    fn view<'r>(v: &'r Option<&'a [u8]>) -> FieldValue<'r, 'a> {
        FieldValue::Bytes(*v)
    }
}

/// D*n
pub struct DnK;
impl<'a> Kind<'a> for DnK {
    type V = Dn<'a>;
    const KIND: FieldKind = FieldKind::Dn;
    const MAX_BYTES: usize = 2 + 65535 / 8 + 1;
    fn read(c: &mut Cur<'a>, _n: usize, _s: usize) -> Option<Dn<'a>> {
        c.dn()
    }
    fn write(e: &mut Enc, v: Option<&Dn<'a>>, _n: usize, _s: usize) {
        e.dn(v.unwrap_or(&Dn::default()))
    }
    fn view<'r>(v: &'r Option<Dn<'a>>) -> FieldValue<'r, 'a> {
        FieldValue::Dn(*v)
    }
}

macro_rules! array_kind {
    ($(#[$m:meta])* $k:ident, $t:ty, $kind:ident, |$c:ident, $n:ident, $s:ident| $rd:expr, |$e:ident, $x:ident, $sz:ident| $wr:expr, $zero:expr) => {
        $(#[$m])*
        pub struct $k;
        impl<'a> Kind<'a> for $k {
            type V = Vec<$t>;
            const KIND: FieldKind = FieldKind::$kind;
            fn read($c: &mut Cur<'a>, $n: usize, $s: usize) -> Option<Vec<$t>> {
                $rd
            }
            #[allow(unused_variables)]
            fn write($e: &mut Enc, v: Option<&Vec<$t>>, n: usize, $sz: usize) {
                match v {
                    Some(items) => {
                        for $x in items.iter() {
                            $wr
                        }
                    }
                    None => {
                        for _ in 0..n {
                            let $x = &$zero;
                            $wr
                        }
                    }
                }
            }
            fn view<'r>(v: &'r Option<Vec<$t>>) -> FieldValue<'r, 'a> {
                FieldValue::$kind(v.as_deref())
            }
        }
    };
}

array_kind!(/// kxU*1
    AU1, u8, ArrU1, |c, n, _s| c.arr_u1(n), |e, x, _z| e.u1(*x), 0u8);
array_kind!(/// kxU*2
    AU2, u16, ArrU2, |c, n, _s| c.arr_u2(n), |e, x, _z| e.u2(*x), 0u16);
array_kind!(/// kxU*4
    AU4, u32, ArrU4, |c, n, _s| c.arr_u4(n), |e, x, _z| e.u4(*x), 0u32);
array_kind!(/// kxU*8
    AU8, u64, ArrU8, |c, n, _s| c.arr_u8(n), |e, x, _z| e.u8(*x), 0u64);
array_kind!(/// kxR*4
    AR4, f32, ArrR4, |c, n, _s| c.arr_r4(n), |e, x, _z| e.r4(*x), 0f32);
array_kind!(/// kxU*f: width from a size field
    AUf, u64, ArrU8, |c, n, s| c.arr_uf(n, s), |e, x, z| e.uf(*x, z), 0u64);
array_kind!(/// kxC*n
    ACn, Str<'a>, ArrStr, |c, n, _s| c.arr_cn(n), |e, x, _z| e.cn(x), Str(&[]));
array_kind!(/// kxS*n
    ASn, Str<'a>, ArrStr, |c, n, _s| c.arr_sn(n), |e, x, _z| e.sn(x), Str(&[]));
array_kind!(/// kxC*f: fixed width from a size field
    ACf, Str<'a>, ArrStr, |c, n, s| c.arr_cf(n, s), |e, x, z| e.cf(x, z), Str(&[]));

/// kxN*1: nibbles packed low first
pub struct AN1;
impl<'a> Kind<'a> for AN1 {
    type V = Vec<u8>;
    const KIND: FieldKind = FieldKind::ArrU1;
    fn read(c: &mut Cur<'a>, n: usize, _s: usize) -> Option<Vec<u8>> {
        c.arr_n1(n)
    }
    fn write(e: &mut Enc, v: Option<&Vec<u8>>, n: usize, _s: usize) {
        match v {
            Some(items) => e.n1s(items),
            None => e.n1s(&vec![0; n]),
        }
    }
    fn view<'r>(v: &'r Option<Vec<u8>>) -> FieldValue<'r, 'a> {
        FieldValue::ArrU1(v.as_deref())
    }
}

/// GDR V*n list
pub struct Vn;
impl<'a> Kind<'a> for Vn {
    type V = Vec<GenValue<'a>>;
    const KIND: FieldKind = FieldKind::Gdr;
    fn read(c: &mut Cur<'a>, n: usize, _s: usize) -> Option<Vec<GenValue<'a>>> {
        // (a value takes at least its type code byte)
        if c.array_absent(n > 0) {
            return None;
        }
        let mut v = Vec::with_capacity(n.min(c.remaining()));
        for _ in 0..n {
            match GenValue::read(c) {
                Some(g) => {
                    let stop = matches!(g, GenValue::Unknown(..));
                    v.push(g);
                    if stop {
                        break;
                    }
                }
                None => break,
            }
        }
        // (not one value whole: absent, as a cut array)
        (n == 0 || !v.is_empty()).then_some(v)
    }
    fn write(e: &mut Enc, v: Option<&Vec<GenValue<'a>>>, _n: usize, _s: usize) {
        for g in v.map(|x| x.as_slice()).unwrap_or(&[]) {
            g.write(e);
        }
    }
    fn view<'r>(v: &'r Option<Vec<GenValue<'a>>>) -> FieldValue<'r, 'a> {
        FieldValue::Gdr(v.as_deref())
    }
}

/// Count or size taken from an earlier field (absent counts as 0).
#[inline]
pub fn count_of<T: Copy + Into<u64>>(v: &Option<T>) -> usize {
    v.map(|x| x.into() as usize).unwrap_or(0)
}

//! Round-trip property tests for every record type, and hand-checked decoding tests.
//!
//! The field lists in this file (`roundtrip_tests!` below) were written by hand from the STDF V4
//! specification and, for the V4-2007 records, from the layouts in
//! `shared/docs/stdf-reference.md` §2.8, independently of the crate's own record definitions.
//! Each property test checks:
//! * the crate's field names and order equal the hand-written list;
//! * the `Writer`'s payload equals an independent encoder written from the spec (`spec_encode`);
//! * reading the bytes back with `RecordReader` and decoding gives every field back, bit for bit
//!   (floats are compared by their bits, so NaN payloads must survive too).
//!
//! The unit tests at the bottom use byte strings written out by hand from the spec.

use std::io::{Cursor, Write};

use proptest::prelude::*;
use proptest::strategy::Union;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use stdf_core::records::{
    Atr, Bps, Cdr, Cnr, Dtr, Eps, Far, FieldKind, FieldValue, Ftr, Gdr, GenValue, Hbr, Mir, Mpr,
    Mrr, Nmr, Pcr, Pgr, Pir, Plr, Pmr, Prr, Psr, Ptr, Rdr, Sbr, Sdr, Ssr, StrRec, Tsr, Vur, Wcr,
    Wir, Wrr,
};
use stdf_core::writer::{to_bytes, Writer};
use stdf_core::{ByteOrder, Compression, Dn, ErrorKind, Record, RecordReader, StdfError, Str};

// ---------------------------------------------------------------------------------------------
// Field shapes, owned values, strategies
// ---------------------------------------------------------------------------------------------

/// Largest array length generated.
const MAXN: usize = 8;

/// Shape of one field as the spec defines it. Arrays name their count field (and, for kxU*f /
/// kxC*f, their size field).
#[derive(Clone, Copy, Debug)]
enum T {
    U1,
    U2,
    U4,
    U8,
    I1,
    I2,
    I4,
    R4,
    C1,
    B1,
    Cn,
    Sn,
    Bn,
    Dn,
    /// A U*1 count field.
    K1,
    /// A U*2 count field.
    K2,
    /// A U*1 item width of a kxU*f array (1, 2, 4, 8; other values are generated too).
    Sz,
    /// A U*1 string length of a kxC*f array.
    Tx,
    AU1(&'static str),
    AU2(&'static str),
    AU4(&'static str),
    AU8(&'static str),
    AR4(&'static str),
    AN1(&'static str),
    ACn(&'static str),
    ASn(&'static str),
    AUf(&'static str, &'static str),
    ACf(&'static str, &'static str),
    Vn(&'static str),
}

/// An owned field value. Floats are kept as their bits so that `==` is bitwise.
#[derive(Clone, Debug, PartialEq)]
enum OV {
    U1(u8),
    U2(u16),
    U4(u32),
    U8(u64),
    I1(i8),
    I2(i16),
    I4(i32),
    R4(u32),
    R8(u64),
    /// C*n, S*n, C*f and B*n data.
    Bytes(Vec<u8>),
    Dn(u16, Vec<u8>),
    AU1(Vec<u8>),
    AU2(Vec<u16>),
    AU4(Vec<u32>),
    AU8(Vec<u64>),
    AR4(Vec<u32>),
    AStr(Vec<Vec<u8>>),
    Gdr(Vec<OG>),
}

/// An owned GDR value.
#[derive(Clone, Debug, PartialEq)]
enum OG {
    Pad,
    U1(u8),
    U2(u16),
    U4(u32),
    I1(i8),
    I2(i16),
    I4(i32),
    R4(u32),
    R8(u64),
    Cn(Vec<u8>),
    Bn(Vec<u8>),
    Dn(u16, Vec<u8>),
    N1(u8),
    Unknown(u8),
}

fn bytes(max: usize) -> BoxedStrategy<Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..=max).boxed()
}

/// A D*n value: bit count 0..=300 and exactly ceil(bits/8) bytes.
fn dn_value() -> BoxedStrategy<(u16, Vec<u8>)> {
    (0u16..=300, prop::collection::vec(any::<u8>(), 38))
        .prop_map(|(n, mut b)| {
            b.truncate((n as usize).div_ceil(8));
            (n, b)
        })
        .boxed()
}

fn gen_value() -> BoxedStrategy<OG> {
    Union::new(vec![
        Just(OG::Pad).boxed(),
        any::<u8>().prop_map(OG::U1).boxed(),
        any::<u16>().prop_map(OG::U2).boxed(),
        any::<u32>().prop_map(OG::U4).boxed(),
        any::<i8>().prop_map(OG::I1).boxed(),
        any::<i16>().prop_map(OG::I2).boxed(),
        any::<i32>().prop_map(OG::I4).boxed(),
        any::<u32>().prop_map(OG::R4).boxed(),
        any::<u64>().prop_map(OG::R8).boxed(),
        bytes(255).prop_map(OG::Cn).boxed(),
        bytes(255).prop_map(OG::Bn).boxed(),
        dn_value().prop_map(|(n, b)| OG::Dn(n, b)).boxed(),
        (0u8..16).prop_map(OG::N1).boxed(),
        prop_oneof![Just(9u8), 14u8..=255]
            .prop_map(OG::Unknown)
            .boxed(),
    ])
    .boxed()
}

fn field_strategy(t: T) -> BoxedStrategy<OV> {
    use prop::collection::vec;
    match t {
        U1 | C1 | B1 => any::<u8>().prop_map(OV::U1).boxed(),
        U2 => any::<u16>().prop_map(OV::U2).boxed(),
        U4 => any::<u32>().prop_map(OV::U4).boxed(),
        U8 => any::<u64>().prop_map(OV::U8).boxed(),
        I1 => any::<i8>().prop_map(OV::I1).boxed(),
        I2 => any::<i16>().prop_map(OV::I2).boxed(),
        I4 => any::<i32>().prop_map(OV::I4).boxed(),
        // every bit pattern: NaNs with payloads, infinities, subnormals, -0.0
        R4 => any::<u32>().prop_map(OV::R4).boxed(),
        Cn | Bn => bytes(255).prop_map(OV::Bytes).boxed(),
        Sn => bytes(300).prop_map(OV::Bytes).boxed(),
        Dn => dn_value().prop_map(|(n, b)| OV::Dn(n, b)).boxed(),
        K1 => (0..=MAXN as u8).prop_map(OV::U1).boxed(),
        K2 => (0..=MAXN as u16).prop_map(OV::U2).boxed(),
        Sz => prop::sample::select(vec![1u8, 2, 4, 8, 0, 3])
            .prop_map(OV::U1)
            .boxed(),
        Tx => (0u8..=12).prop_map(OV::U1).boxed(),
        AU1(_) => vec(any::<u8>(), MAXN).prop_map(OV::AU1).boxed(),
        AN1(_) => vec(0u8..16, MAXN).prop_map(OV::AU1).boxed(),
        AU2(_) => vec(any::<u16>(), MAXN).prop_map(OV::AU2).boxed(),
        AU4(_) => vec(any::<u32>(), MAXN).prop_map(OV::AU4).boxed(),
        AU8(_) | AUf(..) => vec(any::<u64>(), MAXN).prop_map(OV::AU8).boxed(),
        AR4(_) => vec(any::<u32>(), MAXN).prop_map(OV::AR4).boxed(),
        ACn(_) => vec(bytes(255), MAXN).prop_map(OV::AStr).boxed(),
        ASn(_) => vec(bytes(300), MAXN).prop_map(OV::AStr).boxed(),
        ACf(..) => vec(vec(any::<u8>(), 12), MAXN).prop_map(OV::AStr).boxed(),
        Vn(_) => vec(gen_value(), MAXN).prop_map(OV::Gdr).boxed(),
    }
}

/// One generated record: values of a prefix of the fields (the tail is absent).
#[derive(Clone, Debug)]
struct Case {
    vals: Vec<Option<OV>>,
    order: ByteOrder,
}

type Spec = [(&'static str, T)];

fn index_of(spec: &Spec, name: &str) -> usize {
    spec.iter()
        .position(|f| f.0 == name)
        .unwrap_or_else(|| panic!("no field {name}"))
}

fn as_usize(v: &OV) -> usize {
    match v {
        OV::U1(x) => *x as usize,
        OV::U2(x) => *x as usize,
        other => panic!("not a count: {other:?}"),
    }
}

/// Item width of a kxU*f array for a size value (the decoder reads 1 byte for invalid sizes).
fn uf_width(size: usize) -> usize {
    match size {
        1 | 2 | 4 | 8 => size,
        _ => 1,
    }
}

fn truncate_ov(v: &mut OV, n: usize) {
    match v {
        OV::AU1(a) => a.truncate(n),
        OV::AU2(a) => a.truncate(n),
        OV::AU4(a) => a.truncate(n),
        OV::AU8(a) => a.truncate(n),
        OV::AR4(a) => a.truncate(n),
        OV::AStr(a) => a.truncate(n),
        OV::Gdr(a) => a.truncate(n),
        other => panic!("not an array: {other:?}"),
    }
}

/// Make generated values consistent: arrays as long as their count field, kxU*f items that fit
/// their width, kxC*f strings of the declared length, unknown GDR codes only last (decoding stops
/// there); then cut the tail at `cut`, except the run of fields right after it that encode to no
/// bytes: an array of no bytes is never cut (its count is there), the decoder gives it present.
fn finish(spec: &Spec, mut vals: Vec<OV>, cut: usize, order: ByteOrder) -> Case {
    for i in 0..spec.len() {
        let count = |vals: &Vec<OV>, name: &str| as_usize(&vals[index_of(spec, name)]);
        match spec[i].1 {
            AU1(c) | AU2(c) | AU4(c) | AU8(c) | AR4(c) | AN1(c) | ACn(c) | ASn(c) => {
                let n = count(&vals, c);
                truncate_ov(&mut vals[i], n);
            }
            AUf(c, s) => {
                let (n, w) = (count(&vals, c), uf_width(count(&vals, s)));
                truncate_ov(&mut vals[i], n);
                if let OV::AU8(a) = &mut vals[i] {
                    for x in a.iter_mut() {
                        if w < 8 {
                            *x &= (1u64 << (8 * w)) - 1;
                        }
                    }
                }
            }
            ACf(c, s) => {
                let (n, w) = (count(&vals, c), count(&vals, s));
                truncate_ov(&mut vals[i], n);
                if let OV::AStr(a) = &mut vals[i] {
                    for x in a.iter_mut() {
                        x.truncate(w);
                    }
                }
            }
            Vn(c) => {
                let n = count(&vals, c);
                truncate_ov(&mut vals[i], n);
                if let OV::Gdr(g) = &mut vals[i] {
                    let last = g.len().saturating_sub(1);
                    for (k, x) in g.iter_mut().enumerate() {
                        if k != last && matches!(x, OG::Unknown(_)) {
                            *x = OG::Pad;
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let full = vals;
    let mut vals: Vec<Option<OV>> = full
        .iter()
        .enumerate()
        .map(|(i, v)| (i < cut).then(|| v.clone()))
        .collect();
    for i in cut..full.len() {
        vals[i] = Some(full[i].clone());
        let mut out = Vec::new();
        enc_field(&mut out, spec, &vals, i, order);
        if !out.is_empty() {
            vals[i] = None;
            break;
        }
    }
    Case { vals, order }
}

fn order_strategy() -> BoxedStrategy<ByteOrder> {
    prop_oneof![Just(ByteOrder::Little), Just(ByteOrder::Big)].boxed()
}

fn case_strategy(spec: &'static Spec) -> impl Strategy<Value = Case> {
    let fields: Vec<BoxedStrategy<OV>> = spec.iter().map(|f| field_strategy(f.1)).collect();
    let n = spec.len();
    // half of the cases are complete records, the others stop after a random field
    let cut = prop_oneof![Just(n), 0..=n];
    (fields, cut, order_strategy())
        .prop_map(move |(vals, cut, order)| finish(spec, vals, cut, order))
}

// ---------------------------------------------------------------------------------------------
// Independent encoder (from the spec's data type table)
// ---------------------------------------------------------------------------------------------

fn put(out: &mut Vec<u8>, le: &[u8], order: ByteOrder) {
    match order {
        ByteOrder::Little => out.extend_from_slice(le),
        ByteOrder::Big => out.extend(le.iter().rev()),
    }
}

fn put_cn(out: &mut Vec<u8>, s: &[u8]) {
    assert!(s.len() <= 255);
    out.push(s.len() as u8);
    out.extend_from_slice(s);
}

fn put_sn(out: &mut Vec<u8>, s: &[u8], order: ByteOrder) {
    put(out, &(s.len() as u16).to_le_bytes(), order);
    out.extend_from_slice(s);
}

fn put_dn(out: &mut Vec<u8>, nbits: u16, b: &[u8], order: ByteOrder) {
    assert_eq!(b.len(), (nbits as usize).div_ceil(8));
    put(out, &nbits.to_le_bytes(), order);
    out.extend_from_slice(b);
}

/// kxN*1: two nibbles per byte, first item in the low nibble, high nibble 0 when k is odd.
fn pack_nibbles(v: &[u8]) -> Vec<u8> {
    v.chunks(2)
        .map(|p| p[0] | (p.get(1).copied().unwrap_or(0) << 4))
        .collect()
}

fn enc_gen(out: &mut Vec<u8>, g: &OG, order: ByteOrder) {
    match g {
        OG::Pad => out.push(0),
        OG::U1(v) => out.extend([1, *v]),
        OG::U2(v) => {
            out.push(2);
            put(out, &v.to_le_bytes(), order)
        }
        OG::U4(v) => {
            out.push(3);
            put(out, &v.to_le_bytes(), order)
        }
        OG::I1(v) => out.extend([4, *v as u8]),
        OG::I2(v) => {
            out.push(5);
            put(out, &v.to_le_bytes(), order)
        }
        OG::I4(v) => {
            out.push(6);
            put(out, &v.to_le_bytes(), order)
        }
        OG::R4(v) => {
            out.push(7);
            put(out, &v.to_le_bytes(), order)
        }
        OG::R8(v) => {
            out.push(8);
            put(out, &v.to_le_bytes(), order)
        }
        OG::Cn(s) => {
            out.push(10);
            put_cn(out, s)
        }
        OG::Bn(s) => {
            out.push(11);
            put_cn(out, s)
        }
        OG::Dn(n, b) => {
            out.push(12);
            put_dn(out, *n, b, order)
        }
        OG::N1(v) => out.extend([13, *v]),
        OG::Unknown(c) => out.push(*c),
    }
}

fn enc_field(out: &mut Vec<u8>, spec: &Spec, vals: &[Option<OV>], i: usize, order: ByteOrder) {
    let v = vals[i]
        .as_ref()
        .expect("fields before the last present one are present");
    let size_of = |name: &str| match &vals[index_of(spec, name)] {
        Some(v) => as_usize(v),
        None => panic!("size field {name} absent"),
    };
    match (spec[i].1, v) {
        (_, OV::U1(x)) => out.push(*x),
        (_, OV::U2(x)) => put(out, &x.to_le_bytes(), order),
        (_, OV::U4(x)) => put(out, &x.to_le_bytes(), order),
        (AUf(_, s), OV::AU8(a)) => {
            let w = uf_width(size_of(s));
            a.iter()
                .for_each(|x| put(out, &x.to_le_bytes()[..w], order));
        }
        (_, OV::AU8(a)) => a.iter().for_each(|x| put(out, &x.to_le_bytes(), order)),
        (_, OV::U8(x)) => put(out, &x.to_le_bytes(), order),
        (_, OV::I1(x)) => out.push(*x as u8),
        (_, OV::I2(x)) => put(out, &x.to_le_bytes(), order),
        (_, OV::I4(x)) => put(out, &x.to_le_bytes(), order),
        (_, OV::R4(x)) => put(out, &x.to_le_bytes(), order),
        (_, OV::R8(x)) => put(out, &x.to_le_bytes(), order),
        (Sn, OV::Bytes(b)) => put_sn(out, b, order),
        (_, OV::Bytes(b)) => put_cn(out, b),
        (_, OV::Dn(n, b)) => put_dn(out, *n, b, order),
        (AN1(_), OV::AU1(a)) => out.extend(pack_nibbles(a)),
        (_, OV::AU1(a)) => out.extend_from_slice(a),
        (_, OV::AU2(a)) => a.iter().for_each(|x| put(out, &x.to_le_bytes(), order)),
        (_, OV::AU4(a)) => a.iter().for_each(|x| put(out, &x.to_le_bytes(), order)),
        (_, OV::AR4(a)) => a.iter().for_each(|x| put(out, &x.to_le_bytes(), order)),
        (_, OV::AStr(a)) => match spec[i].1 {
            ACn(_) => a.iter().for_each(|s| put_cn(out, s)),
            ASn(_) => a.iter().for_each(|s| put_sn(out, s, order)),
            ACf(..) => a.iter().for_each(|s| out.extend_from_slice(s)),
            t => panic!("string array of shape {t:?}"),
        },
        (_, OV::Gdr(g)) => g.iter().for_each(|x| enc_gen(out, x, order)),
    }
}

fn spec_encode(spec: &Spec, vals: &[Option<OV>], order: ByteOrder) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(last) = vals.iter().rposition(Option::is_some) {
        for i in 0..=last {
            enc_field(&mut out, spec, vals, i, order);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Building records from owned values, and reading them back
// ---------------------------------------------------------------------------------------------

trait FromOv<'a>: Sized {
    fn from_ov(v: &'a OV) -> Self;
}

macro_rules! from_ov {
    ($t:ty, $p:pat => $e:expr) => {
        impl<'a> FromOv<'a> for $t {
            fn from_ov(v: &'a OV) -> Self {
                match v {
                    $p => $e,
                    other => panic!("{} from {other:?}", stringify!($t)),
                }
            }
        }
    };
}
from_ov!(u8, OV::U1(x) => *x);
from_ov!(u16, OV::U2(x) => *x);
from_ov!(u32, OV::U4(x) => *x);
from_ov!(u64, OV::U8(x) => *x);
from_ov!(i8, OV::I1(x) => *x);
from_ov!(i16, OV::I2(x) => *x);
from_ov!(i32, OV::I4(x) => *x);
from_ov!(f32, OV::R4(x) => f32::from_bits(*x));
from_ov!(f64, OV::R8(x) => f64::from_bits(*x));
from_ov!(Str<'a>, OV::Bytes(b) => Str(b));
from_ov!(&'a [u8], OV::Bytes(b) => b);
from_ov!(Dn<'a>, OV::Dn(n, b) => Dn { nbits: *n, bytes: b });
from_ov!(Vec<u8>, OV::AU1(a) => a.clone());
from_ov!(Vec<u16>, OV::AU2(a) => a.clone());
from_ov!(Vec<u32>, OV::AU4(a) => a.clone());
from_ov!(Vec<u64>, OV::AU8(a) => a.clone());
from_ov!(Vec<f32>, OV::AR4(a) => a.iter().map(|x| f32::from_bits(*x)).collect());
from_ov!(Vec<Str<'a>>, OV::AStr(a) => a.iter().map(|s| Str(s)).collect());
from_ov!(Vec<GenValue<'a>>, OV::Gdr(g) => g.iter().map(gen_from).collect());

fn gen_from(g: &OG) -> GenValue<'_> {
    match g {
        OG::Pad => GenValue::Pad,
        OG::U1(v) => GenValue::U1(*v),
        OG::U2(v) => GenValue::U2(*v),
        OG::U4(v) => GenValue::U4(*v),
        OG::I1(v) => GenValue::I1(*v),
        OG::I2(v) => GenValue::I2(*v),
        OG::I4(v) => GenValue::I4(*v),
        OG::R4(v) => GenValue::R4(f32::from_bits(*v)),
        OG::R8(v) => GenValue::R8(f64::from_bits(*v)),
        OG::Cn(s) => GenValue::Cn(Str(s)),
        OG::Bn(b) => GenValue::Bn(b),
        OG::Dn(n, b) => GenValue::Dn(Dn {
            nbits: *n,
            bytes: b,
        }),
        OG::N1(v) => GenValue::N1(*v),
        OG::Unknown(c) => GenValue::Unknown(*c),
    }
}

fn gen_own(g: &GenValue) -> OG {
    match g {
        GenValue::Pad => OG::Pad,
        GenValue::U1(v) => OG::U1(*v),
        GenValue::U2(v) => OG::U2(*v),
        GenValue::U4(v) => OG::U4(*v),
        GenValue::I1(v) => OG::I1(*v),
        GenValue::I2(v) => OG::I2(*v),
        GenValue::I4(v) => OG::I4(*v),
        GenValue::R4(v) => OG::R4(v.to_bits()),
        GenValue::R8(v) => OG::R8(v.to_bits()),
        GenValue::Cn(s) => OG::Cn(s.0.to_vec()),
        GenValue::Bn(b) => OG::Bn(b.to_vec()),
        GenValue::Dn(d) => OG::Dn(d.nbits, d.bytes.to_vec()),
        GenValue::N1(v) => OG::N1(*v),
        GenValue::Unknown(c) => OG::Unknown(*c),
    }
}

/// The owned (bitwise comparable) form of a decoded field.
fn own(fv: FieldValue) -> Option<OV> {
    match fv {
        FieldValue::U1(v) | FieldValue::C1(v) => v.map(OV::U1),
        FieldValue::U2(v) => v.map(OV::U2),
        FieldValue::U4(v) => v.map(OV::U4),
        FieldValue::U8(v) => v.map(OV::U8),
        FieldValue::I1(v) => v.map(OV::I1),
        FieldValue::I2(v) => v.map(OV::I2),
        FieldValue::I4(v) => v.map(OV::I4),
        FieldValue::R4(v) => v.map(|x| OV::R4(x.to_bits())),
        FieldValue::R8(v) => v.map(|x| OV::R8(x.to_bits())),
        FieldValue::Str(v) => v.map(|s| OV::Bytes(s.0.to_vec())),
        FieldValue::Bytes(v) => v.map(|b| OV::Bytes(b.to_vec())),
        FieldValue::Dn(v) => v.map(|d| OV::Dn(d.nbits, d.bytes.to_vec())),
        FieldValue::ArrU1(v) => v.map(|a| OV::AU1(a.to_vec())),
        FieldValue::ArrU2(v) => v.map(|a| OV::AU2(a.to_vec())),
        FieldValue::ArrU4(v) => v.map(|a| OV::AU4(a.to_vec())),
        FieldValue::ArrU8(v) => v.map(|a| OV::AU8(a.to_vec())),
        FieldValue::ArrR4(v) => v.map(|a| OV::AR4(a.iter().map(|x| x.to_bits()).collect())),
        FieldValue::ArrStr(v) => v.map(|a| OV::AStr(a.iter().map(|s| s.0.to_vec()).collect())),
        FieldValue::Gdr(v) => v.map(|g| OV::Gdr(g.iter().map(gen_own).collect())),
        FieldValue::Missing => panic!("field index past the last field"),
    }
}

/// The next field value for a struct literal (fields are evaluated in the order written).
fn next<'a, V: FromOv<'a>>(vals: &'a [Option<OV>], i: &mut usize) -> Option<V> {
    let v = vals[*i].as_ref().map(V::from_ov);
    *i += 1;
    v
}

/// The crate's FIELDS list against the hand-written one (names, order, shapes).
fn check_field_list(name: &str, fields: &[(&str, FieldKind)], spec: &Spec) {
    let got: Vec<&str> = fields.iter().map(|f| f.0).collect();
    let want: Vec<&str> = spec.iter().map(|f| f.0).collect();
    assert_eq!(got, want, "{name}: field names/order differ from the spec");
    for ((fname, kind), (_, t)) in fields.iter().zip(spec) {
        let expect = match t {
            U1 | B1 | K1 | Sz | Tx => FieldKind::U1,
            U2 | K2 => FieldKind::U2,
            U4 => FieldKind::U4,
            U8 => FieldKind::U8,
            I1 => FieldKind::I1,
            I2 => FieldKind::I2,
            I4 => FieldKind::I4,
            R4 => FieldKind::R4,
            C1 => FieldKind::C1,
            Cn | Sn => FieldKind::Str,
            Bn => FieldKind::Bytes,
            Dn => FieldKind::Dn,
            AU1(_) | AN1(_) => FieldKind::ArrU1,
            AU2(_) => FieldKind::ArrU2,
            AU4(_) => FieldKind::ArrU4,
            AU8(_) | AUf(..) => FieldKind::ArrU8,
            AR4(_) => FieldKind::ArrR4,
            ACn(_) | ASn(_) | ACf(..) => FieldKind::ArrStr,
            Vn(_) => FieldKind::Gdr,
        };
        assert_eq!(*kind, expect, "{name}.{fname}");
    }
}

fn far_bytes(order: ByteOrder) -> [u8; 6] {
    // REC_LEN 2, REC_TYP 0, REC_SUB 10, CPU_TYPE (2 = PC little-endian, 1 = Sun big-endian), STDF_VER 4
    match order {
        ByteOrder::Little => [0x02, 0x00, 0x00, 0x0A, 0x02, 0x04],
        ByteOrder::Big => [0x00, 0x02, 0x00, 0x0A, 0x01, 0x04],
    }
}

fn mem_reader(bytes: Vec<u8>) -> RecordReader {
    let n = bytes.len() as u64;
    RecordReader::from_reader(
        "mem.stdf",
        Box::new(Cursor::new(bytes)),
        Compression::None,
        n,
    )
    .expect("reader")
}

type Extract = fn(&Record) -> Option<Vec<Option<OV>>>;

/// Write FAR + `rec` + a sentinel PIR, check the bytes against the spec encoding, read them back
/// and compare every decoded field with the generated values.
fn check_roundtrip(
    spec: &Spec,
    case: &Case,
    rec: &Record,
    extract: Extract,
) -> Result<(), TestCaseError> {
    let order = case.order;
    let payload = spec_encode(spec, &case.vals, order);
    let mut w = Writer::new(Vec::new(), order);
    w.far().unwrap();
    w.write(rec).unwrap();
    let sentinel = Pir {
        head_num: Some(7),
        site_num: Some(9),
        ..Default::default()
    };
    w.write(&Record::Pir(sentinel)).unwrap();
    prop_assert_eq!(w.records_written(), 3);
    let bytes = w.into_inner();

    let (typ, sub) = rec.codes();
    let len = payload.len();
    let lb = match order {
        ByteOrder::Little => (len as u16).to_le_bytes(),
        ByteOrder::Big => (len as u16).to_be_bytes(),
    };
    prop_assert_eq!(&bytes[..6], &far_bytes(order)[..]);
    prop_assert_eq!(&bytes[6..10], &[lb[0], lb[1], typ, sub][..]);
    prop_assert_eq!(
        &bytes[10..10 + len],
        &payload[..],
        "writer payload differs from spec encoding"
    );
    prop_assert_eq!(bytes.len(), 10 + len + 6);

    let mut rd = mem_reader(bytes.clone());
    {
        let far = rd.next_record().unwrap().unwrap();
        prop_assert_eq!(
            (far.typ, far.sub, far.offset, far.new_stream),
            (0, 10, 0, true)
        );
    }
    prop_assert_eq!(rd.byte_order(), Some(order));
    {
        let raw = rd.next_record().unwrap().unwrap();
        prop_assert_eq!((raw.typ, raw.sub, raw.offset, raw.index), (typ, sub, 6, 1));
        prop_assert_eq!(raw.rec_len as usize, len);
        prop_assert_eq!(raw.order, order);
        // a complete FAR (REC_LEN 2) starts a new stream; anything else continues this one
        prop_assert_eq!(raw.new_stream, (typ, sub) == (0, 10) && len == 2);
        let (dec, cur) = Record::decode(raw.typ, raw.sub, raw.payload, raw.order);
        prop_assert_eq!(cur.remaining(), 0, "decoder left bytes unread");
        let got = extract(&dec).expect("decoded as another record type");
        prop_assert_eq!(&got, &case.vals);
        // and the decoded record encodes to the same bytes again
        let again = to_bytes(order, std::slice::from_ref(&dec));
        prop_assert_eq!(&again[..], &bytes[6..10 + len]);
    }
    {
        let raw = rd.next_record().unwrap().unwrap();
        prop_assert_eq!((raw.typ, raw.sub, raw.offset), (5, 10, 10 + len as u64));
        prop_assert_eq!(raw.payload, &[7u8, 9][..]);
    }
    prop_assert!(rd.next_record().unwrap().is_none());
    prop_assert_eq!(rd.position(), 16 + len as u64);
    Ok(())
}

fn config() -> Config {
    Config {
        failure_persistence: None,
        ..Config::default()
    }
}

macro_rules! roundtrip_tests {
    ($( $test:ident : $name:ident { $( $f:ident : $t:expr ),* $(,)? } )*) => { $(
        #[test]
        fn $test() {
            static SPEC: &Spec = &[ $( (stringify!($f), $t), )* ];
            check_field_list($name::NAME, $name::FIELDS, SPEC);
            let extract: Extract = |r| match r {
                Record::$name(x) => Some((0..SPEC.len()).map(|k| own(x.field(k))).collect()),
                _ => None,
            };
            let mut runner = TestRunner::new(config());
            let result = runner.run(&case_strategy(SPEC), |case| {
                #[allow(unused_variables)]
                let v = &case.vals;
                #[allow(unused_mut, unused_variables)]
                let mut i = 0usize;
                let rec = Record::$name($name { $( $f: next(v, &mut i), )* ..Default::default() });
                check_roundtrip(SPEC, &case, &rec, extract)
            });
            if let Err(e) = result {
                panic!("{}: {e}", $name::NAME);
            }
        }
    )* };
}

use T::*;

roundtrip_tests! {
    roundtrip_far: Far { cpu_type: U1, stdf_ver: U1 }
    roundtrip_atr: Atr { mod_tim: U4, cmd_line: Cn }
    roundtrip_mir: Mir {
        setup_t: U4, start_t: U4, stat_num: U1, mode_cod: C1, rtst_cod: C1, prot_cod: C1,
        burn_tim: U2, cmod_cod: C1, lot_id: Cn, part_typ: Cn, node_nam: Cn, tstr_typ: Cn,
        job_nam: Cn, job_rev: Cn, sblot_id: Cn, oper_nam: Cn, exec_typ: Cn, exec_ver: Cn,
        test_cod: Cn, tst_temp: Cn, user_txt: Cn, aux_file: Cn, pkg_typ: Cn, famly_id: Cn,
        date_cod: Cn, facil_id: Cn, floor_id: Cn, proc_id: Cn, oper_frq: Cn, spec_nam: Cn,
        spec_ver: Cn, flow_id: Cn, setup_id: Cn, dsgn_rev: Cn, eng_id: Cn, rom_cod: Cn,
        serl_num: Cn, supr_nam: Cn,
    }
    roundtrip_mrr: Mrr { finish_t: U4, disp_cod: C1, usr_desc: Cn, exc_desc: Cn }
    roundtrip_pcr: Pcr {
        head_num: U1, site_num: U1, part_cnt: U4, rtst_cnt: U4, abrt_cnt: U4, good_cnt: U4,
        func_cnt: U4,
    }
    roundtrip_hbr: Hbr {
        head_num: U1, site_num: U1, hbin_num: U2, hbin_cnt: U4, hbin_pf: C1, hbin_nam: Cn,
    }
    roundtrip_sbr: Sbr {
        head_num: U1, site_num: U1, sbin_num: U2, sbin_cnt: U4, sbin_pf: C1, sbin_nam: Cn,
    }
    roundtrip_pmr: Pmr {
        pmr_indx: U2, chan_typ: U2, chan_nam: Cn, phy_nam: Cn, log_nam: Cn, head_num: U1,
        site_num: U1,
    }
    roundtrip_pgr: Pgr { grp_indx: U2, grp_nam: Cn, indx_cnt: K2, pmr_indx: AU2("indx_cnt") }
    roundtrip_plr: Plr {
        grp_cnt: K2, grp_indx: AU2("grp_cnt"), grp_mode: AU2("grp_cnt"), grp_radx: AU1("grp_cnt"),
        pgm_char: ACn("grp_cnt"), rtn_char: ACn("grp_cnt"), pgm_chal: ACn("grp_cnt"),
        rtn_chal: ACn("grp_cnt"),
    }
    roundtrip_rdr: Rdr { num_bins: K2, rtst_bin: AU2("num_bins") }
    roundtrip_sdr: Sdr {
        head_num: U1, site_grp: U1, site_cnt: K1, site_num: AU1("site_cnt"), hand_typ: Cn,
        hand_id: Cn, card_typ: Cn, card_id: Cn, load_typ: Cn, load_id: Cn, dib_typ: Cn, dib_id: Cn,
        cabl_typ: Cn, cabl_id: Cn, cont_typ: Cn, cont_id: Cn, lasr_typ: Cn, lasr_id: Cn,
        extr_typ: Cn, extr_id: Cn,
    }
    roundtrip_psr: Psr {
        cont_flg: B1, psr_indx: U2, psr_nam: Cn, opt_flg: B1, totp_cnt: U2, locp_cnt: K2,
        pat_bgn: AU8("locp_cnt"), pat_end: AU8("locp_cnt"), pat_file: ACn("locp_cnt"),
        pat_lbl: ACn("locp_cnt"), file_uid: ACn("locp_cnt"), atpg_dsc: ACn("locp_cnt"),
        src_id: ACn("locp_cnt"),
    }
    roundtrip_nmr: Nmr {
        cont_flg: B1, totm_cnt: U2, locm_cnt: K2, pmr_indx: AU2("locm_cnt"),
        atpg_nam: ACn("locm_cnt"),
    }
    roundtrip_cnr: Cnr { chn_num: U2, bit_pos: U4, cell_nam: Sn }
    roundtrip_ssr: Ssr { ssr_nam: Cn, chn_cnt: K2, chn_list: AU2("chn_cnt") }
    roundtrip_cdr: Cdr {
        cont_flg: B1, cdr_indx: U2, chn_nam: Cn, chn_len: U4, sin_pin: U2, sout_pin: U2,
        mstr_cnt: K1, m_clks: AU2("mstr_cnt"), slav_cnt: K1, s_clks: AU2("slav_cnt"),
        inv_val: U1, lst_cnt: K2, cell_lst: ASn("lst_cnt"),
    }
    roundtrip_wir: Wir { head_num: U1, site_grp: U1, start_t: U4, wafer_id: Cn }
    roundtrip_wrr: Wrr {
        head_num: U1, site_grp: U1, finish_t: U4, part_cnt: U4, rtst_cnt: U4, abrt_cnt: U4,
        good_cnt: U4, func_cnt: U4, wafer_id: Cn, fabwf_id: Cn, frame_id: Cn, mask_id: Cn,
        usr_desc: Cn, exc_desc: Cn,
    }
    roundtrip_wcr: Wcr {
        wafr_siz: R4, die_ht: R4, die_wid: R4, wf_units: U1, wf_flat: C1, center_x: I2,
        center_y: I2, pos_x: C1, pos_y: C1,
    }
    roundtrip_pir: Pir { head_num: U1, site_num: U1 }
    roundtrip_prr: Prr {
        head_num: U1, site_num: U1, part_flg: B1, num_test: U2, hard_bin: U2, soft_bin: U2,
        x_coord: I2, y_coord: I2, test_t: U4, part_id: Cn, part_txt: Cn, part_fix: Bn,
    }
    roundtrip_tsr: Tsr {
        head_num: U1, site_num: U1, test_typ: C1, test_num: U4, exec_cnt: U4, fail_cnt: U4,
        alrm_cnt: U4, test_nam: Cn, seq_name: Cn, test_lbl: Cn, opt_flag: B1, test_tim: R4,
        test_min: R4, test_max: R4, tst_sums: R4, tst_sqrs: R4,
    }
    roundtrip_ptr: Ptr {
        test_num: U4, head_num: U1, site_num: U1, test_flg: B1, parm_flg: B1, result: R4,
        test_txt: Cn, alarm_id: Cn, opt_flag: B1, res_scal: I1, llm_scal: I1, hlm_scal: I1,
        lo_limit: R4, hi_limit: R4, units: Cn, c_resfmt: Cn, c_llmfmt: Cn, c_hlmfmt: Cn,
        lo_spec: R4, hi_spec: R4,
    }
    roundtrip_mpr: Mpr {
        test_num: U4, head_num: U1, site_num: U1, test_flg: B1, parm_flg: B1, rtn_icnt: K2,
        rslt_cnt: K2, rtn_stat: AN1("rtn_icnt"), rtn_rslt: AR4("rslt_cnt"), test_txt: Cn,
        alarm_id: Cn, opt_flag: B1, res_scal: I1, llm_scal: I1, hlm_scal: I1, lo_limit: R4,
        hi_limit: R4, start_in: R4, incr_in: R4, rtn_indx: AU2("rtn_icnt"), units: Cn,
        units_in: Cn, c_resfmt: Cn, c_llmfmt: Cn, c_hlmfmt: Cn, lo_spec: R4, hi_spec: R4,
    }
    roundtrip_ftr: Ftr {
        test_num: U4, head_num: U1, site_num: U1, test_flg: B1, opt_flag: B1, cycl_cnt: U4,
        rel_vadr: U4, rept_cnt: U4, num_fail: U4, xfail_ad: I4, yfail_ad: I4, vect_off: I2,
        rtn_icnt: K2, pgm_icnt: K2, rtn_indx: AU2("rtn_icnt"), rtn_stat: AN1("rtn_icnt"),
        pgm_indx: AU2("pgm_icnt"), pgm_stat: AN1("pgm_icnt"), fail_pin: Dn, vect_nam: Cn,
        time_set: Cn, op_code: Cn, test_txt: Cn, alarm_id: Cn, prog_txt: Cn, rslt_txt: Cn,
        patg_num: U1, spin_map: Dn,
    }
    roundtrip_str: StrRec {
        cont_flg: B1, test_num: U4, head_num: U1, site_num: U1, psr_ref: U2, test_flg: B1,
        log_typ: Cn, test_txt: Cn, alarm_id: Cn, prog_txt: Cn, rslt_txt: Cn, z_val: U1,
        fmu_flg: B1, mask_map: Dn, fal_map: Dn, cyc_cnt: U8, totf_cnt: U4, totl_cnt: U4,
        cyc_base: U8, bit_base: U4, cond_cnt: K2, lim_cnt: K2, cyc_size: Sz, pmr_size: Sz,
        chn_size: Sz, pat_size: Sz, bit_size: Sz, u1_size: Sz, u2_size: Sz, u3_size: Sz,
        utx_size: Tx, cap_bgn: U2, lim_indx: AU2("lim_cnt"), lim_spec: AU4("lim_cnt"),
        cond_lst: ACn("cond_cnt"), cyco_cnt: K2, cyc_ofst: AUf("cyco_cnt", "cyc_size"),
        pmr_cnt: K2, pmr_indx: AUf("pmr_cnt", "pmr_size"), chn_cnt: K2,
        chn_num: AUf("chn_cnt", "chn_size"), exp_cnt: K2, exp_data: AU1("exp_cnt"), cap_cnt: K2,
        cap_data: AU1("cap_cnt"), new_cnt: K2, new_data: AU1("new_cnt"), pat_cnt: K2,
        pat_num: AUf("pat_cnt", "pat_size"), bpos_cnt: K2, bit_pos: AUf("bpos_cnt", "bit_size"),
        usr1_cnt: K2, usr1: AUf("usr1_cnt", "u1_size"), usr2_cnt: K2,
        usr2: AUf("usr2_cnt", "u2_size"), usr3_cnt: K2, usr3: AUf("usr3_cnt", "u3_size"),
        txt_cnt: K2, user_txt: ACf("txt_cnt", "utx_size"),
    }
    roundtrip_bps: Bps { seq_name: Cn }
    roundtrip_eps: Eps {}
    roundtrip_gdr: Gdr { fld_cnt: K2, gen_data: Vn("fld_cnt") }
    roundtrip_dtr: Dtr { text_dat: Cn }
}

/// VUR has two layouts; generate both. (The single-name layout with a name of only NULs is left
/// out: its bytes also read as the count layout, see `vur_ambiguous_all_empty_names`.)
#[test]
fn roundtrip_vur() {
    static SPEC_SINGLE: &Spec = &[("upd_nam", Cn)];
    let strat = (
        prop::option::of(0u8..=MAXN as u8),
        prop::collection::vec(bytes(255), MAXN),
        order_strategy(),
    )
        .prop_filter(
            "single-name layout needs a byte other than NUL",
            |(n, names, _)| match n {
                None => names[0].iter().any(|&b| b != 0),
                Some(_) => true,
            },
        );
    let mut runner = TestRunner::new(config());
    runner
        .run(&strat, |(cnt, names, order)| {
            let names: Vec<Vec<u8>> = match cnt {
                None => names[..1].to_vec(),
                Some(n) => names[..n as usize].to_vec(),
            };
            let vur = Vur {
                upd_cnt: cnt,
                upd_nam: Some(names.iter().map(|s| Str(s)).collect()),
            };
            let mut payload = Vec::new();
            if let Some(n) = cnt {
                payload.push(n);
            }
            names.iter().for_each(|s| put_cn(&mut payload, s));
            let bytes = to_bytes(order, &[Record::Vur(vur)]);
            prop_assert_eq!(&bytes[4..], &payload[..]);
            prop_assert_eq!(&bytes[2..4], &[0u8, 30][..]);
            let (dec, cur) = Record::decode(0, 30, &bytes[4..], order);
            prop_assert_eq!(cur.remaining(), 0);
            let Record::Vur(v) = dec else {
                panic!("not a VUR")
            };
            prop_assert_eq!(v.upd_cnt, cnt);
            let got: Vec<Vec<u8>> = v.upd_nam.unwrap().iter().map(|s| s.0.to_vec()).collect();
            prop_assert_eq!(got, names);
            let _ = SPEC_SINGLE;
            Ok(())
        })
        .unwrap();
}

/// Every record type the crate knows is covered by a round-trip test above.
#[test]
fn every_record_type_has_a_roundtrip_test() {
    let covered = [
        "FAR", "ATR", "VUR", "MIR", "MRR", "PCR", "HBR", "SBR", "PMR", "PGR", "PLR", "RDR", "SDR",
        "PSR", "NMR", "CNR", "SSR", "CDR", "WIR", "WRR", "WCR", "PIR", "PRR", "TSR", "PTR", "MPR",
        "FTR", "STR", "BPS", "EPS", "GDR", "DTR",
    ];
    let all: Vec<&str> = stdf_core::records::ALL_TYPES.iter().map(|t| t.0).collect();
    assert_eq!(all.len(), covered.len());
    for n in all {
        assert!(covered.contains(&n), "{n} has no round-trip test");
    }
}

/// A stream of many records of mixed types in one file, both orders: offsets and indexes advance
/// by 4 + REC_LEN and every record decodes to what was written.
#[test]
fn roundtrip_mixed_stream() {
    for order in [ByteOrder::Little, ByteOrder::Big] {
        let recs = sample_stream_records();
        let mut w = Writer::new(Vec::new(), order);
        w.far().unwrap();
        for r in &recs {
            w.write(r).unwrap();
        }
        let bytes = w.into_inner();
        let mut rd = mem_reader(bytes.clone());
        let mut off = 0u64;
        let mut k = 0usize;
        while let Some(raw) = rd.next_record().unwrap() {
            assert_eq!(raw.offset, off);
            assert_eq!(raw.index, k as u64);
            off += 4 + raw.rec_len as u64;
            if k > 0 {
                let (dec, _) = Record::decode(raw.typ, raw.sub, raw.payload, raw.order);
                assert_eq!(format!("{dec:?}"), format!("{:?}", recs[k - 1]));
            }
            k += 1;
        }
        assert_eq!(k, recs.len() + 1);
        assert_eq!(off, bytes.len() as u64);
    }
}

// ---------------------------------------------------------------------------------------------
// Hand-checked unit tests
// ---------------------------------------------------------------------------------------------

/// A record: header (REC_LEN in `order`, REC_TYP, REC_SUB) then the payload.
fn rec(order: ByteOrder, typ: u8, sub: u8, payload: &[u8]) -> Vec<u8> {
    let n = payload.len() as u16;
    let l = match order {
        ByteOrder::Little => n.to_le_bytes(),
        ByteOrder::Big => n.to_be_bytes(),
    };
    let mut v = vec![l[0], l[1], typ, sub];
    v.extend_from_slice(payload);
    v
}

/// FAR + the given records.
fn stream(order: ByteOrder, recs: &[Vec<u8>]) -> Vec<u8> {
    let mut v = far_bytes(order).to_vec();
    for r in recs {
        v.extend_from_slice(r);
    }
    v
}

/// (typ, sub, offset, payload) of every record; panics on a read error.
fn read_all(bytes: Vec<u8>) -> Vec<(u8, u8, u64, Vec<u8>, ByteOrder)> {
    let mut rd = mem_reader(bytes);
    let mut out = Vec::new();
    while let Some(r) = rd.next_record().unwrap() {
        out.push((r.typ, r.sub, r.offset, r.payload.to_vec(), r.order));
    }
    out
}

/// Read until the first error.
fn read_err(bytes: Vec<u8>) -> (usize, StdfError) {
    let mut rd = mem_reader(bytes);
    let mut n = 0;
    loop {
        match rd.next_record() {
            Ok(Some(_)) => n += 1,
            Ok(None) => panic!("expected an error after {n} records"),
            Err(e) => return (n, e),
        }
    }
}

const LE: ByteOrder = ByteOrder::Little;
const BE: ByteOrder = ByteOrder::Big;

fn sample_stream_records() -> Vec<Record<'static>> {
    vec![
        Record::Atr(Atr {
            mod_tim: Some(1_700_000_000),
            cmd_line: Some("merge a b".into()),
            ..Default::default()
        }),
        Record::Mir(Mir {
            setup_t: Some(1_700_000_100),
            start_t: Some(1_700_000_200),
            stat_num: Some(3),
            mode_cod: Some(b'P'),
            rtst_cod: Some(b'N'),
            prot_cod: Some(b' '),
            burn_tim: Some(65535),
            cmod_cod: Some(b' '),
            lot_id: Some("LOT1".into()),
            part_typ: Some("PART".into()),
            node_nam: Some("node".into()),
            tstr_typ: Some("T2000".into()),
            job_nam: Some("job".into()),
            ..Default::default()
        }),
        Record::Pir(Pir {
            head_num: Some(1),
            site_num: Some(0),
            ..Default::default()
        }),
        Record::Ptr(Ptr {
            test_num: Some(100),
            head_num: Some(1),
            site_num: Some(0),
            test_flg: Some(0),
            parm_flg: Some(0),
            result: Some(1.25),
            test_txt: Some("vdd".into()),
            ..Default::default()
        }),
        Record::Eps(Eps::default()),
        Record::Gdr(Gdr {
            fld_cnt: Some(2),
            gen_data: Some(vec![GenValue::Cn("ID".into()), GenValue::I4(-5)]),
            ..Default::default()
        }),
        Record::Unknown {
            typ: 180,
            sub: 1,
            payload: &[1, 2, 3],
        },
        Record::Prr(Prr {
            head_num: Some(1),
            site_num: Some(0),
            part_flg: Some(0),
            num_test: Some(1),
            hard_bin: Some(1),
            soft_bin: Some(1),
            x_coord: Some(-3),
            y_coord: Some(4),
            ..Default::default()
        }),
        Record::Mrr(Mrr {
            finish_t: Some(1_700_000_300),
            ..Default::default()
        }),
    ]
}

#[test]
fn short_records_leave_trailing_fields_absent() {
    // PTR 15/10 with TEST_NUM=1000 HEAD=1 SITE=2 TEST_FLG=0 PARM_FLG=0 RESULT=1.5 and nothing else.
    // 1.5f32 = 0x3FC00000.
    let ptr_le = [0xE8, 0x03, 0x00, 0x00, 1, 2, 0, 0, 0x00, 0x00, 0xC0, 0x3F];
    let ptr_be = [0x00, 0x00, 0x03, 0xE8, 1, 2, 0, 0, 0x3F, 0xC0, 0x00, 0x00];
    for (order, p) in [(LE, &ptr_le), (BE, &ptr_be)] {
        let (r, cur) = Record::decode(15, 10, p, order);
        let Record::Ptr(r) = r else { panic!() };
        assert_eq!(r.test_num, Some(1000));
        assert_eq!(
            (r.head_num, r.site_num, r.test_flg, r.parm_flg),
            (Some(1), Some(2), Some(0), Some(0))
        );
        assert_eq!(r.result.map(f32::to_bits), Some(0x3FC0_0000));
        assert_eq!(r.test_txt, None);
        assert_eq!(r.alarm_id, None);
        assert_eq!(r.opt_flag, None);
        assert_eq!((r.res_scal, r.llm_scal, r.hlm_scal), (None, None, None));
        assert_eq!(
            (r.lo_limit, r.hi_limit, r.lo_spec, r.hi_spec),
            (None, None, None, None)
        );
        assert_eq!(
            (r.units, r.c_resfmt, r.c_llmfmt, r.c_hlmfmt),
            (None, None, None, None)
        );
        assert!(cur.was_short());
        assert_eq!(cur.remaining(), 0);
        // the writer leaves the same absent tail out
        assert_eq!(&to_bytes(order, &[Record::Ptr(r)])[4..], &p[..]);
    }

    // PRR whose NUM_TEST is cut after 1 of its 2 bytes: the cut field and all later are absent.
    let (r, _) = Record::decode(5, 20, &[1, 2, 0x08, 0x05], LE);
    let Record::Prr(r) = r else { panic!() };
    assert_eq!(
        (r.head_num, r.site_num, r.part_flg),
        (Some(1), Some(2), Some(8))
    );
    assert_eq!(
        (r.num_test, r.hard_bin, r.soft_bin, r.x_coord, r.part_fix),
        (None, None, None, None, None)
    );

    // PCR with REC_LEN 10 (HEAD 255, SITE 255, PART_CNT 100, RTST_CNT 0): ABRT/GOOD/FUNC absent.
    let (r, _) = Record::decode(1, 30, &[255, 255, 100, 0, 0, 0, 0, 0, 0, 0], LE);
    let Record::Pcr(r) = r else { panic!() };
    assert_eq!(
        (r.head_num, r.site_num, r.part_cnt, r.rtst_cnt),
        (Some(255), Some(255), Some(100), Some(0))
    );
    assert_eq!((r.abrt_cnt, r.good_cnt, r.func_cnt), (None, None, None));

    // A PTR with REC_LEN 0: every field absent; an EPS is always REC_LEN 0.
    let (r, _) = Record::decode(15, 10, &[], BE);
    assert_eq!(r, Record::Ptr(Ptr::default()));
    let (r, cur) = Record::decode(20, 20, &[], BE);
    assert_eq!(r, Record::Eps(Eps::default()));
    assert!(!cur.was_short());

    // MPR cut right after RSLT_CNT: arrays present in the spec but beyond REC_LEN are absent,
    // although their counts are 2.
    let (r, _) = Record::decode(15, 15, &[9, 0, 0, 0, 1, 1, 0, 0, 2, 0, 2, 0], LE);
    let Record::Mpr(r) = r else { panic!() };
    assert_eq!((r.rtn_icnt, r.rslt_cnt), (Some(2), Some(2)));
    assert_eq!((r.rtn_stat, r.rtn_rslt, r.rtn_indx), (None, None, None));

    // And those short records read through the reader, one after the other.
    let bytes = stream(
        LE,
        &[
            rec(LE, 15, 10, &ptr_le),
            rec(LE, 5, 20, &[1, 2, 0x08, 0x05]),
            rec(LE, 20, 20, &[]),
        ],
    );
    let all = read_all(bytes);
    let offs: Vec<u64> = all.iter().map(|r| r.2).collect();
    assert_eq!(offs, vec![0, 6, 22, 30]);
}

#[test]
fn long_record_extra_bytes_are_skipped() {
    // PIR (HEAD 1, SITE 3) followed by 3 bytes of garbage: REC_LEN 5.
    let pir = rec(LE, 5, 10, &[1, 3, 0xDE, 0xAD, 0xBE]);
    // DTR "abc" with 2 extra bytes after the string.
    let dtr = rec(LE, 50, 30, &[3, b'a', b'b', b'c', 0xFF, 0xFF]);
    // then a normal PRR: HEAD 1 SITE 3 PART_FLG 0 NUM_TEST 2 HARD_BIN 1 SOFT_BIN 1
    let prr = rec(LE, 5, 20, &[1, 3, 0, 2, 0, 1, 0, 1, 0]);
    let all = read_all(stream(LE, &[pir, dtr, prr]));
    assert_eq!(all.len(), 4);
    assert_eq!(all[1].2, 6);
    assert_eq!(all[2].2, 6 + 4 + 5);
    assert_eq!(all[3].2, 6 + 4 + 5 + 4 + 6);

    let (r, cur) = Record::decode(5, 10, &all[1].3, LE);
    assert_eq!(
        r,
        Record::Pir(Pir {
            head_num: Some(1),
            site_num: Some(3),
            ..Default::default()
        })
    );
    assert_eq!(cur.rest(), &[0xDE, 0xAD, 0xBE]);
    let (r, cur) = Record::decode(50, 30, &all[2].3, LE);
    assert_eq!(
        r,
        Record::Dtr(Dtr {
            text_dat: Some("abc".into()),
            ..Default::default()
        })
    );
    assert_eq!(cur.remaining(), 2);
    let (r, _) = Record::decode(5, 20, &all[3].3, LE);
    let Record::Prr(p) = r else { panic!() };
    assert_eq!(
        (p.head_num, p.site_num, p.num_test, p.hard_bin, p.soft_bin),
        (Some(1), Some(3), Some(2), Some(1), Some(1))
    );
    assert_eq!(p.x_coord, None);
}

#[test]
fn byte_order_is_taken_from_the_far_bytes() {
    // WIR: HEAD 1, SITE_GRP 255, START_T 0x01020304, WAFER_ID "W1"
    let wir_le = [1, 255, 0x04, 0x03, 0x02, 0x01, 2, b'W', b'1'];
    let wir_be = [1, 255, 0x01, 0x02, 0x03, 0x04, 2, b'W', b'1'];
    let le = [
        &[0x02, 0x00, 0x00, 0x0A, 0x02, 0x04][..],
        &[0x09, 0x00, 2, 10],
        &wir_le,
    ]
    .concat();
    let be = [
        &[0x00, 0x02, 0x00, 0x0A, 0x01, 0x04][..],
        &[0x00, 0x09, 2, 10],
        &wir_be,
    ]
    .concat();
    for (bytes, order) in [(le, LE), (be, BE)] {
        let mut rd = mem_reader(bytes);
        assert_eq!(rd.byte_order(), None);
        {
            let far = rd.next_record().unwrap().unwrap();
            assert_eq!(far.order, order);
            assert!(far.new_stream);
            let (f, _) = Record::decode(far.typ, far.sub, far.payload, far.order);
            let want_cpu = if order == LE { 2 } else { 1 };
            assert_eq!(
                f,
                Record::Far(Far {
                    cpu_type: Some(want_cpu),
                    stdf_ver: Some(4),
                    ..Default::default()
                })
            );
        }
        assert_eq!(rd.byte_order(), Some(order));
        let raw = rd.next_record().unwrap().unwrap();
        assert_eq!(raw.rec_len, 9);
        let (w, _) = Record::decode(raw.typ, raw.sub, raw.payload, raw.order);
        let Record::Wir(w) = w else { panic!() };
        assert_eq!(w.start_t, Some(0x0102_0304));
        assert_eq!(w.wafer_id, Some(Str(b"W1")));
    }

    // The header bytes decide, even when CPU_TYPE disagrees (little-endian header, CPU_TYPE 1).
    let odd = [
        &[0x02, 0x00, 0x00, 0x0A, 0x01, 0x04][..],
        &[0x09, 0x00, 2, 10],
        &wir_le,
    ]
    .concat();
    let all = read_all(odd);
    assert_eq!(all[1].4, LE);

    // Two streams in one file: little-endian, then big-endian. The second FAR starts a new stream.
    let two = [
        stream(LE, &[rec(LE, 2, 10, &wir_le)]),
        stream(BE, &[rec(BE, 2, 10, &wir_be)]),
    ]
    .concat();
    let mut rd = mem_reader(two);
    let mut seen = Vec::new();
    while let Some(r) = rd.next_record().unwrap() {
        seen.push((r.typ, r.sub, r.order, r.new_stream, r.offset));
    }
    assert_eq!(
        seen,
        vec![
            (0, 10, LE, true, 0),
            (2, 10, LE, false, 6),
            (0, 10, BE, true, 19),
            (2, 10, BE, false, 25)
        ]
    );
}

#[test]
fn cn_length_overflow_is_clamped() {
    // DTR whose length byte says 10 but REC_LEN leaves 3 bytes: "abc"; the next record is intact.
    let dtr = rec(LE, 50, 30, &[10, b'a', b'b', b'c']);
    let pir = rec(LE, 5, 10, &[1, 1]);
    let all = read_all(stream(LE, &[dtr, pir]));
    assert_eq!(all.len(), 3);
    let (r, cur) = Record::decode(50, 30, &all[1].3, LE);
    assert_eq!(
        r,
        Record::Dtr(Dtr {
            text_dat: Some("abc".into()),
            ..Default::default()
        })
    );
    assert!(cur.was_short());
    assert_eq!((all[2].0, all[2].1, all[2].2), (5, 10, 14));

    // PTR whose TEST_TXT length byte (200) overruns: TEST_TXT = the 3 bytes left, ALARM_ID absent.
    let p = [1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 200, b'x', b'y', b'z'];
    let (r, _) = Record::decode(15, 10, &p, LE);
    let Record::Ptr(r) = r else { panic!() };
    assert_eq!(r.test_txt, Some(Str(b"xyz")));
    assert_eq!(r.alarm_id, None);

    // S*n (CNR.CELL_NAM) with a U*2 length of 0x0100 and 2 bytes left.
    let c = [5, 0, 7, 0, 0, 0, 0x00, 0x01, b'q', b'r'];
    let (r, _) = Record::decode(1, 92, &c, LE);
    let Record::Cnr(r) = r else { panic!() };
    assert_eq!(
        (r.chn_num, r.bit_pos, r.cell_nam),
        (Some(5), Some(7), Some(Str(b"qr")))
    );

    // Array counts larger than the record: the items that fit.
    let pgr = [0x00, 0x80, 1, b'G', 5, 0, 1, 0, 2, 0, 3];
    let (r, _) = Record::decode(1, 62, &pgr, LE);
    let Record::Pgr(r) = r else { panic!() };
    assert_eq!(
        (r.grp_indx, r.indx_cnt, r.pmr_indx),
        (Some(0x8000), Some(5), Some(vec![1, 2]))
    );
}

#[test]
fn n1_nibbles_pack_low_first_with_odd_counts() {
    // MPR: TEST_NUM 7, HEAD 1, SITE 1, TEST_FLG 0, PARM_FLG 0, RTN_ICNT 3, RSLT_CNT 0,
    // RTN_STAT [1, 0xA, 5] -> bytes 0xA1, 0x05 (first state in the low nibble, high nibble of the
    // last byte 0), TEST_TXT "t".
    let want = [7, 0, 0, 0, 1, 1, 0, 0, 3, 0, 0, 0, 0xA1, 0x05, 1, b't'];
    let m = Mpr {
        test_num: Some(7),
        head_num: Some(1),
        site_num: Some(1),
        test_flg: Some(0),
        parm_flg: Some(0),
        rtn_icnt: Some(3),
        rslt_cnt: Some(0),
        rtn_stat: Some(vec![1, 0xA, 5]),
        rtn_rslt: Some(vec![]),
        test_txt: Some("t".into()),
        ..Default::default()
    };
    assert_eq!(&to_bytes(LE, &[Record::Mpr(m.clone())])[4..], &want[..]);
    let (r, cur) = Record::decode(15, 15, &want, LE);
    assert_eq!(r, Record::Mpr(m));
    assert_eq!(cur.remaining(), 0);

    // A writer that leaves garbage in the unused high nibble: the reader ignores it.
    let (r, _) = Record::decode(15, 15, &[7, 0, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0xF3], LE);
    let Record::Mpr(r) = r else { panic!() };
    assert_eq!(r.rtn_stat, Some(vec![3]));

    // FTR with RTN_ICNT 1 (index 5, state 9) and PGM_ICNT 5 (states 0..4 -> 0x10 0x32 0x04).
    let f = Ftr {
        test_num: Some(1),
        head_num: Some(1),
        site_num: Some(1),
        test_flg: Some(0x80),
        opt_flag: Some(0xFF),
        cycl_cnt: Some(0),
        rel_vadr: Some(0),
        rept_cnt: Some(0),
        num_fail: Some(0),
        xfail_ad: Some(0),
        yfail_ad: Some(0),
        vect_off: Some(0),
        rtn_icnt: Some(1),
        pgm_icnt: Some(5),
        rtn_indx: Some(vec![5]),
        rtn_stat: Some(vec![9]),
        pgm_indx: Some(vec![1, 2, 3, 4, 5]),
        pgm_stat: Some(vec![0, 1, 2, 3, 4]),
        ..Default::default()
    };
    let b = to_bytes(BE, &[Record::Ftr(f.clone())]);
    let p = &b[4..];
    // 4+1+1+1+1 + 16 + 8 + 2 = 34 bytes before the counts
    assert_eq!(&p[34..38], &[0, 1, 0, 5]);
    assert_eq!(&p[38..40], &[0, 5]); // RTN_INDX [5], big-endian
    assert_eq!(p[40], 0x09); // RTN_STAT
    assert_eq!(&p[41..51], &[0, 1, 0, 2, 0, 3, 0, 4, 0, 5]);
    assert_eq!(&p[51..], &[0x10, 0x32, 0x04]);
    let (r, _) = Record::decode(15, 20, p, BE);
    assert_eq!(r, Record::Ftr(f));
}

#[test]
fn dn_uses_ceil_bits_over_8_bytes() {
    fn ftr_with_fail_pin<'a>(nbits: u16, bytes: &'a [u8]) -> Ftr<'a> {
        Ftr {
            test_num: Some(2),
            head_num: Some(1),
            site_num: Some(0),
            test_flg: Some(0x80),
            opt_flag: Some(0xFF),
            cycl_cnt: Some(0),
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
            fail_pin: Some(Dn { nbits, bytes }),
            vect_nam: Some("p".into()),
            ..Default::default()
        }
    }
    // fixed part: 8 + 16 + 8 + 2 + 4 = 38 bytes, then D*n = U*2 bit count + ceil(n/8) bytes,
    // then VECT_NAM "p" (2 bytes)
    for (nbits, data, nbytes) in [
        (0u16, &[][..], 0usize),
        (1, &[0x01][..], 1),
        (8, &[0x81][..], 1),
        (9, &[0x01, 0x01][..], 2),
        (16, &[0xFF, 0x80][..], 2),
        (17, &[0x00, 0x00, 0x01][..], 3),
    ] {
        for order in [LE, BE] {
            let f = ftr_with_fail_pin(nbits, data);
            let b = to_bytes(order, &[Record::Ftr(f.clone())]);
            let p = &b[4..];
            assert_eq!(p.len(), 38 + 2 + nbytes + 2, "nbits {nbits}");
            let cnt = match order {
                LE => nbits.to_le_bytes(),
                BE => nbits.to_be_bytes(),
            };
            assert_eq!(&p[38..40], &cnt);
            assert_eq!(&p[40..40 + nbytes], data);
            assert_eq!(&p[40 + nbytes..], &[1, b'p']);
            let (r, _) = Record::decode(15, 20, p, order);
            assert_eq!(r, Record::Ftr(f));
        }
    }
    // bit i = bit (i % 8) of byte i / 8: bits {0, 8} for [0x01, 0x01] with 9 bits
    assert_eq!(
        Dn {
            nbits: 9,
            bytes: &[0x01, 0x01]
        }
        .set_bits(),
        vec![0, 8]
    );
    assert_eq!(
        Dn {
            nbits: 16,
            bytes: &[0xFF, 0x80]
        }
        .set_bits(),
        vec![0, 1, 2, 3, 4, 5, 6, 7, 15]
    );
    // The writer pads missing bytes with zeros when given fewer than ceil(n/8).
    let b = to_bytes(LE, &[Record::Ftr(ftr_with_fail_pin(12, &[0xAA]))]);
    assert_eq!(&b[4 + 38..4 + 42], &[12, 0, 0xAA, 0x00]);
    // A bit count whose bytes are cut by REC_LEN: the bytes that are there, and the bits they
    // hold (17 declared, 1 byte there: 8 bits), as a cut C*n keeps the bytes there.
    let mut p = to_bytes(LE, &[Record::Ftr(ftr_with_fail_pin(17, &[1, 2, 3]))])[4..4 + 41].to_vec();
    let (r, cur) = Record::decode(15, 20, &p, LE);
    assert!(cur.was_short());
    let Record::Ftr(r) = r else { panic!() };
    assert_eq!(
        r.fail_pin,
        Some(Dn {
            nbits: 8,
            bytes: &[1]
        })
    );
    p.truncate(39);
    let (r, _) = Record::decode(15, 20, &p, LE);
    let Record::Ftr(r) = r else { panic!() };
    assert_eq!(r.fail_pin, None, "a bit count cut in half is absent");
}

#[test]
fn gdr_pads_and_unknown_codes() {
    // The spec's example: C*n "AB", U*1 7, a pad (B*0), I*2 -2; FLD_CNT 4 (the pad counts).
    let le = [4, 0, 10, 2, b'A', b'B', 1, 7, 0, 5, 0xFE, 0xFF];
    let be = [0, 4, 10, 2, b'A', b'B', 1, 7, 0, 5, 0xFF, 0xFE];
    let want = vec![
        GenValue::Cn(Str(b"AB")),
        GenValue::U1(7),
        GenValue::Pad,
        GenValue::I2(-2),
    ];
    for (order, p) in [(LE, &le), (BE, &be)] {
        let (r, cur) = Record::decode(50, 10, p, order);
        assert_eq!(
            r,
            Record::Gdr(Gdr {
                fld_cnt: Some(4),
                gen_data: Some(want.clone()),
                ..Default::default()
            })
        );
        assert_eq!(cur.remaining(), 0);
        assert_eq!(&to_bytes(order, &[r])[4..], &p[..]);
    }

    // Every type code once (big-endian): 1 U1, 2 U2, 3 U4, 4 I1, 6 I4, 7 R4, 8 R8, 11 B*n, 12 D*n, 13 N*1.
    let p = [
        &[0, 10][..],
        &[1, 0xAB],
        &[2, 0x12, 0x34],
        &[3, 0x00, 0x01, 0x00, 0x00],
        &[4, 0xFF],
        &[6, 0xFF, 0xFF, 0xFF, 0xFE],
        &[7, 0x3F, 0x80, 0x00, 0x00],
        &[8, 0xC0, 0x00, 0, 0, 0, 0, 0, 0],
        &[11, 2, 0xCA, 0xFE],
        &[12, 0, 10, 0xFF, 0x03],
        &[13, 0xF6],
    ]
    .concat();
    let (r, cur) = Record::decode(50, 10, &p, BE);
    let Record::Gdr(g) = r else { panic!() };
    assert_eq!(cur.remaining(), 0);
    assert_eq!(
        g.gen_data.unwrap(),
        vec![
            GenValue::U1(0xAB),
            GenValue::U2(0x1234),
            GenValue::U4(65536),
            GenValue::I1(-1),
            GenValue::I4(-2),
            GenValue::R4(1.0),
            GenValue::R8(-2.0),
            GenValue::Bn(&[0xCA, 0xFE]),
            GenValue::Dn(Dn {
                nbits: 10,
                bytes: &[0xFF, 0x03]
            }),
            GenValue::N1(6), // only the low nibble of the byte
        ]
    );

    // Unknown code 9 after one U*1: decoding stops there, the record still ends at REC_LEN and
    // the next record is read normally.
    let gdr = rec(LE, 50, 10, &[3, 0, 1, 0x11, 9, 0xAA, 0xBB]);
    let all = read_all(stream(LE, &[gdr, rec(LE, 50, 30, &[2, b'o', b'k'])]));
    let (r, cur) = Record::decode(50, 10, &all[1].3, LE);
    assert_eq!(
        r,
        Record::Gdr(Gdr {
            fld_cnt: Some(3),
            gen_data: Some(vec![GenValue::U1(0x11), GenValue::Unknown(9)]),
            ..Default::default()
        })
    );
    assert_eq!(cur.rest(), &[0xAA, 0xBB]);
    assert_eq!(
        (all[2].0, all[2].1, all[2].3.as_slice()),
        (50, 30, &[2, b'o', b'k'][..])
    );
    // codes above 13 are unknown too
    let (r, _) = Record::decode(50, 10, &[1, 0, 200, 1], LE);
    let Record::Gdr(g) = r else { panic!() };
    assert_eq!(g.gen_data, Some(vec![GenValue::Unknown(200)]));

    // FLD_CNT larger than the values present: the values up to REC_LEN.
    let (r, _) = Record::decode(50, 10, &[5, 0, 1, 1, 0, 1, 2], LE);
    let Record::Gdr(g) = r else { panic!() };
    assert_eq!(
        g.gen_data,
        Some(vec![GenValue::U1(1), GenValue::Pad, GenValue::U1(2)])
    );
}

#[test]
fn vur_both_layouts() {
    // 2007 addendum layout: UPD_NAM C*n only.
    let single = [&[11u8][..], b"Scan:2007.1"].concat();
    // later layout: UPD_CNT 2, then 2 x C*n.
    let counted = [&[2u8, 7][..], b"V4-2007", &[11], b"Scan:2007.1"].concat();
    for order in [LE, BE] {
        let (r, cur) = Record::decode(0, 30, &single, order);
        let v1 = Vur {
            upd_cnt: None,
            upd_nam: Some(vec![Str(b"Scan:2007.1")]),
        };
        assert_eq!(r, Record::Vur(v1.clone()));
        assert_eq!(cur.remaining(), 0);
        assert_eq!(&to_bytes(order, &[Record::Vur(v1)])[4..], &single[..]);

        let (r, cur) = Record::decode(0, 30, &counted, order);
        let v2 = Vur {
            upd_cnt: Some(2),
            upd_nam: Some(vec![Str(b"V4-2007"), Str(b"Scan:2007.1")]),
        };
        assert_eq!(r, Record::Vur(v2.clone()));
        assert_eq!(cur.remaining(), 0);
        assert_eq!(&to_bytes(order, &[Record::Vur(v2)])[4..], &counted[..]);
    }
    // a VUR with REC_LEN 0
    let (r, _) = Record::decode(0, 30, &[], LE);
    assert_eq!(r, Record::Vur(Vur::default()));
    // count layout with a single name
    let one = [&[1u8, 7][..], b"V4-2007"].concat();
    let (r, _) = Record::decode(0, 30, &one, LE);
    assert_eq!(
        r,
        Record::Vur(Vur {
            upd_cnt: Some(1),
            upd_nam: Some(vec![Str(b"V4-2007")])
        })
    );
}

/// Documented ambiguity: a count-layout VUR whose names are all empty has the bytes of a
/// single-name VUR (UPD_CNT n, then n zero length bytes = a C*n of n NULs). It reads as the
/// count layout, the one the writer gives for those names (fuzz finding F4).
#[test]
fn vur_ambiguous_all_empty_names() {
    let v = Vur {
        upd_cnt: Some(2),
        upd_nam: Some(vec![Str(b""), Str(b"")]),
    };
    let b = to_bytes(LE, &[Record::Vur(v.clone())]);
    assert_eq!(&b[4..], &[2, 0, 0]);
    let (r, cur) = Record::decode(0, 30, &b[4..], LE);
    assert_eq!(r, Record::Vur(v));
    assert_eq!(cur.remaining(), 0);
    // what the writer cannot give back: a single name of only NULs (here empty), byte 00
    let single = Vur {
        upd_cnt: None,
        upd_nam: Some(vec![Str(b"")]),
    };
    let b = to_bytes(LE, &[Record::Vur(single)]);
    assert_eq!(&b[4..], &[0]);
    let (r, _) = Record::decode(0, 30, &b[4..], LE);
    assert_eq!(
        r,
        Record::Vur(Vur {
            upd_cnt: Some(0),
            upd_nam: Some(vec![])
        })
    );
}

#[test]
fn unknown_and_reserved_records_are_kept_raw() {
    let bytes = stream(
        BE,
        &[
            rec(BE, 180, 1, &[1, 2, 3]),
            rec(BE, 200, 5, &[]),
            rec(BE, 1, 99, &[9]),
        ],
    );
    let all = read_all(bytes);
    assert_eq!(all.len(), 4);
    for (t, s, _, p, o) in &all[1..] {
        let (r, _) = Record::decode(*t, *s, p, *o);
        assert_eq!(
            r,
            Record::Unknown {
                typ: *t,
                sub: *s,
                payload: p
            }
        );
        assert_eq!(&to_bytes(*o, &[r])[4..], &p[..]);
    }
}

// ---------------------------------------------------------------------------------------------
// Containers, truncation and non-STDF input
// ---------------------------------------------------------------------------------------------

fn sample_file(order: ByteOrder) -> Vec<u8> {
    let mut w = Writer::new(Vec::new(), order);
    w.far().unwrap();
    for r in sample_stream_records() {
        w.write(&r).unwrap();
    }
    w.into_inner()
}

/// (typ, sub, offset, payload)
type RecTuple = (u8, u8, u64, Vec<u8>);

/// (typ, sub, offset, payload) of every record of a file on disk, and its compression.
fn read_file(path: &std::path::Path) -> (Compression, Vec<RecTuple>) {
    let mut rd = RecordReader::open(path.to_str().unwrap()).unwrap();
    let mut out = Vec::new();
    while let Some(r) = rd.next_record().unwrap() {
        out.push((r.typ, r.sub, r.offset, r.payload.to_vec()));
    }
    (rd.compression, out)
}

fn records_of(bytes: &[u8]) -> Vec<RecTuple> {
    read_all(bytes.to_vec())
        .into_iter()
        .map(|(t, s, o, p, _)| (t, s, o, p))
        .collect()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn bzip2(data: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(data, 3).unwrap()
}

#[test]
fn compressed_inputs_are_sniffed() {
    let dir = tempfile::tempdir().unwrap();
    let plain = [sample_file(LE), sample_file(BE)].concat();
    let want = records_of(&plain);
    assert_eq!(want.len(), 20);
    let cut = 37; // inside the MIR of the first stream: the gzip member boundary splits a record

    let zip_bytes = |method: zip::CompressionMethod, with_dir: bool| {
        let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().compression_method(method);
        if with_dir {
            z.add_directory("data/", opts).unwrap();
        }
        z.start_file("data/lot.stdf", opts).unwrap();
        z.write_all(&plain).unwrap();
        z.start_file("data/other.txt", opts).unwrap();
        z.write_all(b"not this one").unwrap();
        z.finish().unwrap().into_inner()
    };

    let cases: Vec<(&str, Vec<u8>, Compression)> = vec![
        ("plain", plain.clone(), Compression::None),
        ("gzip", gzip(&plain), Compression::Gzip),
        (
            "gzip-two-members",
            [gzip(&plain[..cut]), gzip(&plain[cut..])].concat(),
            Compression::Gzip,
        ),
        ("bzip2", bzip2(&plain), Compression::Bzip2),
        (
            "bzip2-two-streams",
            [bzip2(&plain[..cut]), bzip2(&plain[cut..])].concat(),
            Compression::Bzip2,
        ),
        ("zstd", zstd(&plain), Compression::Zstd),
        (
            "zstd-two-frames",
            [zstd(&plain[..cut]), zstd(&plain[cut..])].concat(),
            Compression::Zstd,
        ),
        (
            "zip-deflate",
            zip_bytes(zip::CompressionMethod::Deflated, false),
            Compression::Zip,
        ),
        (
            "zip-stored-after-dir",
            zip_bytes(zip::CompressionMethod::Stored, true),
            Compression::Zip,
        ),
        (
            "zip-bzip2",
            zip_bytes(zip::CompressionMethod::Bzip2, false),
            Compression::Zip,
        ),
        (
            "zip-zstd",
            zip_bytes(zip::CompressionMethod::Zstd, false),
            Compression::Zip,
        ),
    ];
    for (name, data, comp) in cases {
        // the name never tells the format: every file is called *.stdf
        let path = dir.path().join(format!("{name}.stdf"));
        std::fs::write(&path, &data).unwrap();
        let (c, got) = read_file(&path);
        assert_eq!(c, comp, "{name}");
        assert_eq!(got, want, "{name}");
        let rd = RecordReader::open(path.to_str().unwrap()).unwrap();
        assert_eq!(rd.file_size, data.len() as u64, "{name}");
    }
}

#[test]
fn truncated_file_reports_offset_and_record() {
    let mut w = Writer::new(Vec::new(), LE);
    w.far().unwrap();
    w.write(&sample_stream_records()[1]).unwrap(); // MIR
    let far_mir = w.into_inner();
    // FAR 6 bytes; MIR header 4 + payload 4+4+1+1+1+1+2+1 = 15 fixed bytes and the C*n strings
    // "LOT1" 5, "PART" 5, "node" 5, "T2000" 6, "job" 4 = 25: the PTR starts at byte 6 + 4 + 40.
    let ptr_offset = 50u64;
    assert_eq!(far_mir.len() as u64, ptr_offset);
    let ptr = Record::Ptr(Ptr {
        test_num: Some(1),
        head_num: Some(1),
        site_num: Some(1),
        test_flg: Some(0),
        parm_flg: Some(0),
        result: Some(0.5),
        test_txt: Some("a test".into()),
        ..Default::default()
    });
    let full = [far_mir, to_bytes(LE, &[ptr])].concat();
    // cut 3 bytes before the end of the PTR
    let bytes = full[..full.len() - 3].to_vec();
    let (n, e) = read_err(bytes.clone());
    assert_eq!(n, 2);
    assert_eq!(e.kind, ErrorKind::Truncated);
    assert_eq!(e.offset, Some(ptr_offset));
    assert_eq!(e.record.as_deref(), Some("PTR"));
    assert_eq!(e.path, "mem.stdf");
    let msg = e.to_string();
    assert!(msg.contains("PTR") && msg.contains("50"), "{msg}");

    // the same through a gzip file on disk
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.stdf.gz");
    std::fs::write(&path, gzip(&bytes)).unwrap();
    let mut rd = RecordReader::open(path.to_str().unwrap()).unwrap();
    let e = loop {
        match rd.next_record() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("no error"),
            Err(e) => break e,
        }
    };
    assert_eq!(
        (e.kind, e.offset, e.record.as_deref()),
        (ErrorKind::Truncated, Some(ptr_offset), Some("PTR"))
    );

    // a stream that ends inside a record header (2 of 4 bytes)
    let mut b = full.clone();
    b.extend_from_slice(&[0x02, 0x00]);
    let (n, e) = read_err(b);
    assert_eq!(n, 3);
    assert_eq!(
        (e.kind, e.offset),
        (ErrorKind::Truncated, Some(full.len() as u64))
    );
    assert_eq!(e.record.as_deref(), Some("header"));

    // an unknown record cut: named by its codes
    let b = [stream(LE, &[]), vec![10, 0, 200, 7, 1, 2]].concat();
    let (_, e) = read_err(b);
    assert_eq!(
        (e.kind, e.offset, e.record.as_deref()),
        (ErrorKind::Truncated, Some(6), Some("UNKNOWN 200/7"))
    );
}

#[test]
fn non_stdf_input_is_a_format_error() {
    let (n, e) = read_err(b"Hello, this is a text file\n".to_vec());
    assert_eq!(n, 0);
    assert_eq!(e.kind, ErrorKind::Format);
    assert_eq!(e.offset, Some(0));

    // compressed data handed to the reader as if it were raw STDF: the message says so
    let (_, e) = read_err(gzip(&sample_file(LE)));
    assert_eq!(e.kind, ErrorKind::Format);
    assert!(e.message.contains("gzip"), "{}", e.message);

    // a FAR header with a REC_LEN other than 2 is not a FAR
    let (_, e) = read_err(vec![0x03, 0x00, 0x00, 0x0A, 0x02, 0x04, 0x00]);
    assert_eq!(e.kind, ErrorKind::Format);

    // on disk too
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.stdf");
    std::fs::write(&path, b"PK\x05\x06 not really a zip, not STDF either.....").unwrap();
    let mut rd = RecordReader::open(path.to_str().unwrap()).unwrap();
    let e = rd.next_record().unwrap_err();
    assert_eq!(e.kind, ErrorKind::Format);
    assert!(e.path.ends_with("notes.stdf"));
}

#[test]
fn v3_file_starting_with_mir_is_unsupported() {
    // A V3 file has no FAR: the first record is the MIR (1/10). REC_LEN 8 is arbitrary here.
    let b = [
        rec(LE, 1, 10, &[0, 0, 0, 0, 0, 0, 0, 0]),
        rec(LE, 1, 20, &[0, 0, 0, 0]),
    ]
    .concat();
    let (n, e) = read_err(b);
    assert_eq!(n, 0);
    assert_eq!(e.kind, ErrorKind::Unsupported);
    assert_eq!(e.offset, Some(0));
    assert_eq!(e.record.as_deref(), Some("MIR"));
    // big-endian header bytes too
    let b = rec(BE, 1, 10, &[0; 12]);
    let (_, e) = read_err(b);
    assert_eq!(e.kind, ErrorKind::Unsupported);
}

#[test]
fn missing_file_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("nope.stdf");
    let e = RecordReader::open(p.to_str().unwrap())
        .err()
        .expect("error");
    assert_eq!(e.kind, ErrorKind::Io);
    assert_eq!(e.io_kind.as_deref(), Some("NotFound"));
}

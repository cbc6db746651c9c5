//! Every STDF V4 and V4-2007 record: one module per record type, fields named and ordered as
//! the specification names them (lower case), each with its decoder and encoder.

use crate::codec::{ByteOrder, Cur, Dn, Enc, Str};

pub mod flags;
pub mod kinds;
pub use kinds::{count_of, Kind};

/// The shape of a field, for building generic (raw) tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// U*1, or B*1 (a flag byte).
    U1,
    /// U*2.
    U2,
    /// U*4.
    U4,
    /// U*8 (V4-2007).
    U8,
    /// I*1.
    I1,
    /// I*2.
    I2,
    /// I*4.
    I4,
    /// R*4.
    R4,
    /// R*8.
    R8,
    /// C*1 (one character).
    C1,
    /// C*n or S*n (a string).
    Str,
    /// B*n (bytes, length-prefixed).
    Bytes,
    /// D*n (a bit field, length in bits).
    Dn,
    /// kxU*1, or kxN*1 (one nibble per item).
    ArrU1,
    /// kxU*2.
    ArrU2,
    /// kxU*4.
    ArrU4,
    /// kxU*8, or kxU*f (widened to u64).
    ArrU8,
    /// kxR*4.
    ArrR4,
    /// kxC*n, kxS*n or kxC*f (an array of strings).
    ArrStr,
    /// V*n: the GDR list of generic values.
    Gdr,
}

/// A borrowed view of one field's value (`None` = absent from the record).
#[derive(Clone, Copy, Debug)]
pub enum FieldValue<'r, 'a> {
    /// A U*1 or B*1 field.
    U1(Option<u8>),
    /// A U*2 field.
    U2(Option<u16>),
    /// A U*4 field.
    U4(Option<u32>),
    /// A U*8 field.
    U8(Option<u64>),
    /// An I*1 field.
    I1(Option<i8>),
    /// An I*2 field.
    I2(Option<i16>),
    /// An I*4 field.
    I4(Option<i32>),
    /// An R*4 field.
    R4(Option<f32>),
    /// An R*8 field.
    R8(Option<f64>),
    /// A C*1 field (the character byte).
    C1(Option<u8>),
    /// A C*n or S*n field.
    Str(Option<Str<'a>>),
    /// A B*n field (the data bytes, without the length byte).
    Bytes(Option<&'a [u8]>),
    /// A D*n field.
    Dn(Option<Dn<'a>>),
    /// A kxU*1 or kxN*1 array.
    ArrU1(Option<&'r [u8]>),
    /// A kxU*2 array.
    ArrU2(Option<&'r [u16]>),
    /// A kxU*4 array.
    ArrU4(Option<&'r [u32]>),
    /// A kxU*8 or kxU*f array.
    ArrU8(Option<&'r [u64]>),
    /// A kxR*4 array.
    ArrR4(Option<&'r [f32]>),
    /// A kxC*n, kxS*n or kxC*f array.
    ArrStr(Option<&'r [Str<'a>]>),
    /// The GDR V*n list.
    Gdr(Option<&'r [GenValue<'a>]>),
    /// Index past the last field.
    Missing,
}

/// One GDR generic value (V*n).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum GenValue<'a> {
    /// B*0: a pad byte (type code 0), no data.
    Pad,
    /// U*1 (type code 1).
    U1(u8),
    /// U*2 (type code 2).
    U2(u16),
    /// U*4 (type code 3).
    U4(u32),
    /// I*1 (type code 4).
    I1(i8),
    /// I*2 (type code 5).
    I2(i16),
    /// I*4 (type code 6).
    I4(i32),
    /// R*4 (type code 7).
    R4(f32),
    /// R*8 (type code 8).
    R8(f64),
    /// C*n (type code 10).
    Cn(Str<'a>),
    /// B*n (type code 11).
    Bn(&'a [u8]),
    /// D*n (type code 12).
    Dn(Dn<'a>),
    /// N*1 (type code 13): the low nibble of one byte.
    N1(u8),
    /// A type code the spec does not define; decoding of the record stops there.
    Unknown(u8),
}

impl<'a> GenValue<'a> {
    /// The GDR type code written before the value (0 for a pad, the raw code if unknown).
    pub fn type_code(&self) -> u8 {
        match self {
            GenValue::Pad => 0,
            GenValue::U1(_) => 1,
            GenValue::U2(_) => 2,
            GenValue::U4(_) => 3,
            GenValue::I1(_) => 4,
            GenValue::I2(_) => 5,
            GenValue::I4(_) => 6,
            GenValue::R4(_) => 7,
            GenValue::R8(_) => 8,
            GenValue::Cn(_) => 10,
            GenValue::Bn(_) => 11,
            GenValue::Dn(_) => 12,
            GenValue::N1(_) => 13,
            GenValue::Unknown(c) => *c,
        }
    }
    /// The spec's name of the value's data type (`"U1"`, `"Cn"`, `"B0"` for a pad, `"unknown"`).
    pub fn type_name(&self) -> &'static str {
        match self {
            GenValue::Pad => "B0",
            GenValue::U1(_) => "U1",
            GenValue::U2(_) => "U2",
            GenValue::U4(_) => "U4",
            GenValue::I1(_) => "I1",
            GenValue::I2(_) => "I2",
            GenValue::I4(_) => "I4",
            GenValue::R4(_) => "R4",
            GenValue::R8(_) => "R8",
            GenValue::Cn(_) => "Cn",
            GenValue::Bn(_) => "Bn",
            GenValue::Dn(_) => "Dn",
            GenValue::N1(_) => "N1",
            GenValue::Unknown(_) => "unknown",
        }
    }
    pub(crate) fn read(c: &mut Cur<'a>) -> Option<Self> {
        let code = c.u1()?;
        Some(match code {
            0 => GenValue::Pad,
            1 => GenValue::U1(c.u1()?),
            2 => GenValue::U2(c.u2()?),
            3 => GenValue::U4(c.u4()?),
            4 => GenValue::I1(c.i1()?),
            5 => GenValue::I2(c.i2()?),
            6 => GenValue::I4(c.i4()?),
            7 => GenValue::R4(c.r4()?),
            8 => GenValue::R8(c.r8()?),
            10 => GenValue::Cn(c.cn()?),
            11 => GenValue::Bn(c.bn()?),
            12 => GenValue::Dn(c.dn()?),
            13 => GenValue::N1(c.u1()? & 0x0f),
            other => GenValue::Unknown(other),
        })
    }
    pub(crate) fn write(&self, e: &mut Enc) {
        e.u1(self.type_code());
        match self {
            GenValue::Pad | GenValue::Unknown(_) => {}
            GenValue::U1(v) => e.u1(*v),
            GenValue::U2(v) => e.u2(*v),
            GenValue::U4(v) => e.u4(*v),
            GenValue::I1(v) => e.i1(*v),
            GenValue::I2(v) => e.i2(*v),
            GenValue::I4(v) => e.i4(*v),
            GenValue::R4(v) => e.r4(*v),
            GenValue::R8(v) => e.r8(*v),
            GenValue::Cn(s) => e.cn(s),
            GenValue::Bn(b) => e.bn(b),
            GenValue::Dn(d) => e.dn(d),
            GenValue::N1(v) => e.u1(*v & 0x0f),
        }
    }
}

/// Defines a record struct from its field list: `name: Kind` or `name: ArrayKind[count_field]`
/// or `name: ArrayKind[count_field; size_field]`.
macro_rules! record {
    (
        $(#[$m:meta])*
        $name:ident = $abbr:literal ($typ:literal, $sub:literal) {
            $( $(#[$fm:meta])* $f:ident : $k:ident $([$c:ident $(; $s:ident)?])? ),* $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct $name<'a> {
            $( $(#[$fm])* pub $f: Option<<$crate::records::kinds::$k as $crate::records::Kind<'a>>::V>, )*
            #[doc(hidden)]
            pub _life: ::std::marker::PhantomData<&'a ()>,
        }

        #[allow(unused_variables, unused_assignments, unused_mut, clippy::redundant_locals)]
        impl<'a> $name<'a> {
            /// REC_TYP.
            pub const TYP: u8 = $typ;
            /// REC_SUB.
            pub const SUB: u8 = $sub;
            /// (REC_TYP, REC_SUB): match `raw.code()` against it.
            pub const CODE: (u8, u8) = ($typ, $sub);
            /// The spec's abbreviation ("PTR").
            pub const NAME: &'static str = $abbr;
            /// Largest REC_LEN a record of this type can have, every field at its longest
            /// (65 536 or more: any REC_LEN, the record has arrays or S*n fields).
            pub const MAX_LEN: usize = 0 $( + <$crate::records::kinds::$k as $crate::records::Kind<'static>>::MAX_BYTES )*;
            /// Field names (lower-case spec names, spec order) and shapes.
            pub const FIELDS: &'static [(&'static str, $crate::records::FieldKind)] = &[
                $( (stringify!($f), <$crate::records::kinds::$k as $crate::records::Kind<'static>>::KIND), )*
            ];

            /// Decode a payload; fields beyond the end of the record are `None`.
            pub fn decode(c: &mut $crate::codec::Cur<'a>) -> Self {
                $(
                    let $f = <$crate::records::kinds::$k as $crate::records::Kind<'a>>::read(
                        c,
                        record!(@n $($c)?),
                        record!(@s $($($s)?)?),
                    );
                )*
                Self { $($f,)* _life: ::std::marker::PhantomData }
            }

            /// Encode the fields up to the last present one (an absent tail is left out,
            /// as testers do); absent fields before it are written as empty values.
            pub fn encode(&self, e: &mut $crate::codec::Enc) {
                let present = [ $( self.$f.is_some(), )* ];
                let last = match present.iter().rposition(|&p| p) { Some(l) => l, None => return };
                $( let $f = &self.$f; )*
                let mut i = 0usize;
                $(
                    if i <= last {
                        <$crate::records::kinds::$k as $crate::records::Kind<'a>>::write(
                            e,
                            $f.as_ref(),
                            record!(@n $($c)?),
                            record!(@s $($($s)?)?),
                        );
                    }
                    i += 1;
                )*
            }

            /// Generic view of field `i` (index into `FIELDS`).
            pub fn field(&self, i: usize) -> $crate::records::FieldValue<'_, 'a> {
                let mut j = 0usize;
                $(
                    if i == j {
                        return <$crate::records::kinds::$k as $crate::records::Kind<'a>>::view(&self.$f);
                    }
                    j += 1;
                )*
                $crate::records::FieldValue::Missing
            }
        }
    };
    (@n) => { 0 };
    (@n $c:ident) => { $crate::records::count_of(&$c) };
    (@s) => { 0 };
    (@s $s:ident) => { $crate::records::count_of(&$s) };
}

macro_rules! record_modules {
    ($( $module:ident :: $name:ident ),* $(,)?) => {
        $(
            #[doc = concat!("The ", stringify!($name), " record: its struct, decoder and encoder.")]
            pub mod $module;
            pub use $module::$name;
        )*

        /// A decoded record of any type.
        #[derive(Clone, Debug, PartialEq)]
        pub enum Record<'a> {
            $(
                #[doc = concat!("A decoded [`", stringify!($name), "`].")]
                $name($name<'a>),
            )*
            /// A record type the specification does not define (or reserved / custom).
            Unknown {
                /// REC_TYP of the record.
                typ: u8,
                /// REC_SUB of the record.
                sub: u8,
                /// The payload bytes (REC_LEN of them), undecoded.
                payload: &'a [u8],
            },
        }

        impl<'a> Record<'a> {
            /// Decode a payload of type (typ, sub).
            pub fn decode(typ: u8, sub: u8, payload: &'a [u8], order: ByteOrder) -> (Self, Cur<'a>) {
                let mut c = Cur::new(payload, order);
                $(
                    if typ == $name::TYP && sub == $name::SUB {
                        let r = Record::$name($name::decode(&mut c));
                        return (r, c);
                    }
                )*
                (Record::Unknown { typ, sub, payload }, c)
            }
            /// The (typ, sub) codes.
            pub fn codes(&self) -> (u8, u8) {
                match self {
                    $( Record::$name(_) => ($name::TYP, $name::SUB), )*
                    Record::Unknown { typ, sub, .. } => (*typ, *sub),
                }
            }
            /// Encode the payload (without the 4-byte header).
            pub fn encode_payload(&self, e: &mut Enc) {
                match self {
                    $( Record::$name(r) => r.encode(e), )*
                    Record::Unknown { payload, .. } => e.buf.extend_from_slice(payload),
                }
            }
        }

        /// Field list of a record type, by name (`"PTR"`).
        pub fn fields_of(name: &str) -> Option<&'static [(&'static str, FieldKind)]> {
            match name {
                $( $name::NAME => Some($name::FIELDS), )*
                _ => None,
            }
        }

        /// (typ, sub, `MAX_LEN`) of every record type.
        pub const MAX_LENS: &[(u8, u8, usize)] = &[ $( ($name::TYP, $name::SUB, $name::MAX_LEN), )* ];

        /// All record types: (name, typ, sub).
        pub const ALL_TYPES: &[(&str, u8, u8)] = &[ $( ($name::NAME, $name::TYP, $name::SUB), )* ];
    };
}

record_modules!(
    far::Far,
    atr::Atr,
    vur::Vur,
    mir::Mir,
    mrr::Mrr,
    pcr::Pcr,
    hbr::Hbr,
    sbr::Sbr,
    pmr::Pmr,
    pgr::Pgr,
    plr::Plr,
    rdr::Rdr,
    sdr::Sdr,
    psr::Psr,
    nmr::Nmr,
    cnr::Cnr,
    ssr::Ssr,
    cdr::Cdr,
    wir::Wir,
    wrr::Wrr,
    wcr::Wcr,
    pir::Pir,
    prr::Prr,
    tsr::Tsr,
    ptr::Ptr,
    mpr::Mpr,
    ftr::Ftr,
    str_::StrRec,
    bps::Bps,
    eps::Eps,
    gdr::Gdr,
    dtr::Dtr,
);

/// The three-letter name of a record type; `None` for undefined codes.
pub fn rec_name(typ: u8, sub: u8) -> Option<&'static str> {
    ALL_TYPES
        .iter()
        .find(|(_, t, s)| *t == typ && *s == sub)
        .map(|(n, _, _)| *n)
}

/// (typ, sub) for a record name (case-insensitive).
pub fn rec_codes(name: &str) -> Option<(u8, u8)> {
    ALL_TYPES
        .iter()
        .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, t, s)| (*t, *s))
}

/// Name for display in errors and `stdf_records`: the spec name, else `UNKNOWN`.
pub fn display_name(typ: u8, sub: u8) -> &'static str {
    rec_name(typ, sub).unwrap_or("UNKNOWN")
}

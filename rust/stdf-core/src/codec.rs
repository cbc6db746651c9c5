//! Field-level decoding and encoding of STDF data types (spec "Data Type Codes").
//!
//! Decoding never fails: a field that starts at or beyond the end of the record, or that is
//! cut in the middle, is *absent* (`None`), and the cursor remembers that the record was short.
//! Lengths and counts are clamped to the bytes left in the record (pitfall P3): a C*n, B*n or
//! D*n cut by the record's end holds the bytes that are there (a D*n's bit count becomes the
//! bits of those bytes), and the record is short. An array that takes no bytes is never cut
//! (see [`Cur::array_absent`]). So a decoded record encodes to bytes that decode to it again.

use std::borrow::Cow;

/// Byte order of a stream, decided from the FAR header bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// Little-endian (FAR CPU_TYPE 2, PC).
    Little,
    /// Big-endian (FAR CPU_TYPE 1, Sun).
    Big,
}

impl ByteOrder {
    /// `"little"` or `"big"`.
    pub fn name(self) -> &'static str {
        match self {
            ByteOrder::Little => "little",
            ByteOrder::Big => "big",
        }
    }
}

/// A string field as stored (C*n, S*n, C*f): raw bytes borrowed from the record.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Str<'a>(pub &'a [u8]);

impl<'a> Str<'a> {
    /// Text with trailing NULs removed: UTF-8 when valid, otherwise Latin-1.
    pub fn text(&self) -> Cow<'a, str> {
        let b = self.trimmed_bytes();
        match std::str::from_utf8(b) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => Cow::Owned(b.iter().map(|&c| c as char).collect()),
        }
    }
    /// Whether the text is not valid UTF-8 (and so falls back to Latin-1).
    pub fn is_latin1(&self) -> bool {
        std::str::from_utf8(self.trimmed_bytes()).is_err()
    }
    /// The bytes with trailing NULs removed.
    pub fn trimmed_bytes(&self) -> &'a [u8] {
        let mut b = self.0;
        while let [rest @ .., 0] = b {
            b = rest;
        }
        b
    }
    /// Whether the field holds no bytes at all (a single NUL is not empty).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// A single NUL byte: "explicitly empty" in PTR/MPR default fields.
    pub fn is_explicit_empty(&self) -> bool {
        self.0 == [0]
    }
}

impl std::fmt::Debug for Str<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.text())
    }
}

impl<'a> From<&'a str> for Str<'a> {
    fn from(s: &'a str) -> Self {
        Str(s.as_bytes())
    }
}

/// A D*n field: bit count and the bytes holding the bits (bit 0 = LSB of the first byte).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Dn<'a> {
    /// Number of bits (the D*n's leading U*2 count, clamped when the record was cut).
    pub nbits: u16,
    /// The bytes holding the bits, ceil(nbits / 8) of them in a decoded value.
    pub bytes: &'a [u8],
}

impl Dn<'_> {
    /// Indexes of the set bits.
    pub fn set_bits(&self) -> Vec<u16> {
        let mut out = Vec::new();
        for (i, &b) in self.bytes.iter().enumerate() {
            let mut v = b;
            while v != 0 {
                let bit = v.trailing_zeros() as usize;
                let idx = i * 8 + bit;
                if idx < self.nbits as usize {
                    out.push(idx as u16);
                }
                v &= v - 1;
            }
        }
        out
    }
}

/// Read cursor over one record's payload.
#[derive(Clone)]
pub struct Cur<'a> {
    b: &'a [u8],
    p: usize,
    be: bool,
    short: bool,
}

macro_rules! num_reader {
    ($name:ident, $t:ty, $n:literal) => {
        #[doc = concat!("Read a `", stringify!($t), "` (", stringify!($n), " bytes, stream byte order); `None` and the record short if fewer remain.")]
        #[inline]
        pub fn $name(&mut self) -> Option<$t> {
            let end = self.p + $n;
            if end <= self.b.len() {
                let mut a = [0u8; $n];
                a.copy_from_slice(&self.b[self.p..end]);
                self.p = end;
                Some(if self.be {
                    <$t>::from_be_bytes(a)
                } else {
                    <$t>::from_le_bytes(a)
                })
            } else {
                self.p = self.b.len();
                self.short = true;
                None
            }
        }
    };
}

impl<'a> Cur<'a> {
    /// A cursor at the start of payload `b`, read in byte order `order`.
    pub fn new(b: &'a [u8], order: ByteOrder) -> Self {
        Cur {
            b,
            p: 0,
            be: order == ByteOrder::Big,
            short: false,
        }
    }
    /// Bytes left to read.
    #[inline]
    pub fn remaining(&self) -> usize {
        self.b.len() - self.p
    }
    /// Bytes read so far (offset into the payload).
    #[inline]
    pub fn pos(&self) -> usize {
        self.p
    }
    /// Some field was absent or cut (the record is shorter than the spec).
    pub fn was_short(&self) -> bool {
        self.short
    }
    /// The byte order the cursor reads in.
    pub fn order(&self) -> ByteOrder {
        if self.be {
            ByteOrder::Big
        } else {
            ByteOrder::Little
        }
    }
    /// U*1 (also B*1): one byte; `None` and the record short at its end.
    #[inline]
    pub fn u1(&mut self) -> Option<u8> {
        if self.p < self.b.len() {
            let v = self.b[self.p];
            self.p += 1;
            Some(v)
        } else {
            self.short = true;
            None
        }
    }
    /// I*1: one signed byte; `None` and the record short at its end.
    #[inline]
    pub fn i1(&mut self) -> Option<i8> {
        self.u1().map(|v| v as i8)
    }
    num_reader!(u2, u16, 2);
    num_reader!(u4, u32, 4);
    num_reader!(u8, u64, 8);
    num_reader!(i2, i16, 2);
    num_reader!(i4, i32, 4);
    num_reader!(i8, i64, 8);
    num_reader!(r4, f32, 4);
    num_reader!(r8, f64, 8);

    #[inline]
    fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.remaining());
        let s = &self.b[self.p..self.p + n];
        self.p += n;
        s
    }
    /// C*n: length byte then that many bytes (clamped to the record).
    #[inline]
    pub fn cn(&mut self) -> Option<Str<'a>> {
        let n = self.u1()? as usize;
        if n > self.remaining() {
            self.short = true;
        }
        Some(Str(self.take(n)))
    }
    /// S*n: U*2 length then bytes.
    pub fn sn(&mut self) -> Option<Str<'a>> {
        let n = self.u2()? as usize;
        if n > self.remaining() {
            self.short = true;
        }
        Some(Str(self.take(n)))
    }
    /// C*f: fixed length string.
    pub fn cf(&mut self, n: usize) -> Option<Str<'a>> {
        if self.remaining() == 0 {
            self.short = true;
            return None;
        }
        Some(Str(self.take(n)))
    }
    /// B*n: byte count then bytes.
    pub fn bn(&mut self) -> Option<&'a [u8]> {
        let n = self.u1()? as usize;
        if n > self.remaining() {
            self.short = true;
        }
        Some(self.take(n))
    }
    /// D*n: bit count then ceil(bits/8) bytes. When the record ends inside the bytes, the bit
    /// count is clamped like the length of a C*n: to the bits of the bytes that are there (8 per
    /// byte), and the record is short. A value never claims bits the file does not hold, and
    /// the writer gives back exactly the bytes read (it pads only a `Dn` built with too few
    /// bytes); the bit count the file declared is lost, the record's short status tells.
    pub fn dn(&mut self) -> Option<Dn<'a>> {
        let mut nbits = self.u2()?;
        let nbytes = (nbits as usize).div_ceil(8);
        if nbytes > self.remaining() {
            self.short = true;
            // fewer than ceil(65535 / 8) bytes: at most 65528 bits
            nbits = (self.remaining() * 8) as u16;
        }
        Some(Dn {
            nbits,
            bytes: self.take(nbytes),
        })
    }
    /// C*1: one character.
    pub fn c1(&mut self) -> Option<u8> {
        self.u1()
    }

    /// Whether an array (or list) starting here is absent, the record having ended before it;
    /// `takes_bytes`: whether it has any byte to read (a count above 0 of items of 1 byte or
    /// more).
    ///
    /// An array that takes bytes is absent at the record's end (and the record short), like
    /// any field. An array that takes no bytes (a count of 0; STR kxC*f items of width 0) has
    /// nothing to be cut: it is present (`Some([])`, or `n` empty items) when every field
    /// before it is, i.e. its count and size, whether or not bytes follow it, and absent only
    /// when an earlier field already was (the record ended before it). The writer writes the
    /// fields up to the last present one, so such a record decodes the same once written back.
    /// (Raw per-record tables show this: an empty list, never NULL, for a zero count.)
    #[inline]
    pub fn array_absent(&mut self, takes_bytes: bool) -> bool {
        if self.remaining() > 0 {
            return false;
        }
        if takes_bytes {
            self.short = true;
            return true;
        }
        // `short` with nothing left: some earlier field was absent or cut
        self.short
    }

    /// Start of an array of `n` items of `size` bytes: None when the record ends first (see
    /// [`Cur::array_absent`] for an array of no bytes); otherwise the number of items that
    /// fit (clamped, marking the record short). The bytes of an item cut by the record's end
    /// are the cut array's (no field after it is in the record); an array of which not one
    /// item is whole is absent, like any field cut in the middle.
    #[inline]
    fn array_len(&mut self, n: usize, size: usize) -> Option<usize> {
        if self.array_absent(n > 0 && size > 0) {
            return None;
        }
        let size = size.max(1);
        let fit = self.remaining() / size;
        if fit < n {
            self.short = true;
            self.b = &self.b[..self.p + fit * size];
            (fit > 0).then_some(fit)
        } else {
            Some(n)
        }
    }
    /// kxU*1: `n` items, or the whole ones the record holds (`None` when not one is; see [`Cur::array_absent`]).
    pub fn arr_u1(&mut self, n: usize) -> Option<Vec<u8>> {
        let n = self.array_len(n, 1)?;
        Some(self.take(n).to_vec())
    }
    /// kxU*2: `n` items, or the whole ones the record holds (`None` when not one is; see [`Cur::array_absent`]).
    pub fn arr_u2(&mut self, n: usize) -> Option<Vec<u16>> {
        let n = self.array_len(n, 2)?;
        Some((0..n).map(|_| self.u2().unwrap_or(0)).collect())
    }
    /// kxU*4: `n` items, or the whole ones the record holds (`None` when not one is; see [`Cur::array_absent`]).
    pub fn arr_u4(&mut self, n: usize) -> Option<Vec<u32>> {
        let n = self.array_len(n, 4)?;
        Some((0..n).map(|_| self.u4().unwrap_or(0)).collect())
    }
    /// kxU*8: `n` items, or the whole ones the record holds (`None` when not one is; see [`Cur::array_absent`]).
    pub fn arr_u8(&mut self, n: usize) -> Option<Vec<u64>> {
        let n = self.array_len(n, 8)?;
        Some((0..n).map(|_| self.u8().unwrap_or(0)).collect())
    }
    /// kxR*4: `n` items, or the whole ones the record holds (`None` when not one is; see [`Cur::array_absent`]).
    pub fn arr_r4(&mut self, n: usize) -> Option<Vec<f32>> {
        let n = self.array_len(n, 4)?;
        Some((0..n).map(|_| self.r4().unwrap_or(0.0)).collect())
    }
    /// kxU*f: unsigned ints of width `size` (1, 2, 4 or 8).
    pub fn arr_uf(&mut self, n: usize, size: usize) -> Option<Vec<u64>> {
        let size = match size {
            1 | 2 | 4 | 8 => size,
            _ => 1,
        };
        let n = self.array_len(n, size)?;
        Some(
            (0..n)
                .map(|_| match size {
                    1 => self.u1().unwrap_or(0) as u64,
                    2 => self.u2().unwrap_or(0) as u64,
                    4 => self.u4().unwrap_or(0) as u64,
                    _ => self.u8().unwrap_or(0),
                })
                .collect(),
        )
    }
    /// kxN*1: nibbles, low nibble first.
    pub fn arr_n1(&mut self, n: usize) -> Option<Vec<u8>> {
        let nbytes = n.div_ceil(2);
        let got = self.array_len(nbytes, 1)?;
        let bytes = self.take(got);
        let n = n.min(got * 2);
        Some(
            (0..n)
                .map(|i| (bytes[i / 2] >> ((i % 2) * 4)) & 0x0f)
                .collect(),
        )
    }
    /// kxC*n: up to `n` C*n items (stops at the record's end); absent if not one is there.
    pub fn arr_cn(&mut self, n: usize) -> Option<Vec<Str<'a>>> {
        if self.array_absent(n > 0) {
            return None;
        }
        let mut v = Vec::with_capacity(n.min(self.remaining()));
        for _ in 0..n {
            match self.cn() {
                Some(s) => v.push(s),
                None => break,
            }
        }
        // (not one item whole: absent, see `array_len`)
        (n == 0 || !v.is_empty()).then_some(v)
    }
    /// kxS*n: up to `n` S*n items (stops at the record's end); absent if not one is there.
    pub fn arr_sn(&mut self, n: usize) -> Option<Vec<Str<'a>>> {
        if self.array_absent(n > 0) {
            return None;
        }
        let mut v = Vec::with_capacity(n.min(self.remaining()));
        for _ in 0..n {
            match self.sn() {
                Some(s) => v.push(s),
                None => break,
            }
        }
        // (not one item whole: absent, see `array_len`)
        (n == 0 || !v.is_empty()).then_some(v)
    }
    /// kxC*f: `n` strings of `size` bytes each, clamped to the whole items in the record
    /// (`size` 0: `n` empty strings, unless the record already ended).
    pub fn arr_cf(&mut self, n: usize, size: usize) -> Option<Vec<Str<'a>>> {
        if size == 0 {
            return (!self.array_absent(false)).then(|| vec![Str(&[]); n]);
        }
        let n = self.array_len(n, size)?;
        Some((0..n).map(|_| Str(self.take(size))).collect())
    }
    /// The bytes not consumed by the decoder.
    pub fn rest(&self) -> &'a [u8] {
        &self.b[self.p..]
    }
}

/// Encoder for one record's payload.
pub struct Enc {
    /// The payload bytes written so far.
    pub buf: Vec<u8>,
    be: bool,
}

macro_rules! num_writer {
    ($name:ident, $t:ty) => {
        #[doc = concat!("Write a `", stringify!($t), "` in the encoder's byte order.")]
        #[inline]
        pub fn $name(&mut self, v: $t) {
            if self.be {
                self.buf.extend_from_slice(&v.to_be_bytes())
            } else {
                self.buf.extend_from_slice(&v.to_le_bytes())
            }
        }
    };
}

impl Enc {
    /// An empty encoder writing in byte order `order`.
    pub fn new(order: ByteOrder) -> Self {
        Enc {
            buf: Vec::with_capacity(64),
            be: order == ByteOrder::Big,
        }
    }
    /// U*1 (also B*1, C*1): one byte.
    pub fn u1(&mut self, v: u8) {
        self.buf.push(v)
    }
    /// I*1: one signed byte.
    pub fn i1(&mut self, v: i8) {
        self.buf.push(v as u8)
    }
    num_writer!(u2, u16);
    num_writer!(u4, u32);
    num_writer!(u8, u64);
    num_writer!(i2, i16);
    num_writer!(i4, i32);
    num_writer!(i8, i64);
    num_writer!(r4, f32);
    num_writer!(r8, f64);
    /// C*n: length byte then the bytes (cut to 255).
    pub fn cn(&mut self, s: &Str) {
        let n = s.0.len().min(255);
        self.buf.push(n as u8);
        self.buf.extend_from_slice(&s.0[..n]);
    }
    /// S*n: U*2 length then the bytes (cut to 65 535).
    pub fn sn(&mut self, s: &Str) {
        let n = s.0.len().min(65535);
        self.u2(n as u16);
        self.buf.extend_from_slice(&s.0[..n]);
    }
    /// C*f: exactly `size` bytes, cut or padded with spaces.
    pub fn cf(&mut self, s: &Str, size: usize) {
        for i in 0..size {
            self.buf.push(*s.0.get(i).unwrap_or(&b' '));
        }
    }
    /// B*n: byte count then the bytes (cut to 255).
    pub fn bn(&mut self, b: &[u8]) {
        let n = b.len().min(255);
        self.buf.push(n as u8);
        self.buf.extend_from_slice(&b[..n]);
    }
    /// D*n: the bit count, then ceil(bits/8) bytes: those held, zeros after them when the `Dn`
    /// holds fewer (never the case of a decoded one, see [`Cur::dn`]), extra ones left out.
    pub fn dn(&mut self, d: &Dn) {
        self.u2(d.nbits);
        let n = (d.nbits as usize).div_ceil(8);
        for i in 0..n {
            self.buf.push(*d.bytes.get(i).unwrap_or(&0));
        }
    }
    /// kxN*1: nibbles packed two per byte, low nibble first (an odd last one padded with 0).
    pub fn n1s(&mut self, v: &[u8]) {
        for pair in v.chunks(2) {
            let lo = pair[0] & 0x0f;
            let hi = pair.get(1).map(|x| x & 0x0f).unwrap_or(0);
            self.buf.push(lo | (hi << 4));
        }
    }
    /// One U*f item of width `size` bytes (1, 2, 4 or 8; any other width writes 1 byte).
    pub fn uf(&mut self, v: u64, size: usize) {
        match size {
            1 => self.u1(v as u8),
            2 => self.u2(v as u16),
            4 => self.u4(v as u32),
            8 => self.u8(v),
            _ => self.u1(v as u8),
        }
    }
}

//! Fuzz check of the writer: decode -> write -> decode gives the same records.
//!
//! Every record the reader delivers (up to the first damage) is decoded, written with
//! `stdf_core::writer::Writer` in its stream's byte order, and the bytes are read back as their
//! REC_LENs say (`trust_lengths`: the writer's bytes are whole; whether a valid record can look
//! damaged is the decode and tables targets' business):
//! * the writer accepts every decoded record;
//! * the same number of records comes back, with the same types, each decoding to the same
//!   value (floats compared by their bits, so NaN payloads must survive);
//! * writing the re-decoded records gives the same bytes again (encoding is stable).

use std::io::Cursor;

use stdf_core::codec::Enc;
use stdf_core::writer::Writer;
use stdf_core::{ByteOrder, Compression, Record, RecordReader};

/// (typ, sub, byte order, payload) of the records read, up to the first damage.
type Raw = Vec<(u8, u8, ByteOrder, Vec<u8>)>;

/// `trusted`: the bytes are the writer's (read as their REC_LENs say, no damage judgement).
fn read_all(data: &[u8], trusted: bool) -> Raw {
    let src = Box::new(Cursor::new(data.to_vec()));
    let Ok(mut r) =
        RecordReader::from_reader("fuzz-input", src, Compression::None, data.len() as u64)
    else {
        return Vec::new();
    };
    if trusted {
        r.trust_lengths();
    }
    let mut out = Vec::new();
    while let Ok(Some(raw)) = r.next_record() {
        out.push((raw.typ, raw.sub, raw.order, raw.payload.to_vec()));
    }
    out
}

/// Write records, each in its own byte order (a new writer at each change of order).
fn write_all(recs: &[(ByteOrder, Record)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w: Option<Writer<Vec<u8>>> = None;
    for (order, rec) in recs {
        if w.as_ref().is_none_or(|w| w.order() != *order) {
            if let Some(w) = w.take() {
                out.extend(w.into_inner());
            }
            w = Some(Writer::new(Vec::new(), *order));
        }
        let wr = w.as_mut().expect("set above");
        if let Err(e) = wr.write(rec) {
            panic!("the writer refuses a decoded record {rec:?}: {e}");
        }
    }
    if let Some(w) = w {
        out.extend(w.into_inner());
    }
    out
}

fn payload(rec: &Record, order: ByteOrder) -> Vec<u8> {
    let mut e = Enc::new(order);
    rec.encode_payload(&mut e);
    e.buf
}

/// Debug text with every float shown by its bits (so that NaN == NaN bitwise).
fn canon(rec: &Record) -> String {
    format!("{:?} {:?}", rec.codes(), payload(rec, ByteOrder::Little))
}

/// The fuzz check of the `roundtrip` target.
pub fn check(data: &[u8]) {
    let raw = read_all(data, false);
    let first: Vec<(ByteOrder, Record)> = raw
        .iter()
        .map(|(t, s, o, p)| (*o, Record::decode(*t, *s, p, *o).0))
        .collect();
    let bytes = write_all(&first);
    let back = read_all(&bytes, true);
    assert_eq!(back.len(), raw.len(), "records read back after writing");
    let second: Vec<(ByteOrder, Record)> = back
        .iter()
        .map(|(t, s, o, p)| (*o, Record::decode(*t, *s, p, *o).0))
        .collect();
    for (i, ((o1, r1), (o2, r2))) in first.iter().zip(&second).enumerate() {
        assert_eq!(o1, o2, "record {i}: byte order changed");
        assert_eq!(
            canon(r1),
            canon(r2),
            "record {i} changed in the round trip:\n  first  {r1:?}\n  second {r2:?}"
        );
        let (d1, d2) = (format!("{r1:?}"), format!("{r2:?}"));
        // (the encodings are equal here: a difference is in values that take no bytes)
        if d1 != d2 {
            panic!("record {i} changed in the round trip:\n  first  {r1:?}\n  second {r2:?}");
        }
    }
    assert_eq!(
        write_all(&second),
        bytes,
        "writing the re-read records gives other bytes"
    );
}

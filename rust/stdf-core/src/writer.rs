//! STDF writer: encodes any record in either byte order. Used for round-trip tests, the
//! fixtures the repository commits, sample data and synthetic benchmark input.

use std::io::{self, Write};

use crate::codec::{ByteOrder, Enc};
use crate::records::{Far, Record};

/// Writes records to a byte sink.
pub struct Writer<W: Write> {
    w: W,
    order: ByteOrder,
    enc: Enc,
    records: u64,
}

impl<W: Write> Writer<W> {
    /// A writer for one stream; the FAR is not written automatically (see [`Writer::far`]).
    pub fn new(w: W, order: ByteOrder) -> Self {
        Writer {
            w,
            order,
            enc: Enc::new(order),
            records: 0,
        }
    }

    /// The byte order records are written in.
    pub fn order(&self) -> ByteOrder {
        self.order
    }

    /// Write the FAR matching this writer's byte order (CPU_TYPE 2 little, 1 big; STDF_VER 4).
    pub fn far(&mut self) -> io::Result<()> {
        let cpu = if self.order == ByteOrder::Little {
            2
        } else {
            1
        };
        self.write(&Record::Far(Far {
            cpu_type: Some(cpu),
            stdf_ver: Some(4),
            ..Default::default()
        }))
    }

    /// Encode and write one record.
    pub fn write(&mut self, rec: &Record) -> io::Result<()> {
        self.enc.buf.clear();
        rec.encode_payload(&mut self.enc);
        let (typ, sub) = rec.codes();
        let payload = std::mem::take(&mut self.enc.buf);
        let r = self.write_raw(typ, sub, &payload);
        self.enc.buf = payload;
        r
    }

    /// Write a record from its codes and payload bytes.
    pub fn write_raw(&mut self, typ: u8, sub: u8, payload: &[u8]) -> io::Result<()> {
        let len = u16::try_from(payload.len()).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "record {typ}/{sub} payload of {} bytes exceeds 65535",
                    payload.len()
                ),
            )
        })?;
        let lb = match self.order {
            ByteOrder::Little => len.to_le_bytes(),
            ByteOrder::Big => len.to_be_bytes(),
        };
        self.w.write_all(&[lb[0], lb[1], typ, sub])?;
        self.w.write_all(payload)?;
        self.records += 1;
        Ok(())
    }

    /// Records written so far (the FAR included).
    pub fn records_written(&self) -> u64 {
        self.records
    }

    /// Flush the underlying sink.
    pub fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }

    /// The underlying sink (not flushed).
    pub fn into_inner(self) -> W {
        self.w
    }
}

/// Encode records as one stream (the caller writes the FAR): the records' bytes, or the error
/// of the first record whose payload does not fit a REC_LEN (over 65,535 bytes).
pub fn try_to_bytes(order: ByteOrder, records: &[Record]) -> io::Result<Vec<u8>> {
    let mut w = Writer::new(Vec::new(), order);
    for r in records {
        w.write(r)?;
    }
    Ok(w.into_inner())
}

/// [`try_to_bytes`] for records known to fit (tests, fixtures).
///
/// # Panics
///
/// When a record's payload is over 65,535 bytes (it cannot be written as one record).
pub fn to_bytes(order: ByteOrder, records: &[Record]) -> Vec<u8> {
    try_to_bytes(order, records).unwrap_or_else(|e| panic!("to_bytes: {e}"))
}

//! Fuzz the reader, every record decoder and the part/test state machine:
//! `cargo fuzz run decode` from rust/fuzz (needs cargo-fuzz). Any panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stdf_core::scan::{Flow, OnError, RecCtx, ScanState, Scanner, Sink};
use stdf_core::{Compression, RawRecord, Record, RecordReader};

struct DecodeAll;

impl Sink for DecodeAll {
    fn record(&mut self, st: &mut ScanState, raw: &RawRecord, _ctx: &RecCtx) -> Flow {
        let (rec, _) = Record::decode(raw.typ, raw.sub, raw.payload, raw.order);
        match &rec {
            Record::Ptr(p) => {
                st.catalog.resolve_ptr(p, raw.index);
            }
            Record::Mpr(m) => {
                st.catalog.resolve_mpr(m, raw.index);
            }
            Record::Tsr(t) => st.catalog.add_tsr(t),
            _ => {}
        }
        Flow::Continue
    }
}

fuzz_target!(|data: &[u8]| {
    for mode in [OnError::Raise, OnError::Warn] {
        let reader = match RecordReader::from_reader("fuzz", Box::new(std::io::Cursor::new(data.to_vec())), Compression::None, data.len() as u64) {
            Ok(r) => r,
            Err(_) => return,
        };
        let mut s = Scanner::new(reader, mode);
        while let Ok(true) = s.run(&mut DecodeAll) {}
    }
});

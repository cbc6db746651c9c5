//! Print every record of an STDF file: `cargo run --example dump -- FILE [MAX]`.
use stdf_core::{Record, RecordReader};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).expect("usage: dump FILE [MAX]");
    let max: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(u64::MAX);
    let mut r = match RecordReader::open(path) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1)
        }
    };
    loop {
        match r.next_record() {
            Ok(Some(raw)) => {
                if raw.index >= max {
                    break;
                }
                let (rec, _) = Record::decode(raw.typ, raw.sub, raw.payload, raw.order);
                println!(
                    "#{} @{} {} len={} {:?}",
                    raw.index,
                    raw.offset,
                    raw.label(),
                    raw.rec_len,
                    rec
                );
            }
            Ok(None) => break,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1)
            }
        }
    }
}

//! `cargo run --release --example table -- TABLE FILE... ` prints rows per batch and totals.
use stdf_arrow::{ReadOptions, TableReader};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = ReadOptions::new(&args[0]);
    let t = std::time::Instant::now();
    let r = match TableReader::open(&args[1..], opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1)
        }
    };
    let mut rows = 0;
    let mut first = true;
    for b in r {
        match b {
            Ok(b) => {
                if first {
                    println!(
                        "{}",
                        arrow_schema::Schema::clone(&b.schema())
                            .fields()
                            .iter()
                            .map(|f| f.name().clone())
                            .collect::<Vec<_>>()
                            .join(",")
                    );
                    first = false;
                }
                rows += b.num_rows();
            }
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(1)
            }
        }
    }
    println!("rows={rows} in {:?}", t.elapsed());
}

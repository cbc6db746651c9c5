//! `stdf-gen OUT.stdf [options]`: write a synthetic wafer-sort lot and print its statistics as
//! JSON lines on stdout.
#![forbid(unsafe_code)]

use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::ExitCode;

use stdf_core::ByteOrder;
use stdf_gen::{generate_lot, LotConfig};

const USAGE: &str = "usage: stdf-gen OUT.stdf [--size-mb N] [--sites N] [--wafers N] [--dice N]
                [--ptr N] [--mpr N] [--pins N] [--ftr N] [--seed N] [--lot ID]
                [--big-endian] [--gzip] [--no-retest] [--no-pir]

Writes a synthetic multi-site wafer-sort STDF lot (deterministic for a given seed and options)
and prints exact statistics of what was written as JSON lines. --size-mb adds wafers until the
uncompressed stream reaches N MiB; --gzip compresses the output (sizes stay uncompressed).";

fn parse<T: std::str::FromStr>(flag: &str, v: Option<String>) -> Result<T, String> {
    let v = v.ok_or_else(|| format!("{flag} needs a value"))?;
    v.parse()
        .map_err(|_| format!("{flag}: invalid value {v:?}"))
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut cfg = LotConfig::default();
    let mut out: Option<String> = None;
    let mut gzip = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            "--size-mb" => cfg.target_mb = Some(parse(&a, args.next())?),
            "--sites" => cfg.sites = parse(&a, args.next())?,
            "--wafers" => cfg.wafers = parse(&a, args.next())?,
            "--dice" => cfg.dice_per_wafer = parse(&a, args.next())?,
            "--ptr" => cfg.ptr_tests = parse(&a, args.next())?,
            "--mpr" => cfg.mpr_tests = parse(&a, args.next())?,
            "--pins" => cfg.pins = parse(&a, args.next())?,
            "--ftr" => cfg.ftr_tests = parse(&a, args.next())?,
            "--seed" => cfg.seed = parse(&a, args.next())?,
            "--lot" => cfg.lot_id = parse(&a, args.next())?,
            "--big-endian" => cfg.order = ByteOrder::Big,
            "--gzip" => gzip = true,
            "--no-retest" => cfg.retest = false,
            "--no-pir" => cfg.write_pir = false,
            s if s.starts_with('-') => return Err(format!("unknown option {s}\n{USAGE}")),
            s => {
                if out.replace(s.to_string()).is_some() {
                    return Err(format!("only one output file\n{USAGE}"));
                }
            }
        }
    }
    if cfg.target_mb.is_some() && !std::env::args().any(|a| a == "--wafers") {
        cfg.wafers = 1;
    }
    let path = out.ok_or_else(|| USAGE.to_string())?;
    let file = File::create(&path).map_err(|e| format!("{path}: {e}"))?;
    let w = BufWriter::with_capacity(1 << 20, file);
    let stats = if gzip {
        let mut gz = flate2::write::GzEncoder::new(w, flate2::Compression::fast());
        let s = generate_lot(&cfg, &mut gz).map_err(|e| format!("{path}: {e}"))?;
        gz.finish()
            .and_then(|mut w| w.flush())
            .map_err(|e| format!("{path}: {e}"))?;
        s
    } else {
        let mut w = w;
        let s = generate_lot(&cfg, &mut w).map_err(|e| format!("{path}: {e}"))?;
        w.flush().map_err(|e| format!("{path}: {e}"))?;
        s
    };
    let stdout = std::io::stdout();
    let mut o = stdout.lock();
    for line in stats.json_lines() {
        writeln!(o, "{line}").map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stdf-gen: {e}");
            ExitCode::from(2)
        }
    }
}

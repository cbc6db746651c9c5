//! Turn the built shared library into `stdf.duckdb_extension` by appending DuckDB's metadata
//! footer (ABI C_STRUCT, C API v1.2.0, this machine's DuckDB platform).
//!
//! ```text
//! cargo build --release -p stdf-duckdb
//! cargo run --release -p stdf-duckdb --bin stdf-duckdb-footer      # -> target/release/stdf.duckdb_extension
//! stdf-duckdb-footer [--lib PATH] [--out PATH] [--platform NAME]
//! ```
//! By default the library is looked up next to this program (the same target directory).

use std::path::PathBuf;
use std::process::ExitCode;

use stdf_duckdb::{capi::API_VERSION, extension_version, footer};

fn run() -> Result<PathBuf, String> {
    let here = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = here
        .parent()
        .ok_or("no directory for this program")?
        .to_path_buf();
    let mut lib = dir.join(format!(
        "{}stdf_duckdb{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    let mut out = dir.join("stdf.duckdb_extension");
    let mut platform = std::env::var("DUCKDB_PLATFORM").unwrap_or_else(|_| footer::host_platform());
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--lib" => lib = PathBuf::from(value()?),
            "--out" => out = PathBuf::from(value()?),
            "--platform" => platform = value()?,
            "-h" | "--help" => {
                println!("usage: stdf-duckdb-footer [--lib PATH] [--out PATH] [--platform NAME]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if !out.to_string_lossy().ends_with(".duckdb_extension") {
        return Err(format!(
            "{}: the output name must end in .duckdb_extension",
            out.display()
        ));
    }
    footer::write_extension(&lib, &out, &extension_version(), API_VERSION, &platform)?;
    Ok(out)
}

fn main() -> ExitCode {
    match run() {
        Ok(out) => {
            println!("{}", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("stdf-duckdb-footer: {e}");
            ExitCode::FAILURE
        }
    }
}

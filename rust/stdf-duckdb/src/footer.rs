//! The 512-byte metadata footer DuckDB reads from the end of a `.duckdb_extension` file.
//!
//! Layout (DuckDB reads the last 512 bytes): a 22-byte WebAssembly custom-section header (so the
//! file stays a valid Wasm module where that matters), eight 32-byte NUL-padded ASCII fields, then
//! 256 bytes of signature space (zeros: the extension is unsigned). The fields are written last
//! field first: three unused, the ABI type, the extension version, the DuckDB (for `C_STRUCT`: C
//! API) version, the platform, and the magic value `4`.

use std::io::Write;
use std::path::Path;

/// The ABI of the stable C extension API (DuckDB checks the C API version, not its own version).
pub const ABI_TYPE: &str = "C_STRUCT";
pub const FOOTER_LEN: usize = 512;
const FIELD_LEN: usize = 32;
const SIGNATURE_LEN: usize = 256;
const SECTION_NAME: &[u8; 16] = b"duckdb_signature";

/// The DuckDB platform name of the target this code was compiled for (`PRAGMA platform`).
pub fn host_platform() -> String {
    let os = match std::env::consts::OS {
        "macos" => "osx",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "i686",
        other => other,
    };
    let mut p = format!("{os}_{arch}");
    if cfg!(target_env = "musl") {
        p.push_str("_musl");
    } else if cfg!(all(target_os = "windows", target_env = "gnu")) {
        p.push_str("_mingw");
    }
    p
}

/// LEB128 (unsigned) as used by Wasm section sizes.
fn leb128(mut v: u32, out: &mut Vec<u8>) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn field(s: &str, out: &mut Vec<u8>) -> Result<(), String> {
    if !s.is_ascii() || s.len() > FIELD_LEN {
        return Err(format!(
            "footer field {s:?} must be ASCII of at most {FIELD_LEN} bytes"
        ));
    }
    out.extend_from_slice(s.as_bytes());
    out.resize(out.len() + FIELD_LEN - s.len(), 0);
    Ok(())
}

/// The footer bytes: the custom-section header (22 bytes) and the 512-byte metadata block.
pub fn footer(
    extension_version: &str,
    c_api_version: &str,
    platform: &str,
) -> Result<Vec<u8>, String> {
    let payload = 8 * FIELD_LEN + SIGNATURE_LEN; // 512
    let mut out = vec![0u8]; // Wasm section id 0: custom section
    leb128((1 + SECTION_NAME.len() + 2 + payload) as u32, &mut out); // name length byte, name, LEB128(512), payload
    out.push(SECTION_NAME.len() as u8);
    out.extend_from_slice(SECTION_NAME);
    leb128(payload as u32, &mut out);
    for f in [
        "",
        "",
        "",
        ABI_TYPE,
        extension_version,
        c_api_version,
        platform,
        "4",
    ] {
        field(f, &mut out)?;
    }
    out.resize(out.len() + SIGNATURE_LEN, 0);
    Ok(out)
}

/// Copy the shared library `lib` to `out` with the footer appended (written to a temporary file
/// next to `out`, then renamed, so a half-written extension is never loaded).
pub fn write_extension(
    lib: &Path,
    out: &Path,
    extension_version: &str,
    c_api_version: &str,
    platform: &str,
) -> Result<(), String> {
    let tail = footer(extension_version, c_api_version, platform)?;
    let body = std::fs::read(lib).map_err(|e| format!("{}: {e}", lib.display()))?;
    let tmp = out.with_extension("duckdb_extension.tmp");
    let mut f = std::fs::File::create(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    f.write_all(&body)
        .and_then(|_| f.write_all(&tail))
        .and_then(|_| f.sync_all())
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    drop(f);
    std::fs::rename(&tmp, out).map_err(|e| format!("{}: {e}", out.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footer_layout() {
        let f = footer("v0.1.0", "v1.2.0", "linux_amd64").unwrap();
        assert_eq!(f.len(), 22 + FOOTER_LEN);
        assert_eq!(&f[..4], &[0x00, 0x93, 0x04, 0x10]);
        assert_eq!(&f[4..20], b"duckdb_signature");
        assert_eq!(&f[20..22], &[0x80, 0x04]);
        let meta = &f[22..];
        let fld = |i: usize| {
            let b = &meta[i * 32..(i + 1) * 32];
            String::from_utf8(b.iter().copied().take_while(|c| *c != 0).collect()).unwrap()
        };
        let fields: Vec<String> = (0..8).map(fld).collect();
        assert_eq!(
            fields,
            [
                "",
                "",
                "",
                "C_STRUCT",
                "v0.1.0",
                "v1.2.0",
                "linux_amd64",
                "4"
            ]
        );
        assert!(meta[256..].iter().all(|b| *b == 0));
    }

    #[test]
    fn fields_are_bounded() {
        assert!(footer(&"x".repeat(33), "v1.2.0", "linux_amd64").is_err());
    }

    #[test]
    fn platform_name() {
        let p = host_platform();
        assert!(p.contains('_'), "{p}");
        #[cfg(all(target_os = "linux", target_arch = "x86_64", target_env = "gnu"))]
        assert_eq!(p, "linux_amd64");
    }
}

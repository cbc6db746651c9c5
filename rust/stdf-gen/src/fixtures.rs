//! The small STDF files committed under `tests/fixtures/`, and their README.
//!
//! Every file is written by stdf-core's own writer: generator-based fixtures from
//! [`generate_lot`] (their expected values are the generator's [`Stats`]), the others record by
//! record below (their expected values are written out by hand in the README text).
//! Regenerate with `cargo test -p stdf-gen -- --ignored regenerate_fixtures`.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use stdf_core::records::{
    Cdr, Cnr, Dtr, Ftr, Hbr, Mir, Mpr, Mrr, Nmr, Pcr, Pgr, Pir, Pmr, Prr, Psr, Ptr, Sbr, Ssr,
    StrRec, Tsr, Vur,
};
use stdf_core::writer::Writer;
use stdf_core::{ByteOrder, Dn, Record, RecordReader, Str};

use crate::lot::{generate_lot, LotConfig, Stats};

mod hand;
mod readme;
mod records;

use hand::*;
use readme::*;

/// Upper bound for a committed fixture.
pub const MAX_FIXTURE_BYTES: usize = 50 * 1024;

/// One committed file.
pub struct Fixture {
    pub name: &'static str,
    pub bytes: Vec<u8>,
}

fn stream(order: ByteOrder, recs: &[Record]) -> Vec<u8> {
    let mut w = Writer::new(Vec::new(), order);
    w.far().expect("vec");
    for r in recs {
        w.write(r).expect("vec");
    }
    w.into_inner()
}

fn lot(cfg: &LotConfig) -> (Vec<u8>, Stats) {
    let mut v = Vec::new();
    let s = generate_lot(cfg, &mut v).expect("vec");
    (v, s)
}

/// The configuration of multisite_le.stdf (multisite_be.stdf: the same, big-endian).
pub fn multisite_config(order: ByteOrder) -> LotConfig {
    LotConfig {
        lot_id: "MS4LOT".into(),
        part_typ: "SYNPART-A1".into(),
        job_nam: "SYNPART_CP1".into(),
        sites: 4,
        wafers: 2,
        dice_per_wafer: 40,
        ptr_tests: 5,
        mpr_tests: 1,
        pins: 4,
        ftr_tests: 2,
        order,
        seed: 2024,
        ..Default::default()
    }
}

/// The configuration of no_pir.stdf.
pub fn no_pir_config() -> LotConfig {
    LotConfig {
        lot_id: "NOPIR01".into(),
        sites: 4,
        first_site: 0,
        wafers: 1,
        dice_per_wafer: 24,
        ptr_tests: 3,
        mpr_tests: 0,
        ftr_tests: 1,
        pins: 4,
        write_pir: false,
        seed: 26,
        ..Default::default()
    }
}

/// The two streams of concat.stdf.
pub fn concat_configs() -> [LotConfig; 2] {
    let a = LotConfig {
        lot_id: "CONCAT_A".into(),
        sites: 2,
        wafers: 1,
        dice_per_wafer: 20,
        ptr_tests: 3,
        mpr_tests: 1,
        pins: 2,
        ftr_tests: 1,
        seed: 31,
        ..Default::default()
    };
    let b = LotConfig {
        lot_id: "CONCAT_B".into(),
        order: ByteOrder::Big,
        seed: 32,
        start_t: 1_700_100_000,
        ..a.clone()
    };
    [a, b]
}

/// The lot cut to make truncated.stdf.
pub fn truncated_config() -> LotConfig {
    LotConfig {
        lot_id: "TRUNC01".into(),
        sites: 2,
        wafers: 1,
        dice_per_wafer: 12,
        ptr_tests: 3,
        mpr_tests: 0,
        ftr_tests: 1,
        pins: 2,
        seed: 77,
        ..Default::default()
    }
}

/// Which PTR (0-based, in file order) truncated.stdf is cut inside.
pub const TRUNCATED_PTR_ORDINAL: usize = 20;

// ---------------------------------------------------------------------------------------------
// Hand-built fixtures
// ---------------------------------------------------------------------------------------------

/// The full lot of truncated.stdf, the cut position and the cut PTR's offset.
pub fn truncated_parts() -> (Vec<u8>, usize, u64, Stats) {
    let (full, st) = lot(&truncated_config());
    let mut rd = RecordReader::from_reader(
        "truncated",
        Box::new(io::Cursor::new(full.clone())),
        stdf_core::Compression::None,
        full.len() as u64,
    )
    .expect("reader");
    let mut k = 0;
    let mut off = None;
    while let Some(r) = rd.next_record().expect("valid") {
        if r.typ == 15 && r.sub == 10 {
            if k == TRUNCATED_PTR_ORDINAL {
                off = Some(r.offset);
                break;
            }
            k += 1;
        }
    }
    let off = off.expect("enough PTRs");
    // header (4) + TEST_NUM, HEAD, SITE, TEST_FLG, PARM_FLG (8) + 2 of RESULT's 4 bytes
    let cut = off as usize + 4 + 8 + 2;
    (full, cut, off, st)
}

/// Build every fixture and the README (in memory).
pub fn build_all() -> Vec<Fixture> {
    let mut out = Vec::new();
    let mut readme = String::from(README_HEAD);

    let (le, s_le) = lot(&multisite_config(ByteOrder::Little));
    let (be, s_be) = lot(&multisite_config(ByteOrder::Big));
    readme.push_str(
        "\n## multisite_le.stdf / multisite_be.stdf\n\n\
         Generator lot (`fixtures::multisite_config`): 4 sites in parallel (SITE_NUM 1-4, HEAD 1), \
         2 round wafers of about 40 dice, per die 1 MPR (4 pins), 5 PTR and 2 FTR tests, stop on \
         first fail, end-of-wafer re-probes without supersede flags. multisite_le is \
         little-endian (CPU_TYPE 2), multisite_be is the same content big-endian (CPU_TYPE 1): \
         every decoded value is identical. Summary records use HEAD 255 / SITE 255.\n",
    );
    readme.push_str(&stats_md(&s_le));
    let mut s_be2 = s_be.clone();
    s_be2.byte_order = s_le.byte_order;
    assert_eq!(s_be2, s_le, "big-endian twin has the same content");
    out.push(Fixture {
        name: "multisite_le.stdf",
        bytes: le,
    });
    out.push(Fixture {
        name: "multisite_be.stdf",
        bytes: be,
    });

    out.push(Fixture {
        name: "mpr_ftr.stdf",
        bytes: mpr_ftr(),
    });
    readme.push_str(MPR_FTR_MD);
    out.push(Fixture {
        name: "v4_2007.stdf",
        bytes: v4_2007(),
    });
    readme.push_str(V4_2007_MD);

    let (full, cut, off, st) = truncated_parts();
    let bytes = full[..cut].to_vec();
    let summary = truncated_summary(&bytes);
    let _ = writeln!(
        readme,
        "\n## truncated.stdf\n\n\
         The generator lot `fixtures::truncated_config` (TRUNC01, 2 sites, 1 wafer, 3 PTR + 1 FTR \
         tests, little-endian; full stream {} bytes, {} records) cut inside PTR number {} \
         (0-based, in file order): the file ends 2 bytes into that PTR's RESULT.\n\n\
         * file size: {} bytes\n\
         * complete records before the cut: {} (FAR first)\n\
         * the cut record: PTR at byte offset {} (TEST_NUM {}, SITE_NUM {}), REC_LEN {} \
         but only {} payload bytes present\n\
         * complete parts (PRRs) before the cut: {}; PIRs before the cut: {}; parts open at the \
         cut: {}\n\
         * PTRs complete before the cut: {}\n\
         * reading it: error kind `Truncated`, offset {}, record `PTR`\n",
        st.bytes,
        st.records,
        TRUNCATED_PTR_ORDINAL,
        bytes.len(),
        summary.records,
        off,
        summary.cut_test,
        summary.cut_site,
        summary.cut_len,
        cut as u64 - off - 4,
        summary.prrs,
        summary.pirs,
        summary.pirs - summary.prrs,
        summary.ptrs,
        off,
    );
    out.push(Fixture {
        name: "truncated.stdf",
        bytes,
    });

    out.push(Fixture {
        name: "corrupt.stdf",
        bytes: corrupt(),
    });
    readme.push_str(CORRUPT_MD);

    let (np, s_np) = lot(&no_pir_config());
    readme.push_str(
        "\n## no_pir.stdf\n\n\
         Pitfall P26: generator lot `fixtures::no_pir_config` with `write_pir: false`: no PIR \
         anywhere; results of sites 0-3 interleave and each part is closed by its PRR only. \
         SITE_NUM 0-3, little-endian. A reader must open a part implicitly at the first result of \
         a head/site with none open.\n",
    );
    readme.push_str(&stats_md(&s_np));
    out.push(Fixture {
        name: "no_pir.stdf",
        bytes: np,
    });

    let [ca, cb] = concat_configs();
    let (a, s_a) = lot(&ca);
    let (b, s_b) = lot(&cb);
    let _ = writeln!(
        readme,
        "\n## concat.stdf\n\n\
         Two complete FAR..MRR streams byte-concatenated (pitfall P21): stream 0 = lot CONCAT_A, \
         little-endian, bytes 0..{}; stream 1 = lot CONCAT_B, **big-endian**, starting at byte \
         offset {} with its own FAR. Total {} bytes, {} records.\n",
        a.len(),
        a.len(),
        a.len() + b.len(),
        s_a.records + s_b.records
    );
    readme.push_str("\n### stream 0 (CONCAT_A)\n");
    readme.push_str(&stats_md(&s_a));
    readme.push_str("\n### stream 1 (CONCAT_B)\n");
    readme.push_str(&stats_md(&s_b));
    out.push(Fixture {
        name: "concat.stdf",
        bytes: [a, b].concat(),
    });

    out.push(Fixture {
        name: "latin1.stdf",
        bytes: latin1(),
    });
    readme.push_str(LATIN1_MD);

    let mut sizes = String::from("\n## File sizes\n\n| file | bytes |\n|---|---|\n");
    for f in &out {
        let _ = writeln!(sizes, "| {} | {} |", f.name, f.bytes.len());
        assert!(f.bytes.len() <= MAX_FIXTURE_BYTES, "{} is too big", f.name);
    }
    readme.push_str(&sizes);
    out.push(Fixture {
        name: "README.md",
        bytes: readme.into_bytes(),
    });
    out
}

/// Write every fixture (and README.md) into `dir`.
pub fn write_all(dir: &Path) -> io::Result<Vec<&'static str>> {
    std::fs::create_dir_all(dir)?;
    let mut names = Vec::new();
    for f in build_all() {
        std::fs::write(dir.join(f.name), &f.bytes)?;
        names.push(f.name);
    }
    Ok(names)
}

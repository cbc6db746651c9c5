//! The rows of the lot tables: parts, bins, wafers, the wafer configuration, part counts,
//! tests, streams and the file, as plain structs filled by [`Lot`](super::Lot).

use std::sync::Arc;

use crate::semantics::{TestDef, Warning};

/// The MIR's text fields, in spec order: the `stdf_files` columns of the same names.
pub const MIR_TEXT: &[&str] = &[
    "lot_id", "part_typ", "node_nam", "tstr_typ", "job_nam", "job_rev", "sblot_id", "oper_nam",
    "exec_typ", "exec_ver", "test_cod", "tst_temp", "user_txt", "aux_file", "pkg_typ", "famly_id",
    "date_cod", "facil_id", "floor_id", "proc_id", "oper_frq", "spec_nam", "spec_ver", "flow_id",
    "setup_id", "dsgn_rev", "eng_id", "rom_cod", "serl_num", "supr_nam",
];
/// Index of `MIR_TEXT[0]` among the MIR's fields.
pub(super) const MIR_TEXT_FIRST_FIELD: usize = 8;

/// Bin type of an HBR (hard bin).
pub const HARD: &str = "H";
/// Bin type of an SBR (soft bin).
pub const SOFT: &str = "S";

/// One part (PIR ... PRR): a row of `stdf_parts`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Part {
    /// Stream of the file the part is in.
    pub stream_index: u16,
    /// Index into [`Lot::contexts`](super::Lot::contexts).
    pub ctx: usize,
    /// Ordinal of the part in the file (§3.2).
    pub part_index: u32,
    /// Wafer open on the part's head, if any.
    pub wafer_index: Option<u16>,
    /// HEAD_NUM.
    pub head: u8,
    /// SITE_NUM.
    pub site: u8,
    /// PRR.PART_ID (empty: None).
    pub part_id: Option<String>,
    /// PRR.PART_TXT.
    pub part_txt: Option<String>,
    /// PRR.X_COORD (-32768: None).
    pub x: Option<i16>,
    /// PRR.Y_COORD (-32768: None).
    pub y: Option<i16>,
    /// PRR.HARD_BIN.
    pub hard_bin: Option<u16>,
    /// PRR.SOFT_BIN (65535: None).
    pub soft_bin: Option<u16>,
    /// PRR.PART_FLG.
    pub part_flg: Option<u8>,
    /// PRR.NUM_TEST.
    pub num_test: Option<u16>,
    /// PRR.TEST_T in ms (0: None).
    pub test_t: Option<u32>,
    /// PRR.PART_FIX (empty: None).
    pub part_fix: Option<Vec<u8>>,
    /// A PRR closed the part.
    pub complete: bool,
    /// A PIR opened the part.
    pub has_pir: bool,
    /// Record index of the PIR.
    pub pir_rec: Option<u64>,
    /// Record index of the PRR.
    pub prr_rec: Option<u64>,
    /// Test records attached to the part.
    pub n_results: u32,
    /// Attached test records that failed.
    pub n_failed: u32,
    /// TEST_NUM of the first failing attached record.
    pub first_fail: Option<u32>,
    /// Catalog name of `first_fail`.
    pub first_fail_name: Option<Arc<str>>,
    /// HBR name of the hard bin (§3.11).
    pub hbin_name: Option<Arc<str>>,
    /// SBR name of the soft bin.
    pub sbin_name: Option<Arc<str>>,
    /// HBR P/F of the hard bin.
    pub hbin_pf: Option<Arc<str>>,
    /// SBR P/F of the soft bin.
    pub sbin_pf: Option<Arc<str>>,
    /// Part pass/fail (§3.8): PART_FLG, else the bins' P/F; None for an incomplete part.
    pub passed: Option<bool>,
    /// Where `passed` came from: "part_flg", "hbin_pf", "sbin_pf".
    pub pass_source: Option<&'static str>,
    /// 0 for the first test of this die (or part id) in the stream, then 1, 2, ... (§3.10).
    pub retest_index: u16,
    /// No later part of the stream has the same identity.
    pub is_final: bool,
    /// `part_index` of the next test of the same die.
    pub superseded_by: Option<u32>,
}

impl Part {
    /// PART_FLG bit `mask` set (None without a PRR).
    pub fn flag(&self, mask: u8) -> Option<bool> {
        self.part_flg.map(|f| f & mask != 0)
    }
}

/// One HBR/SBR, or a bin seen only in PRRs: a row of `stdf_bins`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Bin {
    /// Stream of the file.
    pub stream_index: u16,
    /// Index into [`Lot::contexts`](super::Lot::contexts).
    pub ctx: usize,
    /// [`HARD`] or [`SOFT`].
    pub bin_type: &'static str,
    /// Bin number.
    pub bin_num: u16,
    /// Bin name.
    pub bin_name: Option<String>,
    /// "P", "F" or None.
    pub bin_pf: Option<String>,
    /// A summary record (HEAD_NUM 255); None for a bin seen only in PRRs.
    pub is_summary: Option<bool>,
    /// HEAD_NUM of a per-site record.
    pub head: Option<u8>,
    /// SITE_NUM of a per-site record.
    pub site: Option<u8>,
    /// HBIN_CNT / SBIN_CNT.
    pub bin_cnt: Option<u32>,
    /// Complete parts in this bin (of this site for a per-site record).
    pub n_parts: u32,
    /// Of them, the final ones.
    pub n_parts_final: u32,
    /// Record index of the HBR/SBR.
    pub record_index: Option<u64>,
}

/// One wafer (WIR ... WRR): a row of `stdf_wafers` (with the stream's [`WaferConfig`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Wafer {
    /// Stream of the file.
    pub stream_index: u16,
    /// Index into [`Lot::contexts`](super::Lot::contexts).
    pub ctx: usize,
    /// Ordinal of the wafer in the file.
    pub wafer_index: u16,
    /// HEAD_NUM.
    pub head: u8,
    /// SITE_GRP (255: None).
    pub site_grp: Option<u8>,
    /// WRR.WAFER_ID, else WIR.WAFER_ID.
    pub wafer_id: Option<String>,
    /// WRR.FABWF_ID.
    pub fabwf_id: Option<String>,
    /// WRR.FRAME_ID.
    pub frame_id: Option<String>,
    /// WRR.MASK_ID.
    pub mask_id: Option<String>,
    /// WRR.USR_DESC.
    pub usr_desc: Option<String>,
    /// WRR.EXC_DESC.
    pub exc_desc: Option<String>,
    /// WIR.START_T (0: None).
    pub start_time: Option<i64>,
    /// WRR.FINISH_T (0: None).
    pub finish_time: Option<i64>,
    /// The WRR's counts.
    pub counts: PartCounts,
    /// A WRR closed the wafer.
    pub complete: bool,
    /// Complete parts on the wafer.
    pub n_parts: u32,
    /// Dice: distinct (x, y), plus final parts without coordinates.
    pub n_dice: u32,
    /// Dice tested more than once.
    pub n_retested: u32,
    /// Final parts that passed.
    pub n_passed_final: u32,
}

impl Wafer {
    /// Final yield: passed final parts over dice (None without dice).
    pub fn yield_final(&self) -> Option<f64> {
        (self.n_dice > 0).then(|| self.n_passed_final as f64 / self.n_dice as f64)
    }
}

/// The WCR of a stream.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WaferConfig {
    /// WAFR_SIZ (0: None).
    pub wafr_siz: Option<f32>,
    /// DIE_HT (0: None).
    pub die_ht: Option<f32>,
    /// DIE_WID (0: None).
    pub die_wid: Option<f32>,
    /// WF_UNITS as "in", "cm", "mm", "mil".
    pub wf_units: Option<String>,
    /// WF_FLAT.
    pub wf_flat: Option<String>,
    /// POS_X.
    pub pos_x: Option<String>,
    /// POS_Y.
    pub pos_y: Option<String>,
    /// CENTER_X (-32768: None).
    pub center_x: Option<i16>,
    /// CENTER_Y (-32768: None).
    pub center_y: Option<i16>,
}

/// PART_CNT, RTST_CNT, ABRT_CNT, GOOD_CNT, FUNC_CNT of a PCR or WRR (sentinel: None).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PartCounts {
    /// Parts tested.
    pub part_cnt: Option<u32>,
    /// Parts retested.
    pub rtst_cnt: Option<u32>,
    /// Aborts.
    pub abrt_cnt: Option<u32>,
    /// Good parts.
    pub good_cnt: Option<u32>,
    /// Functional parts.
    pub func_cnt: Option<u32>,
}

impl PartCounts {
    pub(super) fn from_fields(v: [Option<u32>; 5]) -> Self {
        let s = |x: Option<u32>| x.filter(|&c| c != u32::MAX);
        PartCounts {
            part_cnt: s(v[0]),
            rtst_cnt: s(v[1]),
            abrt_cnt: s(v[2]),
            good_cnt: s(v[3]),
            func_cnt: s(v[4]),
        }
    }
    pub(super) fn add(&mut self, o: &PartCounts) {
        let sum = |a: Option<u32>, b: Option<u32>| match (a, b) {
            (Some(a), Some(b)) => Some(a.saturating_add(b)),
            (a, b) => a.or(b),
        };
        self.part_cnt = sum(self.part_cnt, o.part_cnt);
        self.rtst_cnt = sum(self.rtst_cnt, o.rtst_cnt);
        self.abrt_cnt = sum(self.abrt_cnt, o.abrt_cnt);
        self.good_cnt = sum(self.good_cnt, o.good_cnt);
        self.func_cnt = sum(self.func_cnt, o.func_cnt);
    }
}

/// One test of a stream's catalog: a row of `stdf_tests`.
#[derive(Clone, Debug, Default)]
pub struct TestEntry {
    /// Stream of the file.
    pub stream_index: u16,
    /// Index into [`Lot::contexts`](super::Lot::contexts).
    pub ctx: usize,
    /// The catalog's definition.
    pub def: TestDef,
    /// Pin names of the MPR default pins.
    pub pin_names: Option<Vec<Option<String>>>,
}

/// One stream (FAR ... MRR): a row of `stdf_files`.
#[derive(Clone, Debug, Default)]
pub struct StreamSummary {
    /// Stream of the file.
    pub stream_index: u16,
    /// Index into [`Lot::contexts`](super::Lot::contexts).
    pub ctx: usize,
    /// "little" or "big".
    pub byte_order: Option<&'static str>,
    /// FAR.CPU_TYPE.
    pub cpu_type: Option<u8>,
    /// FAR.STDF_VER.
    pub stdf_ver: Option<u8>,
    /// VUR.UPD_NAM values.
    pub extensions: Vec<String>,
    /// MIR.SETUP_T.
    pub setup_time: Option<i64>,
    /// MIR.START_T.
    pub start_time: Option<i64>,
    /// MRR.FINISH_T.
    pub finish_time: Option<i64>,
    /// MIR.STAT_NUM.
    pub stat_num: Option<u8>,
    /// MIR.MODE_COD.
    pub mode_cod: Option<String>,
    /// MIR.RTST_COD.
    pub rtst_cod: Option<String>,
    /// MIR.PROT_COD.
    pub prot_cod: Option<String>,
    /// MIR.CMOD_COD.
    pub cmod_cod: Option<String>,
    /// MIR.BURN_TIM (65535: None).
    pub burn_tim: Option<u16>,
    /// The MIR's text fields, as [`MIR_TEXT`] names them.
    pub mir_text: Vec<Option<String>>,
    /// MRR.DISP_COD.
    pub disp_cod: Option<String>,
    /// MRR.USR_DESC.
    pub usr_desc: Option<String>,
    /// MRR.EXC_DESC.
    pub exc_desc: Option<String>,
    /// The summary PCR (HEAD_NUM 255).
    pub pcr_summary: Option<PartCounts>,
    /// The per-site PCRs, summed.
    pub pcr_sites: Option<PartCounts>,
    /// RDR.RTST_BIN.
    pub retest_bins: Option<Vec<u16>>,
    /// ATRs: (MOD_TIM, CMD_LINE).
    pub audit: Vec<(Option<i64>, Option<String>)>,
    /// Records in the stream.
    pub n_records: u64,
    /// Parts.
    pub n_parts: u32,
    /// Final complete parts.
    pub n_parts_final: u32,
    /// Final parts that passed.
    pub n_passed_final: u32,
    /// Wafers.
    pub n_wafers: u16,
    /// Distinct (head, site).
    pub n_sites: u16,
    /// Tests in the catalog.
    pub n_tests: u32,
    /// Test records.
    pub n_results: u64,
    /// MRR seen, no part left open, no damage.
    pub complete: bool,
}

impl StreamSummary {
    /// The MIR text field `name` (one of [`MIR_TEXT`]).
    pub fn mir(&self, name: &str) -> Option<&str> {
        let i = MIR_TEXT.iter().position(|n| *n == name)?;
        self.mir_text.get(i)?.as_deref()
    }
    /// The stream's part counts: the summary PCR, else the sum of the per-site PCRs.
    pub fn part_counts(&self) -> PartCounts {
        self.pcr_summary.or(self.pcr_sites).unwrap_or_default()
    }
    /// Final yield: passed over final complete parts (None without parts).
    pub fn yield_final(&self) -> Option<f64> {
        (self.n_parts_final > 0).then(|| self.n_passed_final as f64 / self.n_parts_final as f64)
    }
}

/// What the whole file says of itself.
#[derive(Clone, Debug, Default)]
pub struct FileInfo {
    /// The file's id (content based).
    pub file_id: String,
    /// Its path as given.
    pub path: String,
    /// Every warning of the read.
    pub warnings: Vec<Warning>,
    /// Bytes on disk.
    pub file_size: u64,
    /// "none", "gzip", ...
    pub compression: &'static str,
    /// Bytes of STDF (decompressed).
    pub stream_size: u64,
    /// Content hash, when enabled on the reader.
    pub content_hash: Option<String>,
    /// Streams in the file.
    pub stream_count: u16,
}

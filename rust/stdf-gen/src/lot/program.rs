//! The test program of a generated lot: PTR/MPR/FTR templates, their parameters and limits,
//! bin names, and how a value is drawn, quantized and judged.

use super::*;

/// (name, units, RES_SCAL, format, mean, sigma, has a low limit)
pub(super) type Template = (&'static str, &'static str, i8, &'static str, f64, f64, bool);

pub(super) const PTR_TEMPLATES: &[Template] = &[
    ("IDD_ACTIVE", "A", 3, "%7.3f", 12.5e-3, 0.4e-3, true),
    ("IDDQ", "A", 6, "%7.2f", 2.0e-6, 0.2e-6, false),
    ("VREF", "V", 3, "%7.2f", 1.2, 0.004, true),
    ("F_OSC", "Hz", -6, "%7.3f", 32.0e6, 0.15e6, true),
    ("T_PD", "s", 9, "%6.3f", 2.5e-9, 0.05e-9, true),
    ("VOH", "V", 0, "%6.3f", 3.1, 0.02, true),
    ("VOL", "V", 3, "%6.1f", 0.15, 0.01, true),
    ("I_LEAK_IN", "A", 9, "%7.2f", 5e-9, 2e-9, true),
    ("GAIN", "dB", 0, "%6.2f", 20.0, 0.15, true),
    ("V_OFFSET", "V", 3, "%7.3f", 0.0, 0.8e-3, true),
];

pub(super) const MPR_TEMPLATES: &[Template] = &[
    ("CONTINUITY", "V", 3, "%7.1f", -0.6, 0.02, true),
    ("IIL_PINS", "A", 9, "%7.2f", -2e-9, 1e-9, true),
    ("IIH_PINS", "A", 9, "%7.2f", 2e-9, 1e-9, true),
    ("VOH_PINS", "V", 0, "%6.3f", 2.9, 0.03, true),
];

pub(super) const FTR_TEMPLATES: &[(&str, u32)] = &[
    ("SCAN_CHAIN", 40_960),
    ("MBIST_RAM", 131_072),
    ("FUNC_CORE", 8_192),
    ("JTAG_IDCODE", 256),
    ("PLL_LOCK", 2_048),
];

pub(super) const PIN_NAMES: &[&str] = &["CLK", "RST_N", "SDA", "SCL", "TX", "RX", "MOSI", "MISO"];

pub(super) fn pin_name(p: u16) -> String {
    match PIN_NAMES.get(p as usize) {
        Some(n) => n.to_string(),
        None => format!("IO{}", p as usize - PIN_NAMES.len()),
    }
}

/// Largest power of two <= sigma / 16.
pub(super) fn quantum(sigma: f64) -> f64 {
    let target = sigma / 16.0;
    let mut q = 1.0f64;
    while q > target {
        q *= 0.5;
    }
    while q * 2.0 <= target {
        q *= 2.0;
    }
    q
}

pub(super) fn param(t: &Template, k: usize, idx: usize) -> (String, Param) {
    let (name, units, scal, fmt, mean0, sigma, has_lo) = *t;
    let name = if k == 0 {
        name.to_string()
    } else {
        format!("{name}_{k}")
    };
    let mean = mean0 + sigma * k as f64;
    let lo = has_lo.then_some((mean - 4.5 * sigma) as f32);
    let hi = Some((mean + 4.5 * sigma) as f32);
    let spec = idx % 3 == 2;
    let p = Param {
        units,
        scal,
        fmt,
        mean,
        sigma,
        q: quantum(sigma),
        lo,
        hi,
        lo_spec: (spec && has_lo).then_some((mean - 6.0 * sigma) as f32),
        hi_spec: spec.then_some((mean + 6.0 * sigma) as f32),
    };
    (name, p)
}

/// MPRs first (contact and DC per pin), then PTRs with the FTRs spread among them.
pub(super) fn build_program(cfg: &LotConfig) -> Vec<TestDef> {
    let mut kinds: Vec<(char, usize)> = Vec::new();
    for i in 0..cfg.mpr_tests as usize {
        kinds.push(('M', i));
    }
    let (np, nf) = (cfg.ptr_tests as usize, cfg.ftr_tests as usize);
    let mut fi = 0;
    let every = np.checked_div(nf).map_or(usize::MAX, |e| e.max(1));
    for i in 0..np {
        if fi < nf && i % every == 0 {
            kinds.push(('F', fi));
            fi += 1;
        }
        kinds.push(('P', i));
    }
    while fi < nf {
        kinds.push(('F', fi));
        fi += 1;
    }
    let mut prog = Vec::new();
    let mut param_bin = 0u16;
    for (pos, (c, i)) in kinds.into_iter().enumerate() {
        let num = 1000 + 10 * pos as u32;
        let time = 0.0005 * (1 + pos % 5) as f32;
        let d = match c {
            'M' => {
                let t = &MPR_TEMPLATES[i % MPR_TEMPLATES.len()];
                let (name, p) = param(t, i / MPR_TEMPLATES.len(), i);
                let (hbin, sbin) = if i == 0 {
                    (4, 40)
                } else {
                    param_bin += 1;
                    (2, 20 + (param_bin - 1) % 10)
                };
                TestDef {
                    num,
                    name,
                    kind: Kind::Mpr(p),
                    sbin,
                    hbin,
                    time,
                }
            }
            'P' => {
                let t = &PTR_TEMPLATES[i % PTR_TEMPLATES.len()];
                let (name, p) = param(t, i / PTR_TEMPLATES.len(), i);
                param_bin += 1;
                TestDef {
                    num,
                    name,
                    kind: Kind::Ptr(p),
                    sbin: 20 + (param_bin - 1) % 10,
                    hbin: 2,
                    time,
                }
            }
            _ => {
                let (pat, cycles) = FTR_TEMPLATES[i % FTR_TEMPLATES.len()];
                let k = i / FTR_TEMPLATES.len();
                let name = if k == 0 {
                    pat.to_string()
                } else {
                    format!("{pat}_{k}")
                };
                let pattern = format!("{}_pat", name.to_lowercase());
                TestDef {
                    num,
                    name,
                    kind: Kind::Ftr { pattern, cycles },
                    sbin: 30 + (i % 10) as u16,
                    hbin: 3,
                    time,
                }
            }
        };
        prog.push(d);
    }
    prog
}

/// (number, name, pass/fail) of each bin.
pub(super) type BinList = Vec<(u16, String, u8)>;

/// Hard and soft bins of a program.
pub(super) fn bin_names(prog: &[TestDef]) -> (BinList, BinList) {
    let mut hb: BTreeMap<u16, (String, u8)> = BTreeMap::new();
    let mut sb: BTreeMap<u16, (String, u8)> = BTreeMap::new();
    hb.insert(1, ("PASS".into(), b'P'));
    sb.insert(1, ("PASS".into(), b'P'));
    sb.insert(2, ("PASS_GRADE_B".into(), b'P'));
    for t in prog {
        let hn = match t.hbin {
            2 => "PARAMETRIC",
            3 => "FUNCTIONAL",
            _ => "OPEN_SHORT",
        };
        hb.insert(t.hbin, (hn.into(), b'F'));
        let sn = match t.sbin {
            40 => "CONTACT".to_string(),
            b @ 20..=29 => format!("PARAM_{b}"),
            b => format!("FUNC_{b}"),
        };
        sb.insert(t.sbin, (sn, b'F'));
    }
    let f = |m: BTreeMap<u16, (String, u8)>| m.into_iter().map(|(k, (n, pf))| (k, n, pf)).collect();
    (f(hb), f(sb))
}

pub(super) fn quantize(x: f64, q: f64) -> f64 {
    (x / q).round() * q
}

pub(super) fn normal_value(rng: &mut Rng, p: &Param) -> f64 {
    quantize(p.mean + p.sigma * rng.normal(), p.q)
}

/// A value well outside the limits (5 to 8 sigma), on a side that has a limit.
pub(super) fn fail_value(rng: &mut Rng, p: &Param) -> f64 {
    let high = match (p.lo, p.hi) {
        (None, _) => true,
        (_, None) => false,
        _ => rng.chance(0.5),
    };
    let d = p.sigma * (5.0 + 3.0 * rng.f64());
    quantize(if high { p.mean + d } else { p.mean - d }, p.q)
}

/// (passes, PARM_FLG failure bits): bit 3 above the high limit, bit 4 below the low limit.
pub(super) fn judge(p: &Param, v: f32) -> (bool, u8) {
    if p.lo.is_some_and(|l| v < l) {
        (false, 0x10)
    } else if p.hi.is_some_and(|h| v > h) {
        (false, 0x08)
    } else {
        (true, 0)
    }
}

/// OPT_FLAG of the first PTR/MPR of a test: bit1 (reserved in PTR; START_IN/INCR_IN invalid in
/// MPR) set, bit2/bit3 = no LO_SPEC/HI_SPEC, bit6/bit7 = no low/high limit; bits 0, 4, 5 clear
/// (RES_SCAL and the limits given here are valid).
pub(super) fn opt_flag(p: &Param) -> u8 {
    let mut f = 0x02;
    if p.lo_spec.is_none() {
        f |= 0x04;
    }
    if p.hi_spec.is_none() {
        f |= 0x08;
    }
    if p.lo.is_none() {
        f |= 0x40;
    }
    if p.hi.is_none() {
        f |= 0x80;
    }
    f
}

/// PARM_FLG base: bits 6/7 = a result equal to a limit passes.
pub(super) const PARM_EQ_PASS: u8 = 0xC0;

pub(super) fn dn_bits(nbits: u16, set: &[u16]) -> Vec<u8> {
    let mut b = vec![0u8; (nbits as usize).div_ceil(8)];
    for &i in set {
        b[i as usize / 8] |= 1 << (i % 8);
    }
    b
}

//! The records of one test of one part (PTR, MPR or FTR), with their counts in the stats.

use super::*;

impl<W: Write> Gen<'_, W> {
    /// Write the record(s) of test `ti` for site index `si`; (passed, the PTR result).
    pub(super) fn emit_test(
        &mut self,
        ti: usize,
        si: usize,
        force_fail: bool,
    ) -> io::Result<(bool, Option<f64>)> {
        let cfg = self.cfg;
        let first = !self.defaults_done[ti];
        self.defaults_done[ti] = true;
        let def = &self.prog[ti];
        let site = Some(site_num(cfg, si));
        let name = Some(Str(def.name.as_bytes()));
        let acc = &mut self.acc[si][ti];
        acc.exec += 1;
        match &def.kind {
            Kind::Ptr(p) => {
                let v = if force_fail {
                    fail_value(&mut self.rng, p)
                } else {
                    normal_value(&mut self.rng, p)
                };
                let v32 = v as f32;
                debug_assert_eq!(v32 as f64, v, "values must be exact in f32");
                let (pass, bits) = judge(p, v32);
                let mut r = Ptr {
                    test_num: Some(def.num),
                    head_num: Some(1),
                    site_num: site,
                    test_flg: Some(if pass { 0 } else { 0x80 }),
                    parm_flg: Some(PARM_EQ_PASS | bits),
                    result: Some(v32),
                    test_txt: name,
                    ..Default::default()
                };
                if first {
                    r.alarm_id = Some(Str(b""));
                    r.opt_flag = Some(opt_flag(p));
                    r.res_scal = Some(p.scal);
                    r.llm_scal = Some(p.scal);
                    r.hlm_scal = Some(p.scal);
                    r.lo_limit = Some(p.lo.unwrap_or(0.0));
                    r.hi_limit = Some(p.hi.unwrap_or(0.0));
                    r.units = Some(Str(p.units.as_bytes()));
                    r.c_resfmt = Some(Str(p.fmt.as_bytes()));
                    r.c_llmfmt = Some(Str(p.fmt.as_bytes()));
                    r.c_hlmfmt = Some(Str(p.fmt.as_bytes()));
                    if p.lo_spec.is_some() || p.hi_spec.is_some() {
                        r.lo_spec = Some(p.lo_spec.unwrap_or(0.0));
                        r.hi_spec = Some(p.hi_spec.unwrap_or(0.0));
                    }
                }
                self.out.put(Record::Ptr(r))?;
                acc.value(v);
                if !pass {
                    acc.fail += 1;
                }
                let t = self.stats.tests.entry(def.num).or_default();
                t.executions += 1;
                t.values += 1;
                t.sum += v;
                t.min = Some(t.min.map_or(v, |m| m.min(v)));
                t.max = Some(t.max.map_or(v, |m| m.max(v)));
                if !pass {
                    t.failures += 1;
                }
                self.stats.ptr_records += 1;
                Ok((pass, Some(v)))
            }
            Kind::Mpr(p) => {
                let n = cfg.pins;
                let bad = force_fail.then(|| self.rng.below(n as u64) as u16);
                let mut vals = Vec::with_capacity(n as usize);
                let mut stat = Vec::with_capacity(n as usize);
                let mut pass = true;
                let mut parm = PARM_EQ_PASS;
                for pin in 0..n {
                    let v = if bad == Some(pin) {
                        fail_value(&mut self.rng, p)
                    } else {
                        normal_value(&mut self.rng, p)
                    };
                    let v32 = v as f32;
                    debug_assert_eq!(v32 as f64, v);
                    let (ok, bits) = judge(p, v32);
                    // RTN_STAT: 0 = in limits, 5 = failed low, 6 = failed high
                    stat.push(match bits {
                        0x10 => 5,
                        0x08 => 6,
                        _ => 0,
                    });
                    if !ok && pass {
                        parm |= bits;
                    }
                    pass &= ok;
                    vals.push(v32);
                }
                let mut r = Mpr {
                    test_num: Some(def.num),
                    head_num: Some(1),
                    site_num: site,
                    test_flg: Some(if pass { 0 } else { 0x80 }),
                    parm_flg: Some(parm),
                    rtn_icnt: Some(n),
                    rslt_cnt: Some(n),
                    rtn_stat: Some(stat),
                    rtn_rslt: Some(vals.clone()),
                    test_txt: name,
                    ..Default::default()
                };
                if first {
                    r.alarm_id = Some(Str(b""));
                    r.opt_flag = Some(opt_flag(p));
                    r.res_scal = Some(p.scal);
                    r.llm_scal = Some(p.scal);
                    r.hlm_scal = Some(p.scal);
                    r.lo_limit = Some(p.lo.unwrap_or(0.0));
                    r.hi_limit = Some(p.hi.unwrap_or(0.0));
                    r.start_in = Some(0.0);
                    r.incr_in = Some(0.0);
                    r.rtn_indx = Some((0..n).map(|pin| pmr_index(cfg, si, pin)).collect());
                    r.units = Some(Str(p.units.as_bytes()));
                    r.units_in = Some(Str(b""));
                    r.c_resfmt = Some(Str(p.fmt.as_bytes()));
                    r.c_llmfmt = Some(Str(p.fmt.as_bytes()));
                    r.c_hlmfmt = Some(Str(p.fmt.as_bytes()));
                    if p.lo_spec.is_some() || p.hi_spec.is_some() {
                        r.lo_spec = Some(p.lo_spec.unwrap_or(0.0));
                        r.hi_spec = Some(p.hi_spec.unwrap_or(0.0));
                    }
                }
                self.out.put(Record::Mpr(r))?;
                if !pass {
                    acc.fail += 1;
                }
                let t = self.stats.tests.entry(def.num).or_default();
                t.executions += 1;
                if !pass {
                    t.failures += 1;
                }
                for v in vals {
                    let v = v as f64;
                    acc.value(v);
                    t.values += 1;
                    t.sum += v;
                    t.min = Some(t.min.map_or(v, |m| m.min(v)));
                    t.max = Some(t.max.map_or(v, |m| m.max(v)));
                }
                self.stats.mpr_records += 1;
                self.stats.mpr_values += n as u64;
                Ok((pass, None))
            }
            Kind::Ftr { pattern, cycles } => {
                let pass = !force_fail;
                let npmr = cfg.pins as u32 * cfg.sites as u32;
                let nbits = (npmr + 1) as u16;
                let mut r = Ftr {
                    test_num: Some(def.num),
                    head_num: Some(1),
                    site_num: site,
                    test_flg: Some(if pass { 0 } else { 0x80 }),
                    // bits 6-7 reserved (1); bit1 REL_VADR, bit2 REPT_CNT, bit4 X/YFAIL_AD,
                    // bit5 VECT_OFF invalid; CYCL_CNT and NUM_FAIL valid
                    opt_flag: Some(0xF6),
                    cycl_cnt: Some(*cycles),
                    rel_vadr: Some(0),
                    rept_cnt: Some(0),
                    num_fail: Some(0),
                    xfail_ad: Some(0),
                    yfail_ad: Some(0),
                    vect_off: Some(0),
                    rtn_icnt: Some(0),
                    pgm_icnt: Some(0),
                    rtn_indx: Some(vec![]),
                    rtn_stat: Some(vec![]),
                    pgm_indx: Some(vec![]),
                    pgm_stat: Some(vec![]),
                    fail_pin: Some(Dn::default()),
                    vect_nam: Some(Str(pattern.as_bytes())),
                    time_set: Some(Str(b"TS1")),
                    op_code: Some(Str(b"")),
                    test_txt: name,
                    ..Default::default()
                };
                let fail_bytes;
                if !pass {
                    let k = 1 + self.rng.below(3.min(cfg.pins as u64)) as u16;
                    let mut pins: Vec<u16> = (0..cfg.pins).collect();
                    self.rng.shuffle(&mut pins);
                    let mut pins = pins[..k as usize].to_vec();
                    pins.sort_unstable();
                    let idx: Vec<u16> = pins.iter().map(|&p| pmr_index(cfg, si, p)).collect();
                    let stat: Vec<u8> = pins.iter().map(|_| 5 + self.rng.below(2) as u8).collect();
                    let vaddr = self.rng.below(*cycles as u64) as u32;
                    fail_bytes = dn_bits(nbits, &idx);
                    r.opt_flag = Some(0xF4); // REL_VADR valid too
                    r.cycl_cnt = Some(vaddr);
                    r.rel_vadr = Some(vaddr);
                    r.num_fail = Some(k as u32);
                    r.rtn_icnt = Some(k);
                    r.rtn_indx = Some(idx);
                    r.rtn_stat = Some(stat);
                    r.fail_pin = Some(Dn {
                        nbits,
                        bytes: &fail_bytes,
                    });
                }
                let spin;
                if first {
                    let all: Vec<u16> = (0..cfg.pins).map(|p| pmr_index(cfg, si, p)).collect();
                    spin = dn_bits(nbits, &all);
                    r.alarm_id = Some(Str(b""));
                    r.prog_txt = Some(Str(b""));
                    r.rslt_txt = Some(Str(b""));
                    r.patg_num = Some(1);
                    r.spin_map = Some(Dn {
                        nbits,
                        bytes: &spin,
                    });
                }
                self.out.put(Record::Ftr(r))?;
                if !pass {
                    acc.fail += 1;
                }
                let t = self.stats.tests.entry(def.num).or_default();
                t.executions += 1;
                if !pass {
                    t.failures += 1;
                    self.stats.ftr_failures += 1;
                }
                self.stats.ftr_records += 1;
                Ok((pass, None))
            }
        }
    }
}

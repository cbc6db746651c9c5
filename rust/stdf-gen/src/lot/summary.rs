//! The end of a lot: the summary records (TSR, HBR, SBR, PCR per site, then for all sites) and
//! MRR, from the accumulated counts.

use super::*;

impl<W: Write> Gen<'_, W> {
    pub(super) fn summary(&mut self) -> io::Result<()> {
        let cfg = self.cfg;
        self.t += 30;
        let ns = cfg.sites as usize;
        // TSR: per site, then all sites (HEAD 255)
        let mut total: Vec<Acc> = vec![Acc::default(); self.prog.len()];
        for si in 0..=ns {
            let (head, site) = if si < ns {
                (1, site_num(cfg, si))
            } else {
                (255, 255)
            };
            for (ti, def) in self.prog.iter().enumerate() {
                let a = if si < ns {
                    total[ti].merge(&self.acc[si][ti]);
                    self.acc[si][ti].clone()
                } else {
                    total[ti].clone()
                };
                let mut r = Tsr {
                    head_num: Some(head),
                    site_num: Some(site),
                    test_typ: Some(def.typ()),
                    test_num: Some(def.num),
                    exec_cnt: Some(a.exec as u32),
                    fail_cnt: Some(a.fail as u32),
                    alrm_cnt: Some(0),
                    test_nam: Some(Str(def.name.as_bytes())),
                    seq_name: Some(Str(b"MAIN")),
                    test_lbl: Some(Str(b"")),
                    // bits 3, 6, 7 reserved (1); statistics invalid unless a PTR with results
                    opt_flag: Some(0xFB),
                    test_tim: Some(def.time),
                    ..Default::default()
                };
                if matches!(def.kind, Kind::Ptr(_)) && a.n > 0 {
                    r.opt_flag = Some(0xC8);
                    r.test_min = a.min.map(|v| v as f32);
                    r.test_max = a.max.map(|v| v as f32);
                    r.tst_sums = Some(a.sum as f32);
                    r.tst_sqrs = Some(a.sqrs as f32);
                }
                self.out.put(Record::Tsr(r))?;
            }
        }
        let (hbins, sbins) = bin_names(&self.prog);
        let mut all = SiteAcc::default();
        for s in &self.sites {
            all.merge(s);
        }
        for is_hard in [true, false] {
            for si in 0..=ns {
                let (head, site, acc) = if si < ns {
                    (1, site_num(cfg, si), &self.sites[si])
                } else {
                    (255, 255, &all)
                };
                let list = if is_hard { &hbins } else { &sbins };
                for (bin, name, pf) in list {
                    let cnt = if is_hard {
                        acc.hbins.get(bin)
                    } else {
                        acc.sbins.get(bin)
                    };
                    let cnt = cnt.copied().unwrap_or(0) as u32;
                    let rec = if is_hard {
                        Record::Hbr(Hbr {
                            head_num: Some(head),
                            site_num: Some(site),
                            hbin_num: Some(*bin),
                            hbin_cnt: Some(cnt),
                            hbin_pf: Some(*pf),
                            hbin_nam: Some(Str(name.as_bytes())),
                            ..Default::default()
                        })
                    } else {
                        Record::Sbr(Sbr {
                            head_num: Some(head),
                            site_num: Some(site),
                            sbin_num: Some(*bin),
                            sbin_cnt: Some(cnt),
                            sbin_pf: Some(*pf),
                            sbin_nam: Some(Str(name.as_bytes())),
                            ..Default::default()
                        })
                    };
                    self.out.put(rec)?;
                }
            }
        }
        for si in 0..=ns {
            let (head, site, a) = if si < ns {
                (1, site_num(cfg, si), &self.sites[si])
            } else {
                (255, 255, &all)
            };
            self.out.put(Record::Pcr(Pcr {
                head_num: Some(head),
                site_num: Some(site),
                part_cnt: Some(a.parts as u32),
                rtst_cnt: Some(a.retests as u32),
                abrt_cnt: Some(0),
                good_cnt: Some(a.good as u32),
                func_cnt: Some(a.func as u32),
                ..Default::default()
            }))?;
        }
        self.out.put(Record::Mrr(Mrr {
            finish_t: Some(self.t),
            disp_cod: Some(b' '),
            usr_desc: Some(Str(b"synthetic lot")),
            ..Default::default()
        }))?;
        // totals into the stats
        let st = &mut self.stats;
        st.parts = all.parts;
        st.good_parts = all.good;
        st.retests = all.retests;
        st.hard_bins = all.hbins.clone();
        st.soft_bins = all.sbins.clone();
        for (si, s) in self.sites.iter().enumerate() {
            st.parts_per_site.insert(site_num(cfg, si), s.parts);
        }
        for hb in self.last.values() {
            *st.final_hard_bins.entry(*hb).or_default() += 1;
        }
        st.dice = self.last.len() as u64;
        st.final_good = st.final_hard_bins.get(&1).copied().unwrap_or(0);
        for def in &self.prog {
            let t = st.tests.entry(def.num).or_default();
            t.kind = def.typ() as char;
            t.name = def.name.clone();
            if let Kind::Ptr(p) | Kind::Mpr(p) = &def.kind {
                t.lo_limit = p.lo;
                t.hi_limit = p.hi;
                t.units = p.units.to_string();
            }
        }
        Ok(())
    }
}

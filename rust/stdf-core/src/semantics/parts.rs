//! Parts keyed by (head, site) between PIR and PRR, and the wafer open on each head
//! (stdf-reference.md §3.2, §3.3, §3.9).

/// A part that has been opened (PIR or implicitly) and not yet closed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OpenPart {
    /// HEAD_NUM of the part.
    pub head: u8,
    /// SITE_NUM of the part.
    pub site: u8,
    /// 0-based ordinal of the part in the file.
    pub part_index: u32,
    /// The wafer the part belongs to (see [`PartTracker::wafer_of`]), if any.
    pub wafer_index: Option<u16>,
    /// Opened by a PIR (false: opened implicitly by a test record, or made from a PRR alone).
    pub has_pir: bool,
    /// Record index of the PIR that opened it.
    pub pir_record_index: Option<u64>,
}

/// Parts and wafers of a file (part and wafer ordinals continue across streams).
#[derive(Debug, Default)]
pub struct PartTracker {
    open: Vec<OpenPart>,
    last_hit: usize,
    /// Ordinal the next part will get (= parts so far).
    pub next_part: u32,
    open_wafer: Vec<(u8, u16)>,
    last_wafer_of_head: Vec<(u8, u16)>,
    /// Ordinal the next wafer will get (= wafers so far).
    pub next_wafer: u16,
}

/// What a PIR did.
pub struct PirOutcome {
    /// The part the PIR opened.
    pub part: OpenPart,
    /// A part on the same head/site that was still open (no PRR): closed incomplete.
    pub replaced: Option<OpenPart>,
}

impl PartTracker {
    #[inline]
    fn find(&mut self, head: u8, site: u8) -> Option<usize> {
        if let Some(p) = self.open.get(self.last_hit) {
            if p.head == head && p.site == site {
                return Some(self.last_hit);
            }
        }
        let i = self
            .open
            .iter()
            .position(|p| p.head == head && p.site == site)?;
        self.last_hit = i;
        Some(i)
    }

    /// The wafer a part on `head` belongs to: the one open on its head, else the only open one.
    pub fn wafer_of(&self, head: u8) -> Option<u16> {
        if let Some((_, w)) = self.open_wafer.iter().find(|(h, _)| *h == head) {
            return Some(*w);
        }
        if self.open_wafer.len() == 1 {
            return Some(self.open_wafer[0].1);
        }
        None
    }

    fn new_part(&mut self, head: u8, site: u8, has_pir: bool, rec: Option<u64>) -> OpenPart {
        let p = OpenPart {
            head,
            site,
            part_index: self.next_part,
            wafer_index: self.wafer_of(head),
            has_pir,
            pir_record_index: rec,
        };
        self.next_part += 1;
        p
    }

    /// PIR on (head, site): opens a new part there, closing any part still open on it.
    pub fn pir(&mut self, head: u8, site: u8, record_index: u64) -> PirOutcome {
        let replaced = self.find(head, site).map(|i| self.open.swap_remove(i));
        let part = self.new_part(head, site, true, Some(record_index));
        self.open.push(part);
        PirOutcome { part, replaced }
    }

    /// The part a test record on (head, site) belongs to; opens one implicitly (P26) when
    /// none is open, unless `may_open` is false. Returns (part, opened_now).
    #[inline]
    pub fn attach(&mut self, head: u8, site: u8, may_open: bool) -> Option<(OpenPart, bool)> {
        if let Some(i) = self.find(head, site) {
            return Some((self.open[i], false));
        }
        if !may_open {
            return None;
        }
        let part = self.new_part(head, site, false, None);
        self.open.push(part);
        Some((part, true))
    }

    /// Close the part open on (head, site); a PRR with no open part makes a part of its own.
    pub fn prr(&mut self, head: u8, site: u8) -> OpenPart {
        match self.find(head, site) {
            Some(i) => self.open.swap_remove(i),
            None => self.new_part(head, site, false, None),
        }
    }

    /// WIR on `head`: returns (new wafer, wafer closed without WRR).
    pub fn wir(&mut self, head: u8) -> (u16, Option<u16>) {
        let closed = self
            .open_wafer
            .iter()
            .position(|(h, _)| *h == head)
            .map(|i| self.open_wafer.swap_remove(i).1);
        let w = self.next_wafer;
        self.next_wafer = self.next_wafer.saturating_add(1);
        self.open_wafer.push((head, w));
        match self.last_wafer_of_head.iter_mut().find(|(h, _)| *h == head) {
            Some(e) => e.1 = w,
            None => self.last_wafer_of_head.push((head, w)),
        }
        (w, closed)
    }

    /// WRR on `head`: the wafer it closes (the open one, else the last one of this head, else
    /// a new wafer made from the WRR alone: second value true).
    pub fn wrr(&mut self, head: u8) -> (u16, bool) {
        if let Some(i) = self.open_wafer.iter().position(|(h, _)| *h == head) {
            return (self.open_wafer.swap_remove(i).1, false);
        }
        if let Some((_, w)) = self.last_wafer_of_head.iter().find(|(h, _)| *h == head) {
            return (*w, false);
        }
        let w = self.next_wafer;
        self.next_wafer = self.next_wafer.saturating_add(1);
        self.last_wafer_of_head.push((head, w));
        (w, true)
    }

    /// Close every open part (returned in part order), keeping the wafers: the walk skipped a
    /// damaged stretch, and a PRR after it may belong to a part opened inside it.
    pub fn close_open(&mut self) -> Vec<OpenPart> {
        let mut parts = std::mem::take(&mut self.open);
        parts.sort_by_key(|p| p.part_index);
        self.last_hit = 0;
        parts
    }

    /// The smallest part_index of the parts currently open (None: none is).
    pub fn min_open(&self) -> Option<u32> {
        self.open.iter().map(|p| p.part_index).min()
    }

    /// Number of parts currently open.
    pub fn open_count(&self) -> usize {
        self.open.len()
    }

    /// End of a stream: every open part is closed incomplete (returned in part order).
    pub fn end_stream(&mut self) -> (Vec<OpenPart>, Vec<u16>) {
        let parts = self.close_open();
        let wafers = self.open_wafer.drain(..).map(|(_, w)| w).collect();
        self.last_wafer_of_head.clear();
        (parts, wafers)
    }
}

//! The flag bits of the test and part records (stdf-reference.md §3.7, §3.8) and the rules
//! read from them, named once: every reader of a flag uses these.

/// TEST_FLG of PTR, MPR, FTR and STR (bit 1 is reserved outside PTR).
pub mod test_flg {
    /// Bit 0: an alarm occurred during the test.
    pub const ALARM: u8 = 0x01;
    /// Bit 1 (PTR): the test ran but RESULT is not valid.
    pub const RESULT_INVALID: u8 = 0x02;
    /// Bit 2: the result is unreliable.
    pub const UNRELIABLE: u8 = 0x04;
    /// Bit 3: a timeout occurred.
    pub const TIMEOUT: u8 = 0x08;
    /// Bit 4: the test was not executed.
    pub const NOT_EXECUTED: u8 = 0x10;
    /// Bit 5: the test was aborted.
    pub const ABORTED: u8 = 0x20;
    /// Bit 6: no pass/fail indication (bit 7 is not valid).
    pub const NO_PASS_FAIL: u8 = 0x40;
    /// Bit 7: the test failed.
    pub const FAILED: u8 = 0x80;
    /// Bits 0-5: all clear on a result the spec calls useful.
    pub const NOT_USEFUL: u8 = 0x3f;
    /// The bits that leave a PTR without a value (RESULT not valid, not executed).
    pub const NO_RESULT: u8 = RESULT_INVALID | NOT_EXECUTED;
}

/// PARM_FLG of PTR and MPR.
pub mod parm_flg {
    /// Bit 0: scale error.
    pub const SCALE_ERROR: u8 = 0x01;
    /// Bit 1: drift error (unstable measurement).
    pub const DRIFT_ERROR: u8 = 0x02;
    /// Bit 2: oscillation detected.
    pub const OSCILLATION: u8 = 0x04;
    /// Bit 3: the value is above the high limit.
    pub const ABOVE_HIGH: u8 = 0x08;
    /// Bit 4: the value is below the low limit.
    pub const BELOW_LOW: u8 = 0x10;
    /// Bit 5: passed the alternate limits.
    pub const PASS_ALTERNATE: u8 = 0x20;
    /// Bit 6: a result equal to the low limit passes.
    pub const LOW_EQUAL_PASSES: u8 = 0x40;
    /// Bit 7: a result equal to the high limit passes.
    pub const HIGH_EQUAL_PASSES: u8 = 0x80;
    /// Bits 0-2: all clear on a result the spec calls useful.
    pub const NOT_USEFUL: u8 = SCALE_ERROR | DRIFT_ERROR | OSCILLATION;
}

/// PART_FLG of the PRR.
pub mod part_flg {
    /// Bit 0: supersedes an earlier part with the same PART_ID.
    pub const SUPERSEDES_ID: u8 = 0x01;
    /// Bit 1: supersedes an earlier part with the same X_COORD / Y_COORD.
    pub const SUPERSEDES_XY: u8 = 0x02;
    /// Bit 2: testing ended abnormally.
    pub const ABNORMAL_END: u8 = 0x04;
    /// Bit 3: the part failed.
    pub const FAILED: u8 = 0x08;
    /// Bit 4: no pass/fail indication (bit 3 is not valid).
    pub const NO_PASS_FAIL: u8 = 0x10;
}

/// OPT_FLAG of PTR and MPR (a set bit: the field is not valid).
pub mod opt_flag {
    /// Bit 0: RES_SCAL is not valid.
    pub const NO_RES_SCAL: u8 = 0x01;
    /// Bit 1 (MPR): START_IN and INCR_IN are not valid.
    pub const NO_SWEEP: u8 = 0x02;
}

/// Outcome of one test execution (stdf-reference.md §3.7): the `status` column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Passed its standard limits.
    Pass,
    /// Passed its alternate limits (PARM_FLG bit 5).
    PassAlt,
    /// Failed.
    Fail,
    /// Executed, without a pass/fail indication.
    Unknown,
    /// Not executed.
    NotExecuted,
}

impl Status {
    /// Every status, in the order of `as_str`'s index.
    pub const ALL: [Status; 5] = [
        Status::Pass,
        Status::PassAlt,
        Status::Fail,
        Status::Unknown,
        Status::NotExecuted,
    ];

    /// The status of a record's flags.
    pub fn of(test_flg: u8, parm_flg: Option<u8>) -> Status {
        if !executed(test_flg) {
            Status::NotExecuted
        } else if test_flg & test_flg::NO_PASS_FAIL != 0 {
            Status::Unknown
        } else if test_flg & test_flg::FAILED != 0 {
            Status::Fail
        } else if parm_flg.unwrap_or(0) & parm_flg::PASS_ALTERNATE != 0 {
            Status::PassAlt
        } else {
            Status::Pass
        }
    }

    /// The column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::PassAlt => "pass_alt",
            Status::Fail => "fail",
            Status::Unknown => "unknown",
            Status::NotExecuted => "not_executed",
        }
    }
}

/// The test was executed (TEST_FLG bit 4 clear).
#[inline]
pub fn executed(test_flg: u8) -> bool {
    test_flg & test_flg::NOT_EXECUTED == 0
}

/// A test record's pass/fail: None when not executed or without a pass/fail indication.
#[inline]
pub fn test_passed(test_flg: u8) -> Option<bool> {
    if !executed(test_flg) || test_flg & test_flg::NO_PASS_FAIL != 0 {
        None
    } else {
        Some(test_flg & test_flg::FAILED == 0)
    }
}

/// The spec's "useful result" rule: TEST_FLG bits 0-5 and PARM_FLG bits 0-2 all clear.
#[inline]
pub fn result_valid(test_flg: u8, parm_flg: Option<u8>) -> bool {
    test_flg & test_flg::NOT_USEFUL == 0 && parm_flg.unwrap_or(0) & parm_flg::NOT_USEFUL == 0
}

/// A part's pass/fail from its PART_FLG: None without a pass/fail indication.
#[inline]
pub fn part_passed(part_flg: u8) -> Option<bool> {
    if part_flg & part_flg::NO_PASS_FAIL != 0 {
        None
    } else {
        Some(part_flg & part_flg::FAILED == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_flags_read_as_the_spec_says() {
        assert_eq!(test_passed(0x00), Some(true));
        assert_eq!(test_passed(0x80), Some(false));
        assert_eq!(test_passed(0xc0), None, "bit 6: bit 7 is not valid");
        assert_eq!(test_passed(0x90), None, "bit 4: not executed");
        assert_eq!(Status::of(0x00, Some(0x20)), Status::PassAlt);
        assert_eq!(Status::of(0x80, Some(0x20)), Status::Fail);
        assert_eq!(Status::of(0x40, None), Status::Unknown);
        assert_eq!(Status::of(0x10, None), Status::NotExecuted);
        assert!(
            result_valid(0xc0, Some(0xf8)),
            "bits 6-7 and PARM_FLG 3-7 do not matter"
        );
        assert!(!result_valid(0x20, None));
        assert!(!result_valid(0x00, Some(0x04)));
        assert_eq!(part_passed(0x08), Some(false));
        assert_eq!(part_passed(0x18), None);
        assert_eq!(part_passed(0x03), Some(true));
        for (i, s) in Status::ALL.iter().enumerate() {
            assert_eq!(Status::ALL[i].as_str(), s.as_str());
        }
    }
}

//! Sequence numbers: 32-bit counters that wrap around (RFC 9293 §3.4).
//!
//! "Since the space is finite, all arithmetic dealing with sequence numbers
//! must be performed modulo 2**32" (§3.4). Comparing two raw `u32`s is wrong
//! as soon as the connection crosses 2^32, so every sequence number in the
//! engine is a [`SeqNum`], and ordering is defined by the sign of the wrapping
//! difference (serial number arithmetic, RFC 1982): `a < b` when `b` is less
//! than 2^31 ahead of `a`.

use std::cmp::Ordering;
use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// A TCP sequence or acknowledgement number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SeqNum(pub u32);

impl SeqNum {
    /// Distance from `earlier` to `self` going forward, as a signed number:
    /// negative when `self` is before `earlier`.
    pub fn diff(self, earlier: SeqNum) -> i32 {
        self.0.wrapping_sub(earlier.0) as i32
    }

    /// Forward distance from `earlier` to `self`; 0 if `self` is before it.
    pub fn since(self, earlier: SeqNum) -> usize {
        self.diff(earlier).max(0) as usize
    }

    /// `low <= self < high`, the test the receive window uses.
    pub fn in_range(self, low: SeqNum, high: SeqNum) -> bool {
        low <= self && self < high
    }

    /// The later of the two in wrapping order.
    pub fn max(self, other: SeqNum) -> SeqNum {
        if self >= other {
            self
        } else {
            other
        }
    }

    /// The earlier of the two in wrapping order.
    pub fn min(self, other: SeqNum) -> SeqNum {
        if self <= other {
            self
        } else {
            other
        }
    }
}

/// Serial number order (RFC 1982 §3.2): consistent for numbers less than
/// 2^31 apart, which is all TCP compares. It is not a total order (none
/// exists on a circle: a < b < c < a for three numbers spread around it),
/// so `SeqNum` does not implement `Ord`: sorting, `BTreeMap` keys,
/// `Iterator::max` would silently misbehave (or panic, since Rust 1.81's
/// sort detects inconsistent orders). Use [`SeqNum::max`], [`SeqNum::min`]
/// and [`SeqNum::diff`] instead. RFC 1982 leaves numbers exactly 2^31 apart
/// undefined; here each of the two is "less" than the other.
impl PartialOrd for SeqNum {
    fn partial_cmp(&self, other: &SeqNum) -> Option<Ordering> {
        Some(self.diff(*other).cmp(&0))
    }
}

impl Add<usize> for SeqNum {
    type Output = SeqNum;
    fn add(self, rhs: usize) -> SeqNum {
        // Lengths added to sequence numbers are window-sized (< 2^31); the
        // truncation to u32 is the modulo-2^32 arithmetic §3.4 asks for.
        SeqNum(self.0.wrapping_add(rhs as u32))
    }
}

impl AddAssign<usize> for SeqNum {
    fn add_assign(&mut self, rhs: usize) {
        *self = *self + rhs;
    }
}

impl Sub<usize> for SeqNum {
    type Output = SeqNum;
    fn sub(self, rhs: usize) -> SeqNum {
        SeqNum(self.0.wrapping_sub(rhs as u32))
    }
}

impl fmt::Display for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEAR_TOP: SeqNum = SeqNum(u32::MAX - 10);

    #[test]
    fn ordering_holds_across_the_wrap_forward() {
        let after = NEAR_TOP + 20; // wrapped to 9
        assert_eq!(after, SeqNum(9));
        assert!(NEAR_TOP < after);
        assert!(after > NEAR_TOP);
        assert_eq!(after.diff(NEAR_TOP), 20);
        assert_eq!(after.since(NEAR_TOP), 20);
    }

    #[test]
    fn ordering_holds_across_the_wrap_backward() {
        let before = SeqNum(5) - 10; // wrapped to u32::MAX - 4
        assert_eq!(before, SeqNum(u32::MAX - 4));
        assert!(before < SeqNum(5));
        assert_eq!(before.diff(SeqNum(5)), -10);
        assert_eq!(before.since(SeqNum(5)), 0);
    }

    #[test]
    fn in_range_spans_zero() {
        let low = NEAR_TOP;
        let high = NEAR_TOP + 100;
        assert!(SeqNum(0).in_range(low, high));
        assert!(low.in_range(low, high));
        assert!(!high.in_range(low, high));
        assert!(!(low - 1).in_range(low, high));
    }

    #[test]
    fn min_and_max_follow_wrapping_order() {
        let a = SeqNum(u32::MAX);
        let b = SeqNum(1);
        assert_eq!(a.max(b), b);
        assert_eq!(a.min(b), a);
    }

    #[test]
    fn order_is_not_transitive_around_the_circle_so_not_ord() {
        // Why `SeqNum` is only `PartialOrd`: a < b < c < a.
        let third = (1usize << 32) / 3;
        let (a, b, c) = (SeqNum(0), SeqNum(0) + third, SeqNum(0) + 2 * third);
        assert!(a < b && b < c && c < a);
    }

    #[test]
    fn half_the_space_is_the_limit_of_comparison() {
        let a = SeqNum(0);
        assert!(a < a + (i32::MAX as usize));
        // Beyond 2^31 ahead is read as "behind": old duplicates look old.
        assert!(a > a + ((1usize << 31) + 1));
    }
}

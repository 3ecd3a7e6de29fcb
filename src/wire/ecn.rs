//! The ECN field of the IP header (RFC 3168 §5): the two low bits of the
//! IPv4 TOS byte or of the IPv6 Traffic Class.

/// An ECN codepoint (RFC 3168 §5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Ecn {
    /// 00: the sender does not do ECN.
    #[default]
    NotEct,
    /// 01: ECN-Capable Transport, ECT(1).
    Ect1,
    /// 10: ECN-Capable Transport, ECT(0), what RFC 3168 senders use.
    Ect0,
    /// 11: Congestion Experienced, set by a router instead of dropping.
    Ce,
}

impl Ecn {
    /// The codepoint of the low two bits of `tos` (TOS or Traffic Class).
    pub fn from_bits(tos: u8) -> Ecn {
        match tos & 0b11 {
            0b00 => Ecn::NotEct,
            0b01 => Ecn::Ect1,
            0b10 => Ecn::Ect0,
            _ => Ecn::Ce,
        }
    }

    /// The two bits, for the low end of a TOS or Traffic Class byte.
    pub fn bits(self) -> u8 {
        match self {
            Ecn::NotEct => 0b00,
            Ecn::Ect1 => 0b01,
            Ecn::Ect0 => 0b10,
            Ecn::Ce => 0b11,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_codepoint_round_trips() {
        for bits in 0..4 {
            assert_eq!(Ecn::from_bits(0b1010_1000 | bits).bits(), bits);
        }
        assert_eq!(Ecn::from_bits(3), Ecn::Ce);
        assert_eq!(Ecn::from_bits(2), Ecn::Ect0);
    }
}

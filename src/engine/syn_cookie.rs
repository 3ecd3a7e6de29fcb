//! SYN cookies (RFC 4987 §3.6): while a listener's SYN queue is full, the
//! SYN-ACK's ISN carries everything the connection needs, under a keyed
//! hash, and nothing is kept. The client's ACK brings it back (SEG.ACK - 1)
//! and the connection is made from it then.
//!
//! The layout is Linux's (`net/ipv4/syncookies.c`), so it behaves as a
//! kernel that users know:
//!
//! ```text
//! cookie = H(tuple, 0) + peer ISN + (count << 24)
//!        + ((H(tuple, count) + MSS index) mod 2^24)
//! ```
//!
//! `count` is a coarse clock (minutes), `H` SipHash-2-4 under the stack's
//! RFC 6528 secret (`isn.rs`), the MSS index one of four common MSS values
//! (RFC 4987 §3.6: "the MSS ... encoded in 3 bits", Linux uses 2). A
//! cookie is good in the minute it was made and the next one; its top
//! byte says which minute, the low 24 bits prove it was ours: a guess has
//! 4 chances in 2^24 per minute.
//!
//! What the ISN has no room for (window scale and SACK-permitted, RFC 4987
//! §3.6: "the options ... are lost") travels in the low 6 bits of our
//! TSval when the peer does timestamps (RFC 7323 §3.2), as Linux does: the
//! peer echoes them in TSecr. Without timestamps, the cookie SYN-ACK
//! offers neither option, so nothing is promised that is lost.

use std::net::SocketAddr;
use std::time::Duration;

use super::isn::{siphash24, tuple_message, IsnSecret};
use crate::time::Instant;
use crate::wire::SeqNum;

/// The MSS values a cookie can say (Linux's `msstab`): the largest one not
/// above the peer's MSS is encoded. 536 is the IPv4 default (RFC 9293
/// §3.7.1), 1460 Ethernet, 1440 and 1300 common tunnel MTUs.
pub const MSS_TABLE: [u16; 4] = [536, 1300, 1440, 1460];

/// Minutes a cookie stays valid, counting the one it was made in (Linux's
/// `MAX_SYNCOOKIE_AGE`): between one and two minutes, longer than a
/// client waits for its SYN-ACK's ACK to be answered.
const MAX_AGE: u32 = 2;
/// The counter's tick.
const TICK: Duration = Duration::from_secs(60);
/// The longest a cookie can be valid: `MAX_AGE` ticks.
pub const LIFETIME: Duration = Duration::from_secs(60 * MAX_AGE as u64);

const COUNT_SHIFT: u32 = 24;
const LOW_MASK: u32 = (1 << COUNT_SHIFT) - 1;

/// Why a cookie ACK did not open a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CookieError {
    /// Made more than `MAX_AGE` minutes ago (or never made by us).
    Expired,
    /// The hash does not match: not a cookie of ours for this 4-tuple
    /// and peer ISN.
    Forged,
}

/// The options of the SYN a valid cookie ACK stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CookieOptions {
    /// From [`MSS_TABLE`].
    pub mss: u16,
    /// The peer's window shift (RFC 7323 §2.2), if it offered one.
    pub window_scale: Option<u8>,
    /// The peer sent SACK-permitted (RFC 2018 §2).
    pub sack_permitted: bool,
}

/// The coarse clock: minutes of the engine's time, modulo 2^8 where used.
fn count(now: Instant) -> u32 {
    (now.total_millis() / TICK.as_millis() as u64) as u32
}

/// H(tuple, count) of the layout above; `salt` 0 is the count-free hash.
fn hash(secret: &IsnSecret, local: SocketAddr, remote: SocketAddr, count: u32, salt: u8) -> u32 {
    let [c0, c1, c2, c3] = count.to_le_bytes();
    let (message, len) = tuple_message(local, remote, &[b'C', salt, c0, c1, c2, c3]);
    siphash24(&secret.0, &message[..len]) as u32
}

/// The index in [`MSS_TABLE`] of the largest MSS not above the peer's
/// (536 when it sent none, RFC 9293 §3.7.1).
fn mss_index(peer_mss: Option<u16>) -> u32 {
    let mss = peer_mss.unwrap_or(MSS_TABLE[0]);
    MSS_TABLE.iter().rposition(|&m| m <= mss).unwrap_or(0) as u32
}

/// The cookie to use as our ISN in the SYN-ACK to a SYN from `remote`
/// with sequence number `peer_isn` and MSS option `peer_mss`.
pub fn make(
    secret: &IsnSecret,
    now: Instant,
    local: SocketAddr,
    remote: SocketAddr,
    peer_isn: SeqNum,
    peer_mss: Option<u16>,
) -> SeqNum {
    let count = count(now);
    let proof = hash(secret, local, remote, count, 1).wrapping_add(mss_index(peer_mss)) & LOW_MASK;
    let cookie = hash(secret, local, remote, 0, 0)
        .wrapping_add(peer_isn.0)
        .wrapping_add(count << COUNT_SHIFT)
        .wrapping_add(proof);
    SeqNum(cookie)
}

/// Checks `cookie` (an ACK's SEG.ACK - 1) against the 4-tuple and the
/// peer's ISN (its SEG.SEQ - 1); gives the MSS it encodes.
pub fn check(
    secret: &IsnSecret,
    now: Instant,
    local: SocketAddr,
    remote: SocketAddr,
    peer_isn: SeqNum,
    cookie: SeqNum,
) -> Result<u16, CookieError> {
    let value = cookie
        .0
        .wrapping_sub(hash(secret, local, remote, 0, 0))
        .wrapping_sub(peer_isn.0);
    let now_count = count(now);
    let age = now_count.wrapping_sub(value >> COUNT_SHIFT) & 0xff;
    if age >= MAX_AGE {
        return Err(CookieError::Expired);
    }
    let made = now_count.wrapping_sub(age);
    let index = value.wrapping_sub(hash(secret, local, remote, made, 1)) & LOW_MASK;
    MSS_TABLE
        .get(index as usize)
        .copied()
        .ok_or(CookieError::Forged)
}

/// The low bits of a cookie TSval: 4 for the peer's window shift (15:
/// none; RFC 7323 §2.3 caps shifts at 14), 1 for SACK-permitted, 1
/// reserved for ECN (RFC 3168; we do not negotiate it, so it stays 0).
const TS_OPTION_BITS: u32 = 6;
const TS_NO_WINDOW_SCALE: u32 = 0xf;
const TS_SACK: u32 = 1 << 4;

/// Our TSval for a cookie SYN-ACK: `tsval` (our clock now) with its low
/// bits replaced by the options, and never later than `tsval`, so the
/// connection's later TSvals are never older than this one (which the
/// peer's PAWS, RFC 7323 §5, would reject).
pub fn encode_tsval(tsval: u32, window_scale: Option<u8>, sack_permitted: bool) -> u32 {
    let shift = window_scale.map_or(TS_NO_WINDOW_SCALE, |s| u32::from(s.min(14)));
    let options = shift | if sack_permitted { TS_SACK } else { 0 };
    let coded = (tsval >> TS_OPTION_BITS << TS_OPTION_BITS) | options;
    if coded.wrapping_sub(tsval) as i32 > 0 {
        coded.wrapping_sub(1 << TS_OPTION_BITS)
    } else {
        coded
    }
}

/// The options a peer's TSecr brings back (see [`encode_tsval`]).
pub fn decode_tsecr(tsecr: u32, mss: u16) -> CookieOptions {
    let shift = tsecr & TS_NO_WINDOW_SCALE;
    CookieOptions {
        mss,
        window_scale: (shift != TS_NO_WINDOW_SCALE).then_some(shift.min(14) as u8),
        sack_permitted: tsecr & TS_SACK != 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const SECRET: IsnSecret = IsnSecret([9; 16]);

    fn addr(last: u8, port: u16) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::new(192, 0, 2, last), port))
    }

    fn roundtrip(
        made: Instant,
        checked: Instant,
        peer_mss: Option<u16>,
    ) -> Result<u16, CookieError> {
        let (local, remote, isn) = (addr(2, 7), addr(1, 40000), SeqNum(0xfff0_0000));
        let cookie = make(&SECRET, made, local, remote, isn, peer_mss);
        check(&SECRET, checked, local, remote, isn, cookie)
    }

    #[test]
    fn a_cookie_gives_back_the_largest_table_mss_not_above_the_peers() {
        let at = Instant::from_secs(10);
        assert_eq!(roundtrip(at, at, Some(1460)), Ok(1460));
        assert_eq!(roundtrip(at, at, Some(1400)), Ok(1300));
        assert_eq!(roundtrip(at, at, Some(9000)), Ok(1460));
        assert_eq!(roundtrip(at, at, None), Ok(536));
        assert_eq!(roundtrip(at, at, Some(100)), Ok(536));
    }

    #[test]
    fn a_cookie_lives_one_to_two_minutes() {
        let made = Instant::from_secs(59);
        assert_eq!(
            roundtrip(made, Instant::from_secs(119), Some(1460)),
            Ok(1460)
        );
        assert_eq!(
            roundtrip(made, Instant::from_secs(120), Some(1460)),
            Err(CookieError::Expired)
        );
        // Across the 8-bit wrap of the minute counter too.
        let made = Instant::from_secs(255 * 60 + 30);
        assert_eq!(
            roundtrip(made, Instant::from_secs(256 * 60 + 1), None),
            Ok(536)
        );
    }

    #[test]
    fn a_cookie_is_bound_to_its_tuple_peer_isn_and_secret() {
        let (local, remote, isn) = (addr(2, 7), addr(1, 40000), SeqNum(77));
        let now = Instant::from_secs(5);
        let cookie = make(&SECRET, now, local, remote, isn, Some(1460));
        let other_port = addr(1, 40001);
        assert!(check(&SECRET, now, local, other_port, isn, cookie).is_err());
        // (A peer ISN a few off gives a smaller table MSS, as in Linux:
        // harmless, since using it needs the cookie, seen on path.)
        assert!(check(&SECRET, now, local, remote, isn + 4, cookie).is_err());
        assert!(check(&IsnSecret([8; 16]), now, local, remote, isn, cookie).is_err());
        // A forger who knows the layout but not the key: of 100,000 guesses
        // in the current minute's top byte, almost none pass (4 in 2^24).
        let top = (cookie.0 >> 24) << 24;
        let passed = (0..100_000u32)
            .filter(|&low| check(&SECRET, now, local, remote, isn, SeqNum(top | low)).is_ok())
            .count();
        assert!(passed <= 2, "{passed} forged cookies passed");
    }

    #[test]
    fn tsval_carries_window_scale_and_sack_and_is_never_ahead_of_the_clock() {
        for tsval in [0u32, 5, 64, 1_000_003, u32::MAX] {
            for (shift, sack) in [
                (None, false),
                (Some(7), true),
                (Some(14), false),
                (Some(0), true),
            ] {
                let coded = encode_tsval(tsval, shift, sack);
                assert!(tsval.wrapping_sub(coded) < 64, "{coded} vs {tsval}");
                let back = decode_tsecr(coded, 1460);
                assert_eq!((back.window_scale, back.sack_permitted), (shift, sack));
                assert_eq!(coded & (1 << 5), 0, "the ECN bit stays clear");
            }
        }
    }
}

//! Initial sequence numbers per RFC 6528 (referenced by RFC 9293 §3.4.1):
//!
//! ```text
//! ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
//! ```
//!
//! M is a clock ticking every 4 microseconds (so sequence numbers of
//! successive incarnations of the same 4-tuple keep moving forward), and F
//! a keyed pseudo-random function, so an off-path attacker cannot guess our
//! ISN from the ones it sees on its own connections. We use SipHash-2-4 for
//! F: small, fast, and designed as exactly this kind of keyed hash.

use std::net::{IpAddr, SocketAddr};

use crate::time::Instant;
use crate::wire::SeqNum;

/// The 128-bit key of F.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IsnSecret(pub [u8; 16]);

impl IsnSecret {
    /// 16 bytes from /dev/urandom; if that cannot be read, the random keys
    /// std gives every `HashMap` (themselves seeded from the OS).
    pub fn random() -> IsnSecret {
        use std::io::Read;
        let mut key = [0u8; 16];
        let from_os = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut key));
        if from_os.is_err() {
            use std::hash::{BuildHasher, Hasher};
            for half in key.chunks_mut(8) {
                let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
                hasher.write_u8(0);
                half.copy_from_slice(&hasher.finish().to_le_bytes());
            }
        }
        IsnSecret(key)
    }
}

/// Picks the ISN for a new connection.
pub fn generate(secret: &IsnSecret, now: Instant, local: SocketAddr, remote: SocketAddr) -> SeqNum {
    // M: RFC 6528 §3 "a timer that is incremented every 4 microseconds".
    let m = (now.total_micros() / 4) as u32;
    let (message, len) = tuple_message(local, remote, &[]);
    let f = siphash24(&secret.0, &message[..len]) as u32;
    SeqNum(m.wrapping_add(f))
}

/// The offset of a connection's timestamp clock (RFC 7323 §7.1): "a
/// random offset" per connection, here the same keyed hash of the 4-tuple
/// as the ISN's F, with one more byte so the two values are unrelated.
/// A TSval then leaks neither the host's uptime nor the clock of other
/// connections.
pub fn timestamp_offset(secret: &IsnSecret, local: SocketAddr, remote: SocketAddr) -> u32 {
    let (message, len) = tuple_message(local, remote, b"T");
    siphash24(&secret.0, &message[..len]) as u32
}

/// Longest [`tuple_message`]: two IPv6 addresses and ports, and a suffix.
const MAX_TUPLE_MESSAGE: usize = 2 * (16 + 2) + 8;

/// The 4-tuple as bytes (address, port, address, port), then `suffix`
/// (at most 8 bytes): F's input in RFC 6528 §3, for either family. An
/// IPv4 tuple takes 12 bytes, as it always has (same ISNs as before
/// IPv6 came); an IPv6 one 36.
pub(crate) fn tuple_message(
    local: SocketAddr,
    remote: SocketAddr,
    suffix: &[u8],
) -> ([u8; MAX_TUPLE_MESSAGE], usize) {
    let mut message = [0u8; MAX_TUPLE_MESSAGE];
    let mut len = 0;
    let mut put = |bytes: &[u8]| {
        message[len..len + bytes.len()].copy_from_slice(bytes);
        len += bytes.len();
    };
    for end in [local, remote] {
        match end.ip() {
            IpAddr::V4(ip) => put(&ip.octets()),
            IpAddr::V6(ip) => put(&ip.octets()),
        }
        put(&end.port().to_be_bytes());
    }
    put(suffix);
    (message, len)
}

/// SipHash-2-4 (Aumasson and Bernstein, 2012) of a short message.
pub(crate) fn siphash24(key: &[u8; 16], message: &[u8]) -> u64 {
    let k0 = u64::from_le_bytes(key[0..8].try_into().unwrap_or_default());
    let k1 = u64::from_le_bytes(key[8..16].try_into().unwrap_or_default());
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ];
    let mut chunks = message.chunks_exact(8);
    for chunk in &mut chunks {
        let m = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        compress(&mut v, m, 2);
    }
    // Last block: remaining bytes, zero padded, length in the top byte.
    let mut last = [0u8; 8];
    let rest = chunks.remainder();
    last[..rest.len()].copy_from_slice(rest);
    last[7] = message.len() as u8;
    compress(&mut v, u64::from_le_bytes(last), 2);
    v[2] ^= 0xff;
    for _ in 0..4 {
        sip_round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

fn compress(v: &mut [u64; 4], m: u64, rounds: usize) {
    v[3] ^= m;
    for _ in 0..rounds {
        sip_round(v);
    }
    v[0] ^= m;
}

fn sip_round(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13) ^ v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16) ^ v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21) ^ v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17) ^ v[2];
    v[2] = v[2].rotate_left(32);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn addr(last: u8, port: u16) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::new(192, 0, 2, last), port))
    }

    #[test]
    fn siphash_matches_the_reference_test_vector() {
        // From the SipHash paper, appendix A: key 00..0f, message 00..0e.
        let key: [u8; 16] = core::array::from_fn(|i| i as u8);
        let message: [u8; 15] = core::array::from_fn(|i| i as u8);
        assert_eq!(siphash24(&key, &message), 0xa129_ca61_49be_45e5);
    }

    #[test]
    fn must_8_isn_advances_with_the_4_microsecond_clock() {
        let secret = IsnSecret([7; 16]);
        let a = generate(&secret, Instant::from_micros(0), addr(2, 80), addr(1, 5000));
        let b = generate(
            &secret,
            Instant::from_micros(400),
            addr(2, 80),
            addr(1, 5000),
        );
        assert_eq!(b.diff(a), 100);
    }

    #[test]
    fn shld_1_isn_depends_on_the_tuple_and_the_secret() {
        let now = Instant::from_secs(1);
        let secret = IsnSecret([7; 16]);
        let base = generate(&secret, now, addr(2, 80), addr(1, 5000));
        assert_ne!(base, generate(&secret, now, addr(2, 80), addr(1, 5001)));
        assert_ne!(
            base,
            generate(&IsnSecret([8; 16]), now, addr(2, 80), addr(1, 5000))
        );
    }

    #[test]
    fn timestamp_offsets_are_keyed_per_connection_rfc_7323_s7_1() {
        let secret = IsnSecret([7; 16]);
        let base = timestamp_offset(&secret, addr(2, 80), addr(1, 5000));
        assert_ne!(base, timestamp_offset(&secret, addr(2, 80), addr(1, 5001)));
        assert_ne!(
            base,
            timestamp_offset(&IsnSecret([8; 16]), addr(2, 80), addr(1, 5000))
        );
        let isn_f = generate(&secret, Instant::ZERO, addr(2, 80), addr(1, 5000));
        assert_ne!(base, isn_f.0, "not the ISN's hash");
    }

    #[test]
    fn ipv6_tuples_hash_all_their_bits_rfc_6528_s3() {
        let v6 = |last: u16, port: u16| -> SocketAddr {
            let ip = std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last);
            (ip, port).into()
        };
        assert_eq!(tuple_message(addr(2, 80), addr(1, 5000), b"").1, 12);
        assert_eq!(tuple_message(v6(2, 80), v6(1, 5000), b"T").1, 37);
        let now = Instant::from_secs(1);
        let secret = IsnSecret([7; 16]);
        let base = generate(&secret, now, v6(2, 80), v6(1, 5000));
        assert_ne!(base, generate(&secret, now, v6(2, 80), v6(3, 5000)));
        let far: SocketAddr = ("2001:db9::1".parse::<std::net::Ipv6Addr>().unwrap(), 5000).into();
        assert_ne!(base, generate(&secret, now, v6(2, 80), far));
    }

    #[test]
    fn random_secrets_differ() {
        assert_ne!(IsnSecret::random(), IsnSecret::random());
    }
}

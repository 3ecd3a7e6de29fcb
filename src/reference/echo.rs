//! ICMP echo (ping) answers.
//!
//! smoltcp answers echo requests itself only when built with its
//! `auto-icmp-echo-reply` feature, which our Cargo.toml does not enable, so
//! the wrapper answers them (RFC 792: swap addresses, type 0, same ident,
//! sequence number and data). If that feature is ever turned on, remove this
//! or pings get two replies.

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{Icmpv4Packet, Icmpv4Repr, IpProtocol, Ipv4Address, Ipv4Packet, Ipv4Repr};

/// Hop limit of our replies, as Linux uses.
const REPLY_TTL: u8 = 64;

/// Builds the echo reply to `request` into `out` if `request` is an echo
/// request to `our_addr`; returns the reply's length. `None` for any other
/// ICMP message or a malformed one.
pub fn echo_reply(request: &[u8], our_addr: Ipv4Address, out: &mut Vec<u8>) -> Option<usize> {
    let caps = ChecksumCapabilities::default();
    let ip_packet = Ipv4Packet::new_checked(request).ok()?;
    let ip = Ipv4Repr::parse(&ip_packet, &caps).ok()?;
    if ip.dst_addr != our_addr || ip.next_header != IpProtocol::Icmp {
        return None;
    }
    let icmp_packet = Icmpv4Packet::new_checked(ip_packet.payload()).ok()?;
    let Icmpv4Repr::EchoRequest {
        ident,
        seq_no,
        data,
    } = Icmpv4Repr::parse(&icmp_packet, &caps).ok()?
    else {
        return None;
    };
    let reply = Icmpv4Repr::EchoReply {
        ident,
        seq_no,
        data,
    };
    let reply_ip = Ipv4Repr {
        src_addr: our_addr,
        dst_addr: ip.src_addr,
        next_header: IpProtocol::Icmp,
        payload_len: reply.buffer_len(),
        hop_limit: REPLY_TTL,
    };
    let len = reply_ip.buffer_len() + reply.buffer_len();
    out.clear();
    out.resize(len, 0);
    let mut out_ip = Ipv4Packet::new_unchecked(&mut out[..]);
    reply_ip.emit(&mut out_ip, &caps);
    reply.emit(
        &mut Icmpv4Packet::new_unchecked(out_ip.payload_mut()),
        &caps,
    );
    Some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEER: Ipv4Address = Ipv4Address::new(192, 0, 2, 1);
    const US: Ipv4Address = Ipv4Address::new(192, 0, 2, 2);

    fn echo_request(dst: Ipv4Address) -> Vec<u8> {
        let mut bytes = Vec::new();
        let request = Icmpv4Repr::EchoRequest {
            ident: 0x1234,
            seq_no: 9,
            data: b"ping!",
        };
        let ip = Ipv4Repr {
            src_addr: PEER,
            dst_addr: dst,
            next_header: IpProtocol::Icmp,
            payload_len: request.buffer_len(),
            hop_limit: 64,
        };
        bytes.resize(ip.buffer_len() + request.buffer_len(), 0);
        let caps = ChecksumCapabilities::default();
        let mut packet = Ipv4Packet::new_unchecked(&mut bytes[..]);
        ip.emit(&mut packet, &caps);
        request.emit(
            &mut Icmpv4Packet::new_unchecked(packet.payload_mut()),
            &caps,
        );
        bytes
    }

    #[test]
    fn an_echo_request_gets_a_reply_with_the_same_ident_sequence_and_data() {
        let mut out = Vec::new();
        let len = echo_reply(&echo_request(US), US, &mut out).expect("a reply");
        let caps = ChecksumCapabilities::default();
        let ip_packet = Ipv4Packet::new_checked(&out[..len]).unwrap();
        let ip = Ipv4Repr::parse(&ip_packet, &caps).unwrap();
        assert_eq!((ip.src_addr, ip.dst_addr), (US, PEER));
        let icmp = Icmpv4Packet::new_checked(ip_packet.payload()).unwrap();
        assert_eq!(
            Icmpv4Repr::parse(&icmp, &caps).unwrap(),
            Icmpv4Repr::EchoReply {
                ident: 0x1234,
                seq_no: 9,
                data: b"ping!"
            }
        );
    }

    #[test]
    fn a_request_for_another_host_is_not_answered() {
        let mut out = Vec::new();
        let other = Ipv4Address::new(192, 0, 2, 77);
        assert_eq!(echo_reply(&echo_request(other), US, &mut out), None);
    }
}

//! ICMP echo (ping) answers, of both families.
//!
//! smoltcp answers echo requests itself only when built with its
//! `auto-icmp-echo-reply` feature, which our Cargo.toml does not enable, so
//! the wrapper answers them (RFC 792, RFC 4443 §4.2: swap addresses, the
//! reply type, same ident, sequence number and data). If that feature is
//! ever turned on, remove this or pings get two replies.

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    Icmpv4Packet, Icmpv4Repr, Icmpv6Packet, Icmpv6Repr, IpProtocol, IpRepr, Ipv4Address,
    Ipv4Packet, Ipv4Repr, Ipv6Address, Ipv6Packet, Ipv6Repr,
};

/// Hop limit of our replies, as Linux uses.
const REPLY_TTL: u8 = 64;

/// Builds the echo reply to `request` into `out` if `request` is an echo
/// request to one of our addresses (`our_v6` if we have one); returns the
/// reply's length. `None` for any other ICMP message or a malformed one.
pub fn echo_reply(
    request: &[u8],
    our_v4: Ipv4Address,
    our_v6: Option<Ipv6Address>,
    out: &mut Vec<u8>,
) -> Option<usize> {
    if request.first().map(|byte| byte >> 4) == Some(6) {
        return echo_reply_v6(request, our_v6?, out);
    }
    echo_reply_v4(request, our_v4, out)
}

fn echo_reply_v4(request: &[u8], our_addr: Ipv4Address, out: &mut Vec<u8>) -> Option<usize> {
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
    let addrs = (our_addr.into(), ip.src_addr.into());
    let reply_ip = IpRepr::new(
        addrs.0,
        addrs.1,
        IpProtocol::Icmp,
        reply.buffer_len(),
        REPLY_TTL,
    );
    Some(write_icmp_packet(out, reply_ip, |icmp| {
        reply.emit(&mut Icmpv4Packet::new_unchecked(icmp), &caps)
    }))
}

/// RFC 4443 §4.2; the checksum covers the IPv6 pseudo-header (§2.3).
fn echo_reply_v6(request: &[u8], our_addr: Ipv6Address, out: &mut Vec<u8>) -> Option<usize> {
    let caps = ChecksumCapabilities::default();
    let ip_packet = Ipv6Packet::new_checked(request).ok()?;
    let ip = Ipv6Repr::parse(&ip_packet).ok()?;
    if ip.dst_addr != our_addr || ip.next_header != IpProtocol::Icmpv6 {
        return None;
    }
    let icmp_packet = Icmpv6Packet::new_checked(ip_packet.payload()).ok()?;
    let request = Icmpv6Repr::parse(&ip.src_addr, &ip.dst_addr, &icmp_packet, &caps).ok()?;
    let reply = match request {
        Icmpv6Repr::EchoRequest {
            ident,
            seq_no,
            data,
        } => Icmpv6Repr::EchoReply {
            ident,
            seq_no,
            data,
        },
        _ => return None,
    };
    let reply_len = reply.buffer_len();
    let reply_ip = IpRepr::Ipv6(Ipv6Repr {
        src_addr: our_addr,
        dst_addr: ip.src_addr,
        next_header: IpProtocol::Icmpv6,
        payload_len: reply_len,
        hop_limit: REPLY_TTL,
    });
    Some(write_icmp_packet(out, reply_ip, |icmp| {
        let icmp = &mut Icmpv6Packet::new_unchecked(icmp);
        reply.emit(&our_addr, &ip.src_addr, icmp, &caps)
    }))
}

/// Writes the IP header `ip` into `out`, then lets `emit_icmp` fill the
/// payload; returns the packet's length.
fn write_icmp_packet(out: &mut Vec<u8>, ip: IpRepr, emit_icmp: impl FnOnce(&mut [u8])) -> usize {
    let len = ip.buffer_len();
    out.clear();
    out.resize(len, 0);
    ip.emit(&mut out[..], &ChecksumCapabilities::default());
    emit_icmp(&mut out[ip.header_len()..]);
    len
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
        let len = echo_reply(&echo_request(US), US, None, &mut out).expect("a reply");
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
        assert_eq!(echo_reply(&echo_request(other), US, None, &mut out), None);
    }

    const PEER6: Ipv6Address = Ipv6Address::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
    const US6: Ipv6Address = Ipv6Address::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);

    fn echo_request_v6(dst: Ipv6Address) -> Vec<u8> {
        let request = Icmpv6Repr::EchoRequest {
            ident: 0x4321,
            seq_no: 3,
            data: b"ping6",
        };
        let len = request.buffer_len();
        let ip = IpRepr::new(PEER6.into(), dst.into(), IpProtocol::Icmpv6, len, 64);
        let mut bytes = Vec::new();
        let caps = ChecksumCapabilities::default();
        write_icmp_packet(&mut bytes, ip, |icmp| {
            request.emit(&PEER6, &dst, &mut Icmpv6Packet::new_unchecked(icmp), &caps)
        });
        bytes
    }

    #[test]
    fn an_icmpv6_echo_request_gets_a_reply_with_a_valid_checksum() {
        let mut out = Vec::new();
        let request = echo_request_v6(US6);
        let len = echo_reply(&request, US, Some(US6), &mut out).expect("a reply");
        let ip_packet = Ipv6Packet::new_checked(&out[..len]).unwrap();
        let ip = Ipv6Repr::parse(&ip_packet).unwrap();
        assert_eq!((ip.src_addr, ip.dst_addr), (US6, PEER6));
        let icmp = Icmpv6Packet::new_checked(ip_packet.payload()).unwrap();
        let caps = ChecksumCapabilities::default();
        assert_eq!(
            Icmpv6Repr::parse(&US6, &PEER6, &icmp, &caps).unwrap(),
            Icmpv6Repr::EchoReply {
                ident: 0x4321,
                seq_no: 3,
                data: b"ping6"
            }
        );
        let other = Ipv6Address::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 7);
        assert_eq!(
            echo_reply(&echo_request_v6(other), US, Some(US6), &mut out),
            None
        );
        assert_eq!(
            echo_reply(&request, US, None, &mut out),
            None,
            "no IPv6 address"
        );
    }
}

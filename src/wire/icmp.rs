//! ICMP echo (RFC 792), the one ICMP message a host must answer
//! (RFC 1122 §3.2.2.6: "Every host MUST implement an ICMP Echo server").

use std::net::Ipv4Addr;

use super::checksum;
use super::ipv4::{Ipv4Repr, DEFAULT_TTL, IPV4_HEADER_LEN, PROTO_ICMP};
use super::WireError;

const TYPE_ECHO_REPLY: u8 = 0;
const TYPE_ECHO_REQUEST: u8 = 8;
const ICMP_HEADER_LEN: usize = 8;

/// An echo request: identifier, sequence number and the data to send back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EchoRequest<'a> {
    pub ident: u16,
    pub seq_no: u16,
    pub data: &'a [u8],
}

impl<'a> EchoRequest<'a> {
    /// Checks an ICMP message; anything but a valid echo request is refused.
    pub fn parse(bytes: &'a [u8]) -> Result<EchoRequest<'a>, WireError> {
        if bytes.len() < ICMP_HEADER_LEN {
            return Err(WireError::Truncated);
        }
        if checksum::checksum(bytes) != 0 {
            return Err(WireError::BadChecksum);
        }
        if bytes[0] != TYPE_ECHO_REQUEST || bytes[1] != 0 {
            return Err(WireError::Unsupported);
        }
        Ok(EchoRequest {
            ident: u16::from_be_bytes([bytes[4], bytes[5]]),
            seq_no: u16::from_be_bytes([bytes[6], bytes[7]]),
            data: &bytes[ICMP_HEADER_LEN..],
        })
    }

    /// Writes the whole IPv4 echo reply into `buf`; returns its length, or
    /// `None` if `buf` is too small to echo all the data.
    pub fn emit_reply(&self, src: Ipv4Addr, dst: Ipv4Addr, buf: &mut [u8]) -> Option<usize> {
        let icmp_len = ICMP_HEADER_LEN + self.data.len();
        let total = IPV4_HEADER_LEN + icmp_len;
        if buf.len() < total {
            return None;
        }
        let icmp = &mut buf[IPV4_HEADER_LEN..total];
        icmp[0] = TYPE_ECHO_REPLY;
        icmp[1] = 0;
        icmp[2..4].copy_from_slice(&[0, 0]);
        icmp[4..6].copy_from_slice(&self.ident.to_be_bytes());
        icmp[6..8].copy_from_slice(&self.seq_no.to_be_bytes());
        icmp[ICMP_HEADER_LEN..].copy_from_slice(self.data);
        let sum = checksum::checksum(icmp);
        icmp[2..4].copy_from_slice(&sum.to_be_bytes());
        let ip = Ipv4Repr {
            src,
            dst,
            protocol: PROTO_ICMP,
            ttl: DEFAULT_TTL,
            ecn: crate::wire::Ecn::NotEct,
            payload_len: icmp_len,
        };
        ip.emit(buf);
        Some(total)
    }

    /// Builds an echo request message (without IPv4 header), for tests and tools.
    pub fn emit_request(&self, buf: &mut [u8]) -> usize {
        let len = ICMP_HEADER_LEN + self.data.len();
        buf[0] = TYPE_ECHO_REQUEST;
        buf[1] = 0;
        buf[2..4].copy_from_slice(&[0, 0]);
        buf[4..6].copy_from_slice(&self.ident.to_be_bytes());
        buf[6..8].copy_from_slice(&self.seq_no.to_be_bytes());
        buf[ICMP_HEADER_LEN..len].copy_from_slice(self.data);
        let sum = checksum::checksum(&buf[..len]);
        buf[2..4].copy_from_slice(&sum.to_be_bytes());
        len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_echoes_ident_seq_and_data_with_valid_checksums() {
        let request = EchoRequest {
            ident: 7,
            seq_no: 3,
            data: b"ping",
        };
        let mut msg = [0u8; 12];
        request.emit_request(&mut msg);
        let parsed = EchoRequest::parse(&msg).unwrap();
        assert_eq!(parsed, request);

        let mut buf = [0u8; 64];
        let me = Ipv4Addr::new(192, 0, 2, 2);
        let peer = Ipv4Addr::new(192, 0, 2, 1);
        let len = parsed.emit_reply(me, peer, &mut buf).unwrap();
        let (ip, icmp) = Ipv4Repr::parse(&buf[..len]).unwrap();
        assert_eq!((ip.src, ip.dst, ip.protocol), (me, peer, PROTO_ICMP));
        assert_eq!(checksum::checksum(icmp), 0);
        assert_eq!(icmp[0], TYPE_ECHO_REPLY);
        assert_eq!(&icmp[4..], &[0, 7, 0, 3, b'p', b'i', b'n', b'g']);
    }

    #[test]
    fn other_types_and_bad_checksums_are_refused() {
        let mut msg = [0u8; 8];
        EchoRequest {
            ident: 1,
            seq_no: 1,
            data: b"",
        }
        .emit_request(&mut msg);
        let mut bad = msg;
        bad[7] ^= 1;
        assert_eq!(EchoRequest::parse(&bad), Err(WireError::BadChecksum));
        let mut reply = msg;
        reply[0] = TYPE_ECHO_REPLY;
        reply[2..4].copy_from_slice(&[0, 0]);
        let sum = checksum::checksum(&reply);
        reply[2..4].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(EchoRequest::parse(&reply), Err(WireError::Unsupported));
        assert_eq!(EchoRequest::parse(&msg[..4]), Err(WireError::Truncated));
    }
}

//! Resets sent in reply to a segment, shaped so the sender will accept them.

use crate::wire::{SeqNum, TcpFlags, TcpHeader, TcpSegment};

/// The RST answering `seg` (RFC 9293 §3.10.7.1), or `None` if `seg` is
/// itself a RST: "An incoming segment containing a RST is discarded".
///
/// ```text
/// If the ACK bit is off:  <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
/// If the ACK bit is on:   <SEQ=SEG.ACK><CTL=RST>
/// ```
pub fn rst_for(seg: &TcpSegment) -> Option<TcpHeader> {
    let h = &seg.header;
    if h.flags.rst {
        return None;
    }
    let (seq, ack) = match h.ack {
        Some(ack) => (ack, None),
        None => (SeqNum(0), Some(h.seq + seg.seg_len())),
    };
    Some(TcpHeader {
        src_port: h.dst_port,
        dst_port: h.src_port,
        seq,
        ack,
        flags: TcpFlags {
            rst: true,
            ..TcpFlags::default()
        },
        ..TcpHeader::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(header: TcpHeader, payload: &[u8]) -> TcpSegment<'_> {
        TcpSegment {
            header,
            payload,
            ecn: crate::wire::Ecn::NotEct,
        }
    }

    #[test]
    fn segment_without_ack_gets_rst_ack_covering_it() {
        let syn = TcpHeader {
            src_port: 5000,
            dst_port: 80,
            seq: SeqNum(u32::MAX),
            flags: TcpFlags {
                syn: true,
                ..TcpFlags::default()
            },
            ..TcpHeader::default()
        };
        let rst = rst_for(&segment(syn, b"ab")).unwrap();
        assert_eq!((rst.src_port, rst.dst_port), (80, 5000));
        assert_eq!(rst.seq, SeqNum(0));
        assert_eq!(rst.ack, Some(SeqNum(2))); // SEQ + 2 bytes + SYN, wrapped
        assert!(rst.flags.rst);
    }

    #[test]
    fn segment_with_ack_gets_rst_at_its_ack() {
        let ack = TcpHeader {
            src_port: 5000,
            dst_port: 80,
            seq: SeqNum(9),
            ack: Some(SeqNum(77)),
            ..TcpHeader::default()
        };
        let rst = rst_for(&segment(ack, b"")).unwrap();
        assert_eq!((rst.seq, rst.ack), (SeqNum(77), None));
    }

    #[test]
    fn rst_is_never_answered() {
        let rst = TcpHeader {
            flags: TcpFlags {
                rst: true,
                ..TcpFlags::default()
            },
            ..TcpHeader::default()
        };
        assert_eq!(rst_for(&segment(rst, b"")), None);
    }
}

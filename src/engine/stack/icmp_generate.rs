//! ICMP errors the stack sends about datagrams it cannot take (the other
//! way from `icmp_errors.rs`, which takes errors about our segments):
//!
//! - IPv4: Destination Unreachable code 2, protocol unreachable, for a
//!   transport we lack (RFC 1122 §3.2.2.1 SHOULD, RFC 792). Port
//!   unreachable is never needed: TCP answers with a RST.
//! - IPv6: Parameter Problem (RFC 4443 §3.4) code 1 for an unrecognized
//!   Next Header, pointing at that field (RFC 8200 §4), and code 2 for an
//!   option whose type asks for it (RFC 8200 §4.2), pointing at it.
//!
//! The callers have already checked what RFC 1122 §3.2.2 and RFC 4443
//! §2.4 (e) exclude (errors about errors, sources that name no single
//! host, multicast and broadcast destinations, non-first fragments: we
//! reassemble first). Here every error draws on one token bucket on the
//! engine's clock (RFC 4443 §2.4 (f) MUST, RFC 1812 §4.3.2.8), and quotes
//! as much of the datagram as fits in 576 bytes (IPv4, RFC 1812
//! §4.3.2.3) or 1280 (IPv6, RFC 4443 §2.4 (c)); `wire` cuts the quote.

use std::net::IpAddr;

use log::debug;

use super::{ControlPacket, Stack, MAX_ERROR_QUOTE};
use crate::time::Instant;
use crate::wire::icmp_error::IPV4_QUOTE_MAX;
use crate::wire::{ErrorHead, IcmpError, Ipv4Repr, IPV4_HEADER_LEN};

/// A token bucket counted in thousandths of a token, so that whole
/// milliseconds of the engine's clock refill it exactly.
#[derive(Clone, Copy, Debug)]
pub(super) struct IcmpErrorBucket {
    per_sec: u32,
    /// Thousandths of a token held, at most `burst * 1000`.
    credit: u64,
    capacity: u64,
    refilled_at: Option<Instant>,
}

impl IcmpErrorBucket {
    pub(super) fn new(per_sec: u32, burst: u32) -> IcmpErrorBucket {
        let capacity = u64::from(burst) * 1000;
        IcmpErrorBucket {
            per_sec,
            credit: capacity,
            capacity,
            refilled_at: None,
        }
    }

    /// Takes one token at `now`; false if the bucket is empty.
    fn try_take(&mut self, now: Instant) -> bool {
        if let Some(then) = self.refilled_at {
            let elapsed = now.total_millis().saturating_sub(then.total_millis());
            let earned = elapsed.saturating_mul(u64::from(self.per_sec));
            self.credit = self.credit.saturating_add(earned).min(self.capacity);
        }
        self.refilled_at = Some(now);
        if self.credit < 1000 {
            return false;
        }
        self.credit -= 1000;
        true
    }
}

impl Stack {
    /// RFC 1122 §3.2.2.1: a datagram for us whose protocol we lack gets a
    /// protocol unreachable. `whole` is the datagram as it came, or
    /// `None` if it was reassembled: then its header is written anew
    /// (without the fragment fields) before `payload`.
    pub(super) fn protocol_unreachable(
        &mut self,
        now: Instant,
        ip: &Ipv4Repr,
        whole: Option<&[u8]>,
        payload: &[u8],
    ) {
        let mut quote = [0u8; MAX_ERROR_QUOTE];
        let len = match whole {
            Some(packet) => copy_prefix(&mut quote[..IPV4_QUOTE_MAX], packet),
            None => {
                let header = Ipv4Repr {
                    payload_len: payload.len(),
                    ..*ip
                };
                header.emit(&mut quote);
                let room = &mut quote[IPV4_HEADER_LEN..IPV4_QUOTE_MAX];
                IPV4_HEADER_LEN + copy_prefix(room, payload)
            }
        };
        let head = IcmpError::ProtocolUnreachable.head();
        self.queue_icmp_error(now, ip.src.into(), head, &quote[..len]);
    }

    /// Queues the error `head` to `to`, quoting `original`, if the rate
    /// limit allows. The caller counts the offending datagram's drop.
    pub(super) fn queue_icmp_error(
        &mut self,
        now: Instant,
        to: IpAddr,
        head: ErrorHead,
        original: &[u8],
    ) {
        if !self.icmp_error_bucket.try_take(now) {
            self.ip_stats.icmp_errors_rate_limited += 1;
            debug!("ICMP error to {to} rate-limited");
            return;
        }
        debug!("ICMP error type {} code {} to {to}", head.kind, head.code);
        let mut quote = [0u8; MAX_ERROR_QUOTE];
        let len = copy_prefix(&mut quote, original);
        self.queue_control(ControlPacket::IcmpError {
            to,
            head,
            quote,
            len: len as u16,
        });
    }
}

/// Copies as much of `from` as fits into `to`; returns how much.
fn copy_prefix(to: &mut [u8], from: &[u8]) -> usize {
    let len = from.len().min(to.len());
    to[..len].copy_from_slice(&from[..len]);
    len
}

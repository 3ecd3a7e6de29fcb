//! The in-memory device smoltcp's `Interface` runs over.
//!
//! smoltcp wants to *pull* packets from a device and *push* replies into it,
//! while our [`Engine`](crate::engine::Engine) contract is the other way round
//! (the driver pushes with `handle_packet` and pulls with `poll_transmit`).
//! Two queues bridge the two: `handle_packet` fills `inbound`, smoltcp drains
//! it; smoltcp fills `outbound`, `poll_transmit` drains it.
//!
//! Packet buffers are recycled through a small free list so the steady state
//! does not allocate per packet (ARCHITECTURE.md, "No allocation per packet").

use std::collections::VecDeque;

use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant as SmolInstant;

/// Largest IPv4 packet we carry; also what smoltcp sizes its segments for.
pub const MTU: usize = 1500;

/// Buffers kept for reuse; more than this are freed.
const SPARE_BUFFERS: usize = 64;

/// Most packets waiting for `poll_transmit` (ARCHITECTURE.md: every queue
/// is bounded). When full, smoltcp is told the link is busy and keeps its
/// data for later; replies made while reading a packet (RSTs, ACKs) are
/// dropped, as a full link would drop them.
const MAX_OUTBOUND: usize = 1024;

/// Two packet queues and a pool of spare buffers.
#[derive(Debug, Default)]
pub struct QueueDevice {
    inbound: VecDeque<Vec<u8>>,
    outbound: VecDeque<Vec<u8>>,
    spare: Vec<Vec<u8>>,
}

impl QueueDevice {
    pub fn new() -> QueueDevice {
        QueueDevice::default()
    }

    /// Queues a packet for smoltcp to read at its next ingress poll.
    pub fn push_inbound(&mut self, packet: &[u8]) {
        let mut buffer = self.take_buffer();
        buffer.extend_from_slice(packet);
        self.inbound.push_back(buffer);
    }

    /// Queues a packet we built ourselves (an ICMP echo reply) for sending.
    pub fn push_outbound(&mut self, packet: &[u8]) {
        if self.outbound.len() >= MAX_OUTBOUND {
            return;
        }
        let mut buffer = self.take_buffer();
        buffer.extend_from_slice(packet);
        self.outbound.push_back(buffer);
    }

    /// Copies the oldest outbound packet into `buf`; `None` when there is none.
    /// A packet longer than `buf` is cut (the contract promises `buf` >= MTU).
    pub fn pop_outbound(&mut self, buf: &mut [u8]) -> Option<usize> {
        let packet = self.outbound.pop_front()?;
        let len = packet.len().min(buf.len());
        buf[..len].copy_from_slice(&packet[..len]);
        self.recycle(packet);
        Some(len)
    }

    pub fn has_outbound(&self) -> bool {
        !self.outbound.is_empty()
    }

    fn take_buffer(&mut self) -> Vec<u8> {
        self.spare.pop().unwrap_or_else(|| Vec::with_capacity(MTU))
    }

    fn recycle(&mut self, mut buffer: Vec<u8>) {
        if self.spare.len() < SPARE_BUFFERS {
            buffer.clear();
            self.spare.push(buffer);
        }
    }
}

impl phy::Device for QueueDevice {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _now: SmolInstant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        let packet = self.inbound.pop_front()?;
        let QueueDevice {
            outbound, spare, ..
        } = self;
        Some((
            RxToken { packet, spare },
            TxToken {
                outbound,
                spare: None,
            },
        ))
    }

    fn transmit(&mut self, _now: SmolInstant) -> Option<TxToken<'_>> {
        if self.outbound.len() >= MAX_OUTBOUND {
            return None;
        }
        Some(TxToken {
            outbound: &mut self.outbound,
            spare: Some(&mut self.spare),
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        // Default checksum capabilities: smoltcp verifies every inbound
        // checksum and computes every outbound one, as a real link needs.
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = MTU;
        caps
    }
}

/// One inbound packet lent to smoltcp; its buffer goes back to the pool.
pub struct RxToken<'a> {
    packet: Vec<u8>,
    spare: &'a mut Vec<Vec<u8>>,
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        let result = f(&self.packet);
        if self.spare.len() < SPARE_BUFFERS {
            let mut buffer = self.packet;
            buffer.clear();
            self.spare.push(buffer);
        }
        result
    }
}

/// Room for one outbound packet.
pub struct TxToken<'a> {
    outbound: &'a mut VecDeque<Vec<u8>>,
    /// The pool, when the token was not handed out beside an `RxToken`
    /// (which holds the pool itself then).
    spare: Option<&'a mut Vec<Vec<u8>>>,
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        let mut buffer = self
            .spare
            .and_then(|spare| spare.pop())
            .unwrap_or_else(|| Vec::with_capacity(MTU));
        buffer.resize(len, 0);
        let result = f(&mut buffer);
        if self.outbound.len() < MAX_OUTBOUND {
            self.outbound.push_back(buffer);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::phy::{Device, RxToken as _, TxToken as _};

    #[test]
    fn inbound_and_outbound_queues_are_fifo() {
        let mut device = QueueDevice::new();
        device.push_inbound(&[1, 2, 3]);
        device.push_inbound(&[4]);
        let now = SmolInstant::from_micros(0);
        let (rx, _) = device.receive(now).expect("first packet");
        assert_eq!(rx.consume(|p| p.to_vec()), vec![1, 2, 3]);
        let (rx, tx) = device.receive(now).expect("second packet");
        assert_eq!(rx.consume(|p| p.to_vec()), vec![4]);
        tx.consume(2, |b| b.copy_from_slice(&[9, 8]));
        assert!(device.receive(now).is_none());

        let mut buf = [0u8; MTU];
        assert_eq!(device.pop_outbound(&mut buf), Some(2));
        assert_eq!(&buf[..2], &[9, 8]);
        assert_eq!(device.pop_outbound(&mut buf), None);
    }
}

//! Where packets come from and go to.
//!
//! A [`Device`] moves whole IPv4 packets. The driver reads until the device
//! would block, then sends everything the engine has due. Implementations:
//! the TUN device ([`tun::TunDevice`]) and a pcap tap ([`pcap::PcapTap`]) that
//! wraps any device and records both directions for Wireshark, and an
//! impairment ([`impair::ImpairedDevice`]) that wraps any device and loses,
//! duplicates, reorders or corrupts packets on purpose, repeatably.
//! [`tun_offload::OffloadTunDevice`] is the TUN device with the kernel's
//! segmentation offload on, carrying TCP segments of up to 64 KB.
//! [`replay`] reads a recording back for the replay tests.

use std::io;
use std::os::fd::RawFd;

pub mod error;
pub mod impair;
pub mod memory;
pub mod netconfig;
pub mod netconfig_v6;
pub mod pcap;
pub mod replay;
pub mod segmentation;
pub mod socketpair;
pub mod tun;
pub mod tun_offload;
pub mod tun_queue;
pub mod vnet;

pub use error::DeviceError;
pub use impair::{ImpairedDevice, Impairment};
pub use pcap::PcapTap;
pub use tun::TunDevice;
pub use tun_offload::OffloadTunDevice;

/// A source and sink of raw IPv4 packets.
pub trait Device: Send {
    /// Reads one packet into `buf`. `Ok(None)` when no packet is waiting
    /// (the device would block).
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>>;

    /// Sends one packet.
    fn send(&mut self, packet: &[u8]) -> io::Result<()>;

    /// A descriptor that polls readable when [`Device::recv`] has a packet;
    /// `None` for devices with no descriptor (in-memory ones).
    fn raw_fd(&self) -> Option<RawFd>;

    /// Largest packet this device carries.
    fn mtu(&self) -> usize {
        1500
    }

    /// Largest packet this device takes and gives: the MTU, unless the
    /// device segments for us ([`tun_offload::OffloadTunDevice`], up to
    /// 64 KB). Added for offloads; the default keeps every other device as
    /// it was.
    fn max_packet(&self) -> usize {
        self.mtu()
    }
}

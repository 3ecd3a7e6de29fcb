//! The kernel's queue in front of a TUN device: packets the kernel routed
//! to tun0 wait in it (a ring of `txqueuelen` packets) until the stack
//! reads them. When the stack reads more slowly than the kernel routes,
//! for a moment or for good, the kernel drops what does not fit and counts
//! it in the interface's `tx_dropped`; the stack never sees those packets.
//!
//! Under a SYN flood this decides whether real clients get in: the flood
//! generator and the stack's reader race for the CPU, and a real client's
//! SYN that arrives while the ring is full is dropped like the flood's,
//! costing that client its SYN retransmission timeout (1 s, RFC 6298
//! §2.1). A ring of 500 packets (the kernel's default for a new TUN
//! device, inherited from Ethernet) holds a few milliseconds of flood; a
//! longer one turns the scheduler's stalls into a short wait instead of a
//! loss. Linux's own receive path has no such race: a veth or NIC
//! interrupt processes each packet in the sender's softirq.

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};

use super::error::DeviceError;
use super::netconfig::ControlSocket;
use super::tun::validate_ifname;

/// The queue length the stack gives its TUN device (`--txqueuelen`): at
/// the ~150,000 packets a second one core reads, 10,000 packets are
/// ~70 ms of waiting at worst, well inside a SYN's 1 s retransmission
/// timeout, and ~10 MB of kernel memory for small packets. Large (offload)
/// segments do not fill it: each sending socket keeps only a few in flight
/// below the device (TCP Small Queues).
pub const DEFAULT_TXQUEUELEN: u32 = 10_000;

/// Sets interface `ifname`'s `txqueuelen` (`ip link set tun0 txqueuelen
/// N`): for a TUN device, how many packets the kernel holds for the
/// reader. The kernel resizes a TUN device's rings at once.
pub fn set_tx_queue_len(ifname: &str, len: u32) -> Result<(), DeviceError> {
    let action = || format!("set the queue length of {ifname} to {len}");
    validate_ifname(ifname)?;
    let socket = ControlSocket::open_family(libc::AF_INET)?;
    let mut req = super::netconfig::ifreq_for(ifname)?;
    // C's `ifr_qlen` is this same int of the union (`ifru_ivalue`).
    req.ifr_ifru.ifru_metric = libc::c_int::try_from(len).map_err(|_| DeviceError::Io {
        action: action(),
        source: io::Error::new(io::ErrorKind::InvalidInput, "queue length too large"),
    })?;
    socket
        .ioctl(libc::SIOCSIFTXQLEN, &mut req)
        .map_err(|err| DeviceError::from_os(action(), ifname, err))
}

/// The packets interface `ifname` has dropped on its way out (for a TUN
/// device: towards the stack, because its queue was full), as a wrapping
/// 32-bit counter; `None` if there is no such interface in the calling
/// thread's network namespace. Read with getifaddrs(3), which asks the
/// calling thread's namespace over netlink (`/sys/class/net` shows the
/// namespace sysfs was mounted in, not always the thread's).
pub fn tx_dropped(ifname: &str) -> Option<u32> {
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a list we free below.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return None;
    }
    let mut found = None;
    let mut entry = list;
    while !entry.is_null() {
        // SAFETY: `entry` is a node of the list getifaddrs returned.
        let ifa = unsafe { &*entry };
        if let Some(dropped) = link_tx_dropped(ifa, ifname) {
            found = Some(dropped);
            break;
        }
        entry = ifa.ifa_next;
    }
    // SAFETY: `list` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(list) };
    found
}

/// The `tx_dropped` of `ifa` if it is the link-level entry of `ifname`:
/// the one whose `ifa_data` is a `struct rtnl_link_stats` (glibc sets it
/// on link entries only). A TUN device has no hardware address, so its
/// link entry may have no `ifa_addr` at all.
fn link_tx_dropped(ifa: &libc::ifaddrs, ifname: &str) -> Option<u32> {
    if ifa.ifa_data.is_null() || ifa.ifa_name.is_null() {
        return None;
    }
    if !ifa.ifa_addr.is_null() {
        // SAFETY: a non-null ifa_addr points to a sockaddr of the kernel's.
        let family = unsafe { (*ifa.ifa_addr).sa_family };
        if i32::from(family) != libc::AF_PACKET {
            return None;
        }
    }
    // SAFETY: ifa_name is a NUL-terminated interface name.
    let name = unsafe { std::ffi::CStr::from_ptr(ifa.ifa_name) };
    if name.to_bytes() != ifname.as_bytes() {
        return None;
    }
    // struct rtnl_link_stats: rx_packets, tx_packets, rx_bytes, tx_bytes,
    // rx_errors, tx_errors, rx_dropped, tx_dropped, ... (all __u32).
    const TX_DROPPED: usize = 7;
    let stats = ifa.ifa_data as *const u32;
    // SAFETY: for AF_PACKET entries ifa_data points to rtnl_link_stats,
    // whose eighth field is tx_dropped; read unaligned to be safe.
    Some(unsafe { std::ptr::read_unaligned(stats.add(TX_DROPPED)) })
}

/// What the kernel dropped at a TUN device's queue since it was watched.
/// The device disappears when the stack closes it, so the last count read
/// is kept: read once before closing, it is still there afterwards.
#[derive(Debug)]
pub struct QueueDropWatch {
    ifname: String,
    at_start: u32,
    last_seen: AtomicU32,
}

impl QueueDropWatch {
    /// Starts counting from the interface's present `tx_dropped`.
    pub fn start(ifname: &str) -> Option<QueueDropWatch> {
        let at_start = tx_dropped(ifname)?;
        Some(QueueDropWatch {
            ifname: ifname.to_string(),
            at_start,
            last_seen: AtomicU32::new(at_start),
        })
    }

    /// The interface's name.
    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// Reads the interface's count now, while it exists; `dropped` falls
    /// back on the last count read once it is gone.
    pub fn refresh(&self) {
        if let Some(now) = tx_dropped(&self.ifname) {
            self.last_seen.store(now, Ordering::Relaxed);
        }
    }

    /// Packets dropped since `start`, as of now, or as of the last time
    /// the interface could be read.
    pub fn dropped(&self) -> u32 {
        self.refresh();
        let last_seen = self.last_seen.load(Ordering::Relaxed);
        last_seen.wrapping_sub(self.at_start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loopback_interface_has_a_drop_counter() {
        // Every network namespace has `lo`; its counters are readable
        // without privileges.
        assert!(tx_dropped("lo").is_some());
    }

    #[test]
    fn a_watch_on_loopback_starts_at_zero() {
        let watch = QueueDropWatch::start("lo").unwrap();
        assert_eq!(watch.ifname(), "lo");
        assert_eq!(watch.dropped(), 0, "nothing sent on lo meanwhile");
    }

    #[test]
    fn an_interface_that_does_not_exist_has_none() {
        assert_eq!(tx_dropped("tuntcp-nosuch"), None);
        assert!(QueueDropWatch::start("tuntcp-nosuch").is_none());
    }

    #[test]
    fn a_bad_name_is_refused_before_any_ioctl() {
        let err = set_tx_queue_len("a name far too long for IFNAMSIZ", 10).unwrap_err();
        assert!(err.to_string().contains("name"), "{err}");
    }
}

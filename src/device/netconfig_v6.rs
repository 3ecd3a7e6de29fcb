//! Giving the kernel's side of an interface an IPv6 address, usable at once.
//!
//! This is `ip -6 addr add 2001:db8::1/64 dev tun0 nodad`: the
//! `SIOCSIFADDR` ioctl on an `AF_INET6` socket with a `struct in6_ifreq`
//! (Linux `addrconf_add_ifaddr`), which also adds the prefix route
//! 2001:db8::/64 via the interface. The ioctl cannot pass `IFA_F_NODAD`,
//! so Duplicate Address Detection (RFC 4862 §5.4) is turned off through the
//! interface's `accept_dad` sysctl first: a tentative address cannot be the
//! source of a `connect`, and a user would wait a second or more for it.
//! (A TUN device has `IFF_NOARP`, for which Linux skips DAD anyway; the
//! sysctl says so for every kernel.) `disable_ipv6` is cleared too, since a
//! host or namespace may have IPv6 off by default. Like the IPv4 ioctls,
//! all of it acts on the calling thread's network namespace.
//!
//! Even without DAD the ioctl returns with the address still `tentative`:
//! Linux clears that flag from its addrconf work queue a moment later (a
//! second or more on a busy machine). A `connect` to the stack in between
//! finds no usable source on tun0 and gets ::1, which the stack must
//! refuse (RFC 4291 §2.5.3), and the socket keeps it through every SYN
//! retransmission. So [`configure_host_side_v6`] returns only once
//! `/proc/net/if_inet6` shows the address no longer tentative.

use std::fs;
use std::io;
use std::mem;
use std::net::Ipv6Addr;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use super::error::DeviceError;
use super::netconfig::{address_error, ControlSocket};
use super::tun::validate_ifname;

/// The smallest MTU an IPv6 link may have (RFC 8200 §5); Linux turns IPv6
/// off on an interface whose MTU is below it.
pub const IPV6_MIN_MTU: usize = 1280;

/// Gives interface `ifname` the address `addr/prefix_len` without DAD and
/// brings it up.
///
/// Example: `configure_host_side_v6("tun0", "2001:db8::1".parse()?, 64)`.
pub fn configure_host_side_v6(
    ifname: &str,
    addr: Ipv6Addr,
    prefix_len: u8,
) -> Result<(), DeviceError> {
    validate_ifname(ifname)?;
    if prefix_len > 128 {
        return Err(DeviceError::InvalidPrefix {
            prefix_len,
            ipv6: true,
        });
    }
    set_ipv6_sysctl(ifname, "disable_ipv6", "0")?;
    set_ipv6_sysctl(ifname, "accept_dad", "0")?;
    let socket = ControlSocket::open_family(libc::AF_INET6)?;
    let mut req = in6_ifreq_for(ifname, addr, prefix_len)?;
    // SAFETY: SIOCSIFADDR on an AF_INET6 socket reads one `struct
    // in6_ifreq`, and `req` is a valid one. `as _`: see netconfig.rs.
    #[allow(clippy::useless_conversion, clippy::unnecessary_cast)]
    let rc = unsafe {
        libc::ioctl(
            socket.fd.as_raw_fd(),
            libc::SIOCSIFADDR as _,
            &mut req as *mut libc::in6_ifreq,
        )
    };
    if rc < 0 {
        let err = io::Error::last_os_error();
        // Already there (a second run on a kept interface): what we want.
        if err.raw_os_error() != Some(libc::EEXIST) {
            return Err(address_error(ifname, addr, "add the IPv6 address to", err));
        }
    }
    socket.bring_up(ifname)?;
    wait_until_not_tentative(ifname, addr);
    log::debug!("configured {ifname}: {addr}/{prefix_len} (no DAD), up");
    Ok(())
}

/// `IFA_F_TENTATIVE` (Linux include/uapi/linux/if_addr.h).
const IFA_F_TENTATIVE: u8 = 0x40;

/// How long the kernel may take to make the address usable before we
/// go on without it (with a warning: IPv4 and later IPv6 still work).
const USABLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Waits until the kernel's addrconf work has cleared the address's
/// tentative flag (see the module docs). No ioctl waits for it, and the
/// flag clears within a millisecond unless the machine is busy, so a short
/// poll of the namespace's address table is the simplest correct wait.
fn wait_until_not_tentative(ifname: &str, addr: Ipv6Addr) {
    let deadline = Instant::now() + USABLE_TIMEOUT;
    loop {
        // thread-self: the namespace this thread configures, which may not
        // be the process's (/proc/net follows the process).
        let table = fs::read_to_string("/proc/thread-self/net/if_inet6").unwrap_or_default();
        match address_flags(&table, ifname, addr) {
            Some(flags) if flags & IFA_F_TENTATIVE == 0 => return,
            // Missing: nothing to wait for (e.g. an unreadable /proc).
            None => return,
            Some(_) if Instant::now() >= deadline => {
                log::warn!("{addr} on {ifname} is still tentative after {USABLE_TIMEOUT:?}");
                return;
            }
            Some(_) => std::thread::sleep(Duration::from_millis(1)),
        }
    }
}

/// The flags of `addr` on `ifname` in a `/proc/net/if_inet6` table: one
/// line per address, "ADDR-IN-HEX IFINDEX PREFIX SCOPE FLAGS NAME".
fn address_flags(table: &str, ifname: &str, addr: Ipv6Addr) -> Option<u8> {
    let hex: String = addr.octets().iter().map(|b| format!("{b:02x}")).collect();
    table.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields[..] {
            [a, _, _, _, flags, name] if a == hex && name == ifname => {
                u8::from_str_radix(flags, 16).ok()
            }
            _ => None,
        }
    })
}

/// Writes `/proc/sys/net/ipv6/conf/IFNAME/KEY`. That file is the sysctl
/// of the namespace of whoever opens it, as the ioctls are.
fn set_ipv6_sysctl(ifname: &str, key: &str, value: &str) -> Result<(), DeviceError> {
    let path = sysctl_path(ifname, key);
    fs::write(&path, value).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => DeviceError::Io {
            action: format!(
                "enable IPv6 on {ifname} ({path} is missing: is IPv6 turned off in this kernel, ipv6.disable=1?)"
            ),
            source,
        },
        _ => DeviceError::from_os(format!("set {path} to {value}"), ifname, source),
    })
}

/// sysctl names an interface `eth0.5` as `eth0/5` (dots separate levels).
fn sysctl_path(ifname: &str, key: &str) -> String {
    format!("/proc/sys/net/ipv6/conf/{}/{key}", ifname.replace('.', "/"))
}

fn in6_ifreq_for(
    ifname: &str,
    addr: Ipv6Addr,
    prefix_len: u8,
) -> Result<libc::in6_ifreq, DeviceError> {
    let name = std::ffi::CString::new(ifname).map_err(|_| DeviceError::InvalidName {
        ifname: ifname.to_string(),
        reason: "it contains a NUL byte",
    })?;
    // SAFETY: if_nametoindex reads the NUL-terminated name and nothing else.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        return Err(DeviceError::from_os(
            format!("find interface {ifname}"),
            ifname,
            io::Error::last_os_error(),
        ));
    }
    // SAFETY: in6_ifreq is plain old data; all-zero is a valid value.
    let mut req: libc::in6_ifreq = unsafe { mem::zeroed() };
    req.ifr6_addr.s6_addr = addr.octets();
    req.ifr6_prefixlen = u32::from(prefix_len);
    req.ifr6_ifindex = libc::c_int::try_from(index).unwrap_or(libc::c_int::MAX);
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysctl_paths_turn_dots_into_levels() {
        assert_eq!(
            sysctl_path("tun0", "accept_dad"),
            "/proc/sys/net/ipv6/conf/tun0/accept_dad"
        );
        assert_eq!(
            sysctl_path("eth0.5", "disable_ipv6"),
            "/proc/sys/net/ipv6/conf/eth0/5/disable_ipv6"
        );
    }

    #[test]
    fn the_flags_of_one_address_on_one_interface_are_read() {
        let table = "\
20010db8000000000000000000000001 05 40 00 c0     tun0
20010db8000000000000000000000001 06 40 00 80     tun1
fe80000000000000532655
00000000000000000000000000000001 01 80 10 80       lo
";
        let addr: Ipv6Addr = "2001:db8::1".parse().unwrap();
        assert_eq!(address_flags(table, "tun0", addr), Some(0xc0));
        assert_eq!(address_flags(table, "tun1", addr), Some(0x80));
        assert_eq!(address_flags(table, "tun2", addr), None);
        assert_eq!(address_flags(table, "lo", Ipv6Addr::LOCALHOST), Some(0x80));
    }

    #[test]
    fn a_prefix_over_128_is_refused_in_words() {
        let err = configure_host_side_v6("tun0", Ipv6Addr::LOCALHOST, 129).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/129 is not a valid IPv6 prefix length: it must be between 0 and 128"
        );
    }

    #[test]
    fn a_missing_interface_is_named() {
        // Reads only (if_nametoindex), so safe in the host namespace.
        let err = in6_ifreq_for("tuntcp-nosuch", Ipv6Addr::LOCALHOST, 64).unwrap_err();
        assert_eq!(
            err.to_string(),
            "there is no network interface named tuntcp-nosuch"
        );
    }
}

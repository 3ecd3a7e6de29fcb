//! Configuring the kernel's side of an interface: its IPv4 address, netmask,
//! MTU and up/down state. IPv6 addresses are in `netconfig_v6.rs`.
//!
//! This is what `ip addr add 192.0.2.1/24 dev tun0 && ip link set tun0 up`
//! does, done with the classic interface ioctls on an ordinary UDP socket so
//! tuntcp needs no external tools. The ioctls act on the network namespace
//! of the calling thread, which is what lets the live tests configure a
//! `tun0` in a private namespace.
//!
//! Once the link is up with 192.0.2.1/24, the kernel adds the route
//! 192.0.2.0/24 via that interface, so packets to 192.0.2.2 (our stack)
//! reach the TUN device.

use std::io;
use std::mem;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::error::DeviceError;
use super::tun::validate_ifname;

/// Gives interface `ifname` the address `addr/prefix_len` and brings it up.
///
/// Example: `configure_host_side("tun0", Ipv4Addr::new(192, 0, 2, 1), 24)`.
pub fn configure_host_side(
    ifname: &str,
    addr: Ipv4Addr,
    prefix_len: u8,
) -> Result<(), DeviceError> {
    validate_ifname(ifname)?;
    let netmask = prefix_to_netmask(prefix_len)?;
    let socket = ControlSocket::open()?;
    // SIOCSIFADDR first: it also sets a default (classful) netmask, which
    // SIOCSIFNETMASK then replaces with the one we were asked for.
    socket
        .set_ipv4(ifname, libc::SIOCSIFADDR, addr)
        .map_err(|err| address_error(ifname, addr, "set the address of", err))?;
    socket
        .set_ipv4(ifname, libc::SIOCSIFNETMASK, netmask)
        .map_err(|err| address_error(ifname, netmask, "set the netmask of", err))?;
    socket.bring_up(ifname)?;
    log::debug!("configured {ifname}: {addr}/{prefix_len}, up");
    Ok(())
}

/// Brings interface `ifname` up (`IFF_UP | IFF_RUNNING`) without touching
/// its addresses. The live-test harness uses it for `lo` in a new namespace.
pub fn bring_up(ifname: &str) -> Result<(), DeviceError> {
    ControlSocket::open()?.bring_up(ifname)
}

/// Sets the MTU of interface `ifname`.
pub fn set_mtu(ifname: &str, mtu: usize) -> Result<(), DeviceError> {
    let socket = ControlSocket::open()?;
    let mut req = ifreq_for(ifname)?;
    req.ifr_ifru.ifru_mtu = libc::c_int::try_from(mtu).map_err(|_| DeviceError::Io {
        action: format!("set the MTU of {ifname} to {mtu}"),
        source: io::Error::new(io::ErrorKind::InvalidInput, "MTU too large"),
    })?;
    socket.ioctl(libc::SIOCSIFMTU, &mut req).map_err(|err| {
        DeviceError::from_os(format!("set the MTU of {ifname} to {mtu}"), ifname, err)
    })
}

/// Reads the MTU of interface `ifname`.
pub fn mtu(ifname: &str) -> Result<usize, DeviceError> {
    let socket = ControlSocket::open()?;
    let mut req = ifreq_for(ifname)?;
    socket
        .ioctl(libc::SIOCGIFMTU, &mut req)
        .map_err(|err| DeviceError::from_os(format!("read the MTU of {ifname}"), ifname, err))?;
    // SAFETY: SIOCGIFMTU filled the mtu member of the union.
    let mtu = unsafe { req.ifr_ifru.ifru_mtu };
    Ok(usize::try_from(mtu).unwrap_or(0))
}

/// `24` -> `255.255.255.0`.
pub fn prefix_to_netmask(prefix_len: u8) -> Result<Ipv4Addr, DeviceError> {
    if prefix_len > 32 {
        return Err(DeviceError::InvalidPrefix {
            prefix_len,
            ipv6: false,
        });
    }
    // checked_shl: shifting a u32 by 32 is an overflow, and /0 means no bits.
    let mask = u32::MAX
        .checked_shl(32 - u32::from(prefix_len))
        .unwrap_or(0);
    Ok(Ipv4Addr::from(mask))
}

pub(super) fn address_error(
    ifname: &str,
    addr: impl Into<std::net::IpAddr> + std::fmt::Display + Copy,
    what: &str,
    err: io::Error,
) -> DeviceError {
    match err.raw_os_error() {
        Some(libc::EINVAL) | Some(libc::EADDRNOTAVAIL) => DeviceError::InvalidAddress {
            ifname: ifname.to_string(),
            addr: addr.into(),
        },
        _ => DeviceError::from_os(format!("{what} {ifname} ({addr})"), ifname, err),
    }
}

/// An `AF_INET` datagram socket, the conventional handle for interface
/// ioctls (`AF_INET6` for IPv6 addresses). It never sends anything.
pub(super) struct ControlSocket {
    pub(super) fd: OwnedFd,
}

impl ControlSocket {
    fn open() -> Result<ControlSocket, DeviceError> {
        ControlSocket::open_family(libc::AF_INET)
    }

    /// A datagram socket of `domain` (`AF_INET` or `AF_INET6`): the kernel
    /// sends an address ioctl to the protocol family of the socket.
    pub(super) fn open_family(domain: libc::c_int) -> Result<ControlSocket, DeviceError> {
        // SAFETY: plain socket(2) call; the result is checked below.
        let fd = unsafe { libc::socket(domain, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(DeviceError::Io {
                action: "open a socket to configure network interfaces".to_string(),
                source: io::Error::last_os_error(),
            });
        }
        // SAFETY: fd is a fresh descriptor that nothing else owns.
        Ok(ControlSocket {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    pub(super) fn ioctl(&self, request: libc::c_ulong, req: &mut libc::ifreq) -> io::Result<()> {
        // SAFETY: every request we issue reads or writes one `struct ifreq`,
        // and `req` is a valid, exclusively borrowed one. The `as _` is for
        // libcs that declare the request as c_int.
        #[allow(clippy::useless_conversion, clippy::unnecessary_cast)]
        let rc = unsafe { libc::ioctl(self.fd.as_raw_fd(), request as _, req as *mut libc::ifreq) };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    fn set_ipv4(&self, ifname: &str, request: libc::c_ulong, addr: Ipv4Addr) -> io::Result<()> {
        let mut req = ifreq_for(ifname).map_err(io::Error::from)?;
        req.ifr_ifru.ifru_addr = sockaddr_from(addr);
        self.ioctl(request, &mut req)
    }

    pub(super) fn bring_up(&self, ifname: &str) -> Result<(), DeviceError> {
        let action = || format!("bring interface {ifname} up");
        let mut req = ifreq_for(ifname)?;
        // Read-modify-write so we keep whatever other flags are set.
        self.ioctl(libc::SIOCGIFFLAGS, &mut req)
            .map_err(|err| DeviceError::from_os(action(), ifname, err))?;
        // SAFETY: SIOCGIFFLAGS filled the flags member of the union.
        let flags = unsafe { req.ifr_ifru.ifru_flags };
        // IFF_UP and IFF_RUNNING (0x1, 0x40) fit in the kernel's short flags.
        req.ifr_ifru.ifru_flags = flags | (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
        self.ioctl(libc::SIOCSIFFLAGS, &mut req)
            .map_err(|err| DeviceError::from_os(action(), ifname, err))
    }
}

/// A zeroed `struct ifreq` naming `ifname`.
pub(super) fn ifreq_for(ifname: &str) -> Result<libc::ifreq, DeviceError> {
    validate_ifname(ifname)?;
    // SAFETY: ifreq is plain old data (arrays, integers, a union of them);
    // all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { mem::zeroed() };
    // validate_ifname guarantees at most 15 bytes, leaving the final NUL.
    for (dst, src) in req.ifr_name.iter_mut().zip(ifname.bytes()) {
        *dst = src as libc::c_char;
    }
    Ok(req)
}

fn sockaddr_from(addr: Ipv4Addr) -> libc::sockaddr {
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        // s_addr is in network byte order, which is what octets() gives.
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(addr.octets()),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: sockaddr_in and sockaddr are both 16 bytes; this is the
    // standard reinterpretation every C program does for these ioctls.
    unsafe { mem::transmute::<libc::sockaddr_in, libc::sockaddr>(sin) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_lengths_become_netmasks() {
        assert_eq!(
            prefix_to_netmask(24).unwrap(),
            Ipv4Addr::new(255, 255, 255, 0)
        );
        assert_eq!(prefix_to_netmask(0).unwrap(), Ipv4Addr::new(0, 0, 0, 0));
        assert_eq!(
            prefix_to_netmask(32).unwrap(),
            Ipv4Addr::new(255, 255, 255, 255)
        );
        assert_eq!(
            prefix_to_netmask(17).unwrap(),
            Ipv4Addr::new(255, 255, 128, 0)
        );
    }

    #[test]
    fn prefix_over_32_is_refused_in_words() {
        let err = prefix_to_netmask(33).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/33 is not a valid IPv4 prefix length: it must be between 0 and 32"
        );
    }

    #[test]
    fn sockaddr_carries_the_address_in_network_order() {
        let raw = sockaddr_from(Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(raw.sa_family, libc::AF_INET as libc::sa_family_t);
        // sa_data: 2 bytes of port, then the address octets as written.
        let octets: Vec<u8> = raw.sa_data[2..6].iter().map(|&b| b as u8).collect();
        assert_eq!(octets, [192, 0, 2, 1]);
    }

    #[test]
    fn configuring_a_missing_interface_names_it() {
        // Reads only: SIOCGIFMTU on a name no one uses, so this is safe to
        // run in the host namespace without root.
        let err = mtu("tuntcp-nosuch").unwrap_err();
        assert_eq!(
            err.to_string(),
            "there is no network interface named tuntcp-nosuch"
        );
    }
}

//! A Linux TUN device: the kernel hands us the raw IPv4 packets it routes to
//! the interface, and every packet we write is received by the kernel as if
//! it had arrived on that interface.
//!
//! The device is opened without packet info (`IFF_NO_PI`), so each `read`
//! returns exactly one bare IP packet and each `write` takes one. It is
//! non-blocking: the driver reads until the device would block, then polls
//! its descriptor (ARCHITECTURE.md, "driver").

use std::io;
use std::os::fd::{AsRawFd, RawFd};

use tun_tap::{Iface, Mode};

use super::error::DeviceError;
use super::netconfig;
use super::Device;

/// A failed read in words: EBADFD is what a read gets once someone deleted
/// the interface (`ip link del tun0`) under us.
pub(crate) fn read_error(name: &str, err: io::Error) -> io::Error {
    if err.raw_os_error() == Some(libc::EBADFD) {
        return io::Error::new(
            err.kind(),
            format!("the TUN device {name} was deleted while in use"),
        );
    }
    io::Error::new(err.kind(), format!("reading the TUN device {name}: {err}"))
}

/// Longest interface name the kernel accepts: `IFNAMSIZ` (16) less the NUL.
const MAX_IFNAME_LEN: usize = libc::IFNAMSIZ - 1;

/// The MTU the kernel gives a fresh TUN device.
const DEFAULT_TUN_MTU: usize = 1500;

/// An open, non-blocking TUN device in IP mode.
#[derive(Debug)]
pub struct TunDevice {
    iface: Iface,
    mtu: usize,
}

impl TunDevice {
    /// Creates (or attaches to) the TUN interface `name`, e.g. `tun0`.
    ///
    /// The interface starts down and without an address; give the kernel
    /// side one with [`netconfig::configure_host_side`]. The device
    /// disappears when it is dropped (it is not made persistent).
    pub fn open(name: &str) -> Result<TunDevice, DeviceError> {
        validate_ifname(name)?;
        let iface =
            Iface::without_packet_info(name, Mode::Tun).map_err(|err| open_error(name, err))?;
        set_nonblocking(iface.as_raw_fd()).map_err(|source| DeviceError::Io {
            action: format!("make TUN device {name} non-blocking"),
            source,
        })?;
        // A freshly created device has the default MTU, but attaching to a
        // persistent one (made with `ip tuntap add`) may not.
        let mtu = netconfig::mtu(iface.name()).unwrap_or(DEFAULT_TUN_MTU);
        log::debug!("opened TUN device {} (mtu {mtu})", iface.name());
        Ok(TunDevice { iface, mtu })
    }

    /// The interface name the kernel actually gave the device.
    pub fn name(&self) -> &str {
        self.iface.name()
    }

    /// Changes the interface MTU in the kernel and in what [`Device::mtu`]
    /// reports, so both sides agree on the largest packet.
    pub fn set_mtu(&mut self, mtu: usize) -> Result<(), DeviceError> {
        netconfig::set_mtu(self.iface.name(), mtu)?;
        self.mtu = mtu;
        Ok(())
    }
}

impl Device for TunDevice {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            match self.iface.recv(buf) {
                Ok(len) => return Ok(Some(len)),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                // A signal arrived mid-read; nothing was consumed, so retry.
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(read_error(self.iface.name(), err)),
            }
        }
    }

    fn send(&mut self, packet: &[u8]) -> io::Result<()> {
        loop {
            match self.iface.send(packet) {
                // A TUN write takes the whole packet or nothing; anything else
                // would be a kernel bug, but say so rather than lose data.
                Ok(written) if written == packet.len() => return Ok(()),
                Ok(written) => {
                    return Err(io::Error::other(format!(
                        "TUN device {} took {written} of {} bytes",
                        self.name(),
                        packet.len()
                    )))
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            }
        }
    }

    fn raw_fd(&self) -> Option<RawFd> {
        Some(self.iface.as_raw_fd())
    }

    fn mtu(&self) -> usize {
        self.mtu
    }
}

/// Rejects names the kernel would refuse (`dev_valid_name()` in
/// net/core/dev.c) or that tun-tap would silently truncate to 15 bytes.
pub(crate) fn validate_ifname(name: &str) -> Result<(), DeviceError> {
    let invalid = |reason| {
        Err(DeviceError::InvalidName {
            ifname: name.to_string(),
            reason,
        })
    };
    if name.is_empty() {
        return invalid("it is empty");
    }
    if name.len() > MAX_IFNAME_LEN {
        return invalid("interface names are at most 15 bytes long");
    }
    if name == "." || name == ".." {
        return invalid("\".\" and \"..\" are reserved");
    }
    if name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
    {
        return invalid("it may not contain '/', ':', spaces or control characters");
    }
    Ok(())
}

/// Explains why creating the device failed. tun-tap both opens
/// `/dev/net/tun` and issues TUNSETIFF, so the errno is all we have to tell
/// the two apart.
pub(crate) fn open_error(name: &str, err: io::Error) -> DeviceError {
    match err.raw_os_error() {
        // ENOENT: no /dev/net/tun node. ENODEV/ENXIO: node present, driver not loaded.
        Some(libc::ENOENT) | Some(libc::ENODEV) | Some(libc::ENXIO) => {
            DeviceError::TunDriverMissing
        }
        Some(libc::EINVAL) => DeviceError::NameTaken {
            ifname: name.to_string(),
        },
        _ => DeviceError::from_os(format!("create TUN device {name}"), name, err),
    }
}

pub(crate) fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own, with integer arguments only.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn assert_invalid(name: &str) {
        match validate_ifname(name) {
            Err(DeviceError::InvalidName { ifname, .. }) => assert_eq!(ifname, name),
            other => panic!("{name:?} should be invalid, got {other:?}"),
        }
    }

    #[test]
    fn accepts_ordinary_names() {
        for name in ["tun0", "tuntcp-demo", "a", "exactly15bytes_"] {
            assert!(validate_ifname(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn rejects_names_the_kernel_refuses_or_truncates() {
        assert_invalid("");
        assert_invalid("sixteen_bytes_xx");
        assert_invalid(".");
        assert_invalid("..");
        assert_invalid("tun/0");
        assert_invalid("tun:0");
        assert_invalid("tun 0");
    }

    #[test]
    fn invalid_name_message_names_the_rule() {
        let text = validate_ifname("sixteen_bytes_xx").unwrap_err().to_string();
        assert_eq!(
            text,
            "\"sixteen_bytes_xx\" is not a valid interface name: interface names are at most 15 bytes long"
        );
    }

    #[test]
    fn open_errors_are_explained() {
        let missing = open_error("tun0", io::Error::from_raw_os_error(libc::ENOENT));
        assert!(matches!(missing, DeviceError::TunDriverMissing));
        let busy = open_error("tun0", io::Error::from_raw_os_error(libc::EBUSY));
        assert!(matches!(busy, DeviceError::InterfaceBusy { .. }));
        let perm = open_error("tun0", io::Error::from_raw_os_error(libc::EPERM));
        assert!(perm.to_string().contains("run it with sudo"));
        let taken = open_error("lo", io::Error::from_raw_os_error(libc::EINVAL));
        assert!(taken.to_string().contains("not a TUN device"));
    }
}

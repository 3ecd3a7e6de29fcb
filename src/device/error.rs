//! What can go wrong when opening or configuring a device, in words a user
//! can act on.
//!
//! The kernel answers TUN and interface ioctls with bare errno values
//! (`EPERM`, `EBUSY`, ...). A learner seeing "Operation not permitted (os
//! error 1)" does not know that the fix is `sudo`, so every errno we can
//! explain gets its own variant and a sentence that says what to do.

use std::fmt;
use std::io;
use std::net::IpAddr;

/// Why a device could not be opened or configured.
#[derive(Debug)]
pub enum DeviceError {
    /// The process lacks `CAP_NET_ADMIN` (`EPERM`/`EACCES`).
    NotPermitted {
        /// What we were doing, e.g. "create TUN device tun0".
        action: String,
    },
    /// `/dev/net/tun` is missing, or the tun driver is not loaded
    /// (`ENOENT`, `ENODEV`, `ENXIO` when opening it).
    TunDriverMissing,
    /// Another process holds the interface open (`EBUSY`).
    InterfaceBusy { ifname: String },
    /// The name is one the kernel would reject or silently truncate.
    InvalidName {
        ifname: String,
        reason: &'static str,
    },
    /// The kernel refused the name although it looks valid (`EINVAL` from
    /// TUNSETIFF): almost always an existing interface that is not a TUN.
    NameTaken { ifname: String },
    /// No interface by that name exists (`ENODEV` from an interface ioctl).
    NoSuchInterface { ifname: String },
    /// A prefix length outside 0..=32 (IPv4) or 0..=128 (IPv6).
    InvalidPrefix { prefix_len: u8, ipv6: bool },
    /// The kernel refused an address (`EINVAL`/`EADDRNOTAVAIL`).
    InvalidAddress { ifname: String, addr: IpAddr },
    /// Anything else: we say what we were doing and append the OS message.
    Io { action: String, source: io::Error },
}

impl DeviceError {
    /// Turns an OS error met while doing `action` on interface `ifname`
    /// into the most helpful variant we have for it.
    pub(crate) fn from_os(action: String, ifname: &str, source: io::Error) -> DeviceError {
        match source.raw_os_error() {
            Some(libc::EPERM) | Some(libc::EACCES) => DeviceError::NotPermitted { action },
            Some(libc::EBUSY) => DeviceError::InterfaceBusy {
                ifname: ifname.to_string(),
            },
            Some(libc::ENODEV) => DeviceError::NoSuchInterface {
                ifname: ifname.to_string(),
            },
            _ => DeviceError::Io { action, source },
        }
    }
}

impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceError::NotPermitted { action } => write!(
                f,
                "could not {action}: permission denied. tuntcp needs root \
                 (CAP_NET_ADMIN) to create and configure TUN devices: run it with sudo"
            ),
            DeviceError::TunDriverMissing => write!(
                f,
                "the TUN driver is not available (/dev/net/tun is missing or unusable): \
                 load the tun module with `sudo modprobe tun`; in a container, \
                 pass the device in (e.g. docker run --device /dev/net/tun --cap-add NET_ADMIN)"
            ),
            DeviceError::InterfaceBusy { ifname } => write!(
                f,
                "interface {ifname} is in use by another program: stop that program \
                 or choose another name with --iface"
            ),
            DeviceError::InvalidName { ifname, reason } => {
                write!(f, "{ifname:?} is not a valid interface name: {reason}")
            }
            DeviceError::NameTaken { ifname } => write!(
                f,
                "the kernel refused to create TUN device {ifname}: an interface with that \
                 name probably exists already and is not a TUN device; choose another \
                 name with --iface"
            ),
            DeviceError::NoSuchInterface { ifname } => {
                write!(f, "there is no network interface named {ifname}")
            }
            DeviceError::InvalidPrefix { prefix_len, ipv6 } => {
                let (family, most) = if *ipv6 { ("IPv6", 128) } else { ("IPv4", 32) };
                write!(
                    f,
                    "/{prefix_len} is not a valid {family} prefix length: it must be between 0 and {most}"
                )
            }
            DeviceError::InvalidAddress { ifname, addr } => {
                write!(
                    f,
                    "the kernel refused address {addr} for interface {ifname}"
                )
            }
            DeviceError::Io { action, source } => write!(f, "could not {action}: {source}"),
        }
    }
}

impl std::error::Error for DeviceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DeviceError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// So callers that deal in `io::Result` can use `?`; the message survives.
impl From<DeviceError> for io::Error {
    fn from(err: DeviceError) -> io::Error {
        let kind = match &err {
            DeviceError::NotPermitted { .. } => io::ErrorKind::PermissionDenied,
            DeviceError::TunDriverMissing | DeviceError::NoSuchInterface { .. } => {
                io::ErrorKind::NotFound
            }
            DeviceError::InterfaceBusy { .. } | DeviceError::NameTaken { .. } => {
                io::ErrorKind::AddrInUse
            }
            DeviceError::InvalidName { .. }
            | DeviceError::InvalidPrefix { .. }
            | DeviceError::InvalidAddress { .. } => io::ErrorKind::InvalidInput,
            DeviceError::Io { source, .. } => source.kind(),
        };
        io::Error::new(kind, err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(errno: i32) -> io::Error {
        io::Error::from_raw_os_error(errno)
    }

    #[test]
    fn permission_errors_tell_the_user_to_use_sudo() {
        for errno in [libc::EPERM, libc::EACCES] {
            let err = DeviceError::from_os("create TUN device tun0".into(), "tun0", os(errno));
            let text = err.to_string();
            assert!(text.contains("run it with sudo"), "{text}");
            assert!(text.contains("create TUN device tun0"), "{text}");
            assert!(!text.contains("os error"), "bare errno leaked: {text}");
        }
    }

    #[test]
    fn busy_interface_is_named() {
        let err = DeviceError::from_os("create TUN device tun0".into(), "tun0", os(libc::EBUSY));
        assert_eq!(
            err.to_string(),
            "interface tun0 is in use by another program: stop that program or choose another name with --iface"
        );
    }

    #[test]
    fn missing_driver_says_modprobe_tun() {
        assert!(DeviceError::TunDriverMissing
            .to_string()
            .contains("modprobe tun"));
    }

    #[test]
    fn unknown_errors_keep_the_action_and_the_os_message() {
        let err = DeviceError::from_os("set the MTU of tun0".into(), "tun0", os(libc::ENOMEM));
        let text = err.to_string();
        assert!(
            text.starts_with("could not set the MTU of tun0: "),
            "{text}"
        );
        assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn converts_to_io_error_with_matching_kind_and_message() {
        let err: io::Error = DeviceError::InterfaceBusy {
            ifname: "tun0".into(),
        }
        .into();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        assert!(err.to_string().contains("tun0 is in use"));
    }
}

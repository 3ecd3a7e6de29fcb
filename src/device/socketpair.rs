//! Two devices joined back to back by a `socketpair(AF_UNIX, SOCK_DGRAM)`:
//! what one sends, the other receives, one datagram per packet.
//!
//! It has a real descriptor, so the driver polls it exactly like a TUN
//! device. Tests use it to run two whole stacks (engine, driver, sockets)
//! in one process without root, TUN or a network namespace.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::Device;

/// One end of a packet pipe.
#[derive(Debug)]
pub struct SocketPairDevice {
    fd: OwnedFd,
}

impl SocketPairDevice {
    /// Two connected ends.
    pub fn pair() -> io::Result<(SocketPairDevice, SocketPairDevice)> {
        let mut fds = [0 as libc::c_int; 2];
        let kind = libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        // SAFETY: socketpair writes two descriptors into `fds` on success.
        let rc = unsafe { libc::socketpair(libc::AF_UNIX, kind, 0, fds.as_mut_ptr()) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: both descriptors are fresh and owned by nobody else.
        let (a, b) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        Ok((SocketPairDevice { fd: a }, SocketPairDevice { fd: b }))
    }
}

impl Device for SocketPairDevice {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        // SAFETY: reads at most buf.len() bytes into `buf`.
        let n = unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n >= 0 {
            return Ok(Some(n as usize));
        }
        let err = io::Error::last_os_error();
        match err.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(None),
            _ => Err(err),
        }
    }

    fn send(&mut self, packet: &[u8]) -> io::Result<()> {
        // SAFETY: sends `packet.len()` bytes from a live slice.
        let n = unsafe { libc::send(self.fd.as_raw_fd(), packet.as_ptr().cast(), packet.len(), 0) };
        if n < 0 {
            // A full queue (EAGAIN) loses the packet, as a full TUN queue does.
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    fn raw_fd(&self) -> Option<RawFd> {
        Some(self.fd.as_raw_fd())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_cross_whole_and_in_order() {
        let (mut a, mut b) = SocketPairDevice::pair().unwrap();
        let mut buf = [0u8; 100];
        assert_eq!(b.recv(&mut buf).unwrap(), None);
        a.send(b"first").unwrap();
        a.send(b"second").unwrap();
        assert_eq!(b.recv(&mut buf).unwrap(), Some(5));
        assert_eq!(&buf[..5], b"first");
        assert_eq!(b.recv(&mut buf).unwrap(), Some(6));
        assert_eq!(&buf[..6], b"second");
        assert_eq!(b.recv(&mut buf).unwrap(), None);
    }
}

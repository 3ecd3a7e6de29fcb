//! A TUN device with the kernel's segmentation and checksum offloads on:
//! packets cross it as TCP segments of up to 64 KB instead of 1500 bytes,
//! so a bulk transfer costs one `read` or `write` per ~44 packets.
//!
//! Linux moves data between its own sockets in 64 KB GSO segments and cuts
//! them to the MTU only at a device that cannot take them. Telling the TUN
//! device that we can (`TUNSETOFFLOAD` with `TUN_F_CSUM | TUN_F_TSO4 |
//! TUN_F_TSO6`, so IPv6 too)
//! makes the kernel hand us those segments whole, with a [`VnetHeader`] in
//! front (`IFF_VNET_HDR`). Writing, we put a header in front of every packet
//! too, and one that asks for segmentation in front of a TCP segment larger
//! than the MTU: the kernel then treats it as the segments it stands for.
//!
//! The tun-tap crate cannot set `IFF_VNET_HDR`, so this device opens
//! `/dev/net/tun` itself. [`Device::max_packet`] says how large a packet
//! it carries, so the engine may build segments that large
//! (`StackConfig::offload_segment`).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, RawFd};

use super::error::DeviceError;
use super::netconfig;
use super::tun::{open_error, set_nonblocking, validate_ifname};
use super::vnet::{complete_checksum, header_for, VnetHeader, VNET_HDR_LEN};
use super::Device;

/// The largest packet either way: the IPv4 total length is 16 bits.
pub const MAX_OFFLOAD_PACKET: usize = 65_535;

/// The MTU the kernel gives a fresh TUN device.
const DEFAULT_TUN_MTU: usize = 1500;

/// An open, non-blocking TUN device in IP mode with TSO and checksum offload.
#[derive(Debug)]
pub struct OffloadTunDevice {
    file: File,
    name: String,
    mtu: usize,
}

impl OffloadTunDevice {
    /// Creates (or attaches to) the TUN interface `name` with offloads on.
    /// Like [`super::TunDevice::open`], it starts down and without an address.
    pub fn open(name: &str) -> Result<OffloadTunDevice, DeviceError> {
        validate_ifname(name)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/net/tun")
            .map_err(|err| open_error(name, err))?;
        let flags = libc::IFF_TUN | libc::IFF_NO_PI | libc::IFF_VNET_HDR;
        set_interface(&file, name, flags).map_err(|err| open_error(name, err))?;
        let offloads = libc::TUN_F_CSUM | libc::TUN_F_TSO4 | libc::TUN_F_TSO6;
        // SAFETY: TUNSETOFFLOAD takes its flags by value.
        if unsafe { libc::ioctl(file.as_raw_fd(), libc::TUNSETOFFLOAD, offloads) } < 0 {
            let source = io::Error::last_os_error();
            return Err(DeviceError::from_os(
                format!("enable offloads on TUN device {name}"),
                name,
                source,
            ));
        }
        set_nonblocking(file.as_raw_fd()).map_err(|source| DeviceError::Io {
            action: format!("make TUN device {name} non-blocking"),
            source,
        })?;
        let mtu = netconfig::mtu(name).unwrap_or(DEFAULT_TUN_MTU);
        log::debug!("opened TUN device {name} with TSO and checksum offload (mtu {mtu})");
        Ok(OffloadTunDevice {
            file,
            name: name.to_string(),
            mtu,
        })
    }

    /// The interface name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Changes the interface MTU in the kernel and in what [`Device::mtu`]
    /// reports (segments are cut to it), as [`TunDevice::set_mtu`] does.
    ///
    /// [`TunDevice::set_mtu`]: super::tun::TunDevice::set_mtu
    pub fn set_mtu(&mut self, mtu: usize) -> Result<(), DeviceError> {
        netconfig::set_mtu(&self.name, mtu)?;
        self.mtu = mtu;
        Ok(())
    }

    fn read_one(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        let mut header = [0u8; VNET_HDR_LEN];
        let iov = [
            libc::iovec {
                iov_base: header.as_mut_ptr().cast(),
                iov_len: header.len(),
            },
            libc::iovec {
                iov_base: buf.as_mut_ptr().cast(),
                iov_len: buf.len(),
            },
        ];
        // SAFETY: both iovecs point into buffers we own for the whole call.
        let read = unsafe { libc::readv(self.file.as_raw_fd(), iov.as_ptr(), 2) };
        if read < 0 {
            return Err(io::Error::last_os_error());
        }
        let len = (read as usize).saturating_sub(VNET_HDR_LEN);
        let header = VnetHeader::parse(&header);
        if !complete_checksum(&header, &mut buf[..len]) {
            log::debug!(
                "dropped a {len}-byte packet from {}: bad checksum offsets {header:?}",
                self.name
            );
            return Ok(Some(0));
        }
        Ok(Some(len))
    }

    fn write_one(&self, packet: &[u8]) -> io::Result<usize> {
        let written = match header_for(packet, self.mtu) {
            // An ordinary packet: a zero header, the checksum as it is.
            None => writev(&self.file, &[&VnetHeader::default().emit(), packet])?,
            // The partial checksum replaces the field, without a copy.
            Some((header, field, partial)) => writev(
                &self.file,
                &[
                    &header.emit(),
                    &packet[..field],
                    &partial,
                    &packet[field + 2..],
                ],
            )?,
        };
        Ok(written.saturating_sub(VNET_HDR_LEN))
    }
}

/// One writev(2) of `parts`, in order: one packet for the TUN device.
fn writev(file: &File, parts: &[&[u8]]) -> io::Result<usize> {
    // A fixed array: no allocation per packet.
    let mut iov = [iovec(&[]); 4];
    for (slot, part) in iov.iter_mut().zip(parts) {
        *slot = iovec(part);
    }
    let count = parts.len().min(iov.len()) as libc::c_int;
    // SAFETY: every iovec points into a buffer alive for the whole call.
    let written = unsafe { libc::writev(file.as_raw_fd(), iov.as_ptr(), count) };
    if written < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(written as usize)
}

fn iovec(bytes: &[u8]) -> libc::iovec {
    libc::iovec {
        iov_base: bytes.as_ptr() as *mut libc::c_void,
        iov_len: bytes.len(),
    }
}

impl Device for OffloadTunDevice {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            match self.read_one(buf) {
                // A packet dropped for bad offsets: look for the next one.
                Ok(Some(0)) => continue,
                Ok(got) => return Ok(got),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(super::tun::read_error(&self.name, err)),
            }
        }
    }

    fn send(&mut self, packet: &[u8]) -> io::Result<()> {
        loop {
            match self.write_one(packet) {
                Ok(written) if written == packet.len() => return Ok(()),
                Ok(written) => {
                    return Err(io::Error::other(format!(
                        "TUN device {} took {written} of {} bytes",
                        self.name,
                        packet.len()
                    )))
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            }
        }
    }

    fn raw_fd(&self) -> Option<RawFd> {
        Some(self.file.as_raw_fd())
    }

    fn mtu(&self) -> usize {
        self.mtu
    }

    fn max_packet(&self) -> usize {
        MAX_OFFLOAD_PACKET
    }
}

/// TUNSETIFF: attach the open `/dev/net/tun` to interface `name` with `flags`.
fn set_interface(file: &File, name: &str, flags: libc::c_int) -> io::Result<()> {
    // SAFETY: an all-zero ifreq is valid; we fill the name and flags.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (slot, byte) in request.ifr_name.iter_mut().zip(name.bytes()) {
        *slot = byte as libc::c_char;
    }
    request.ifr_ifru.ifru_flags = flags as libc::c_short;
    // SAFETY: TUNSETIFF reads and writes the ifreq we pass, which outlives the call.
    if unsafe { libc::ioctl(file.as_raw_fd(), libc::TUNSETIFF, &mut request) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

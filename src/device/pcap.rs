//! A tap that records every packet crossing a device into a pcap file, so
//! any run can be opened in Wireshark or `tshark -r FILE`.
//!
//! The file uses link type RAW (101): each record is a bare IPv4 packet,
//! exactly what a TUN device carries, and Wireshark decodes it without a
//! fake Ethernet header. Timestamps come from the real clock (this is the
//! device layer, not the engine, so reading a clock is fine here).
//!
//! A TCP segment larger than the device's MTU (with TUN offloads on, 64 KB
//! segments cross the device whole) is recorded as the MTU-sized packets
//! a wire would carry, each with its own headers and checksums
//! ([`super::segmentation`]): the capture shows the segments TCP is about,
//! whatever the device's shortcuts.
//!
//! Writes are buffered, and the buffer is flushed every
//! [`FLUSH_EVERY_PACKETS`] packets, whenever a receive finds the device idle,
//! and on drop, so even a process killed mid-transfer leaves a file that
//! opens, holding everything up to its last quiet moment.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, Endianness};

use super::segmentation::for_each_wire_packet;
use super::Device;

/// Packets recorded between two flushes while the device stays busy.
pub const FLUSH_EVERY_PACKETS: usize = 64;

/// Largest packet recorded whole; also written as the file's snaplen.
/// 65535 is the largest IPv4 packet, so nothing is ever cut.
const SNAPLEN: u32 = 65_535;

/// A [`Device`] that forwards everything to `inner` and records it.
///
/// Recording never breaks networking: if the file cannot be written (disk
/// full, ...), the error is logged once and recording stops, while packets
/// keep flowing.
pub struct PcapTap<D: Device> {
    inner: D,
    path: PathBuf,
    recorder: Option<Recorder>,
    /// Where a large segment's wire-sized pieces are built.
    scratch: Vec<u8>,
}

impl<D: Device> PcapTap<D> {
    /// Wraps `inner`, creating (or truncating) the pcap file at `path`.
    pub fn create(inner: D, path: impl AsRef<Path>) -> io::Result<PcapTap<D>> {
        let path = path.as_ref().to_path_buf();
        let file = File::create(&path).map_err(|err| {
            io::Error::new(
                err.kind(),
                format!("could not create pcap file {}: {err}", path.display()),
            )
        })?;
        let recorder = Recorder::new(file).map_err(|err| {
            io::Error::new(
                err.kind(),
                format!("could not write pcap file {}: {err}", path.display()),
            )
        })?;
        log::debug!("recording packets to {}", path.display());
        Ok(PcapTap {
            inner,
            path,
            recorder: Some(recorder),
            scratch: Vec::new(),
        })
    }

    /// The wrapped device.
    pub fn inner(&self) -> &D {
        &self.inner
    }

    /// The wrapped device, mutably (e.g. to change its MTU).
    pub fn inner_mut(&mut self) -> &mut D {
        &mut self.inner
    }

    /// Where the packets go.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes everything recorded so far to the file.
    pub fn flush(&mut self) {
        if let Some(recorder) = &mut self.recorder {
            let result = recorder.flush();
            self.check(result);
        }
    }

    /// Records `packet` as the packets a wire of the device's MTU carries.
    fn record(&mut self, packet: &[u8]) {
        let Some(recorder) = &mut self.recorder else {
            return;
        };
        let mut result = Ok(());
        for_each_wire_packet(packet, self.inner.mtu(), &mut self.scratch, |piece| {
            if result.is_ok() {
                result = recorder.record(piece);
            }
        });
        self.check(result);
    }

    /// Stops recording (and says so, once) after the first write error.
    fn check(&mut self, result: io::Result<()>) {
        if let Err(err) = result {
            log::error!(
                "could not write pcap file {}: {err}; recording stopped, traffic continues",
                self.path.display()
            );
            self.recorder = None;
        }
    }
}

impl<D: Device> Device for PcapTap<D> {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        match self.inner.recv(buf)? {
            Some(len) => {
                self.record(&buf[..len]);
                Ok(Some(len))
            }
            None => {
                // The device is idle: a good moment to put the buffer on disk.
                if self.recorder.as_ref().is_some_and(|r| r.unflushed > 0) {
                    self.flush();
                }
                Ok(None)
            }
        }
    }

    fn send(&mut self, packet: &[u8]) -> io::Result<()> {
        self.inner.send(packet)?;
        // Recorded only once the device took it: the file shows what really
        // left, not what we merely tried to send.
        self.record(packet);
        Ok(())
    }

    fn raw_fd(&self) -> Option<RawFd> {
        self.inner.raw_fd()
    }

    fn mtu(&self) -> usize {
        self.inner.mtu()
    }

    fn max_packet(&self) -> usize {
        self.inner.max_packet()
    }
}

impl<D: Device> Drop for PcapTap<D> {
    fn drop(&mut self) {
        self.flush();
    }
}

/// The pcap writer and a second handle on its buffered file.
///
/// `PcapWriter` owns its writer and offers no way to flush it, so the file
/// sits behind an `Arc<Mutex<..>>` shared by the writer and us. The lock is
/// never contended: one thread drives a device.
struct Recorder {
    writer: PcapWriter<SharedFile>,
    file: SharedFile,
    unflushed: usize,
}

impl Recorder {
    fn new(file: File) -> io::Result<Recorder> {
        let file = SharedFile(Arc::new(Mutex::new(BufWriter::new(file))));
        let header = PcapHeader {
            datalink: DataLink::RAW,
            snaplen: SNAPLEN,
            endianness: Endianness::native(),
            ..PcapHeader::default()
        };
        let writer = PcapWriter::with_header(file.clone(), header).map_err(pcap_to_io)?;
        let mut recorder = Recorder {
            writer,
            file,
            unflushed: 0,
        };
        // Put the file header on disk now: an empty capture is still valid.
        recorder.flush()?;
        Ok(recorder)
    }

    fn record(&mut self, packet: &[u8]) -> io::Result<()> {
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let orig_len = u32::try_from(packet.len()).unwrap_or(u32::MAX);
        let kept = &packet[..packet.len().min(SNAPLEN as usize)];
        self.writer
            .write_packet(&PcapPacket::new(timestamp, orig_len, kept))
            .map_err(pcap_to_io)?;
        self.unflushed += 1;
        if self.unflushed >= FLUSH_EVERY_PACKETS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.unflushed = 0;
        self.file.lock().flush()
    }
}

#[derive(Clone)]
struct SharedFile(Arc<Mutex<BufWriter<File>>>);

impl SharedFile {
    fn lock(&self) -> MutexGuard<'_, BufWriter<File>> {
        // A panic while writing leaves only a partly written record behind;
        // carrying on is still the most useful thing to do.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Write for SharedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.lock().write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.lock().flush()
    }
}

fn pcap_to_io(err: pcap_file::PcapError) -> io::Error {
    match err {
        pcap_file::PcapError::IoError(err) => err,
        other => io::Error::other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use etherparse::PacketBuilder;
    use pcap_file::pcap::PcapReader;

    use super::*;
    use crate::device::memory::MemoryDevice;

    /// A valid IPv4/TCP packet from 192.0.2.1:40000 to 192.0.2.2:7.
    fn tcp_packet(seq: u32, payload: &[u8]) -> Vec<u8> {
        let mut packet = Vec::new();
        PacketBuilder::ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64)
            .tcp(40000, 7, seq, 64240)
            .ack(1)
            .psh()
            .write(&mut packet, payload)
            .unwrap();
        packet
    }

    fn temp_pcap(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("tuntcp-{name}-{}.pcap", std::process::id()))
    }

    fn read_pcap(path: &Path) -> (PcapHeader, Vec<Vec<u8>>) {
        let mut reader = PcapReader::new(File::open(path).unwrap()).unwrap();
        let header = reader.header();
        let mut packets = Vec::new();
        while let Some(packet) = reader.next_packet() {
            packets.push(packet.unwrap().data.into_owned());
        }
        (header, packets)
    }

    #[test]
    fn records_both_directions_in_order_as_raw_ip() {
        let path = temp_pcap("both-directions");
        let inbound = tcp_packet(1000, b"hello");
        let outbound = tcp_packet(2000, b"hello back");
        let mut device = MemoryDevice::default();
        device.incoming.push_back(inbound.clone());
        let mut tap = PcapTap::create(device, &path).unwrap();

        let mut buf = [0u8; 1500];
        assert_eq!(tap.recv(&mut buf).unwrap(), Some(inbound.len()));
        assert_eq!(&buf[..inbound.len()], &inbound[..]);
        tap.send(&outbound).unwrap();
        assert_eq!(tap.inner().sent, vec![outbound.clone()]);
        drop(tap);

        let (header, packets) = read_pcap(&path);
        assert_eq!(header.datalink, DataLink::RAW);
        assert_eq!(packets, vec![inbound, outbound]);
        std::fs::remove_file(&path).ok();
    }

    #[test]
    fn a_segment_larger_than_the_mtu_is_recorded_as_wire_sized_packets() {
        let path = temp_pcap("wire-sized");
        let large = tcp_packet(1000, &[7u8; 3000]);
        let mut tap = PcapTap::create(MemoryDevice::default(), &path).unwrap();
        tap.send(&large).unwrap();
        assert_eq!(tap.inner().sent, vec![large], "the device gets it whole");
        drop(tap);

        let (_, packets) = read_pcap(&path);
        let sizes: Vec<usize> = packets.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![1500, 1500, 40 + 80]);
        std::fs::remove_file(&path).ok();
    }

    #[test]
    fn file_is_readable_while_tap_is_alive_after_idle_recv() {
        let path = temp_pcap("idle-flush");
        let mut device = MemoryDevice::default();
        device.incoming.push_back(tcp_packet(1, b"x"));
        let mut tap = PcapTap::create(device, &path).unwrap();
        let mut buf = [0u8; 1500];
        tap.recv(&mut buf).unwrap();
        // Still buffered: fewer than FLUSH_EVERY_PACKETS and never idle.
        assert_eq!(read_pcap(&path).1.len(), 0);
        assert_eq!(tap.recv(&mut buf).unwrap(), None);
        assert_eq!(read_pcap(&path).1.len(), 1, "idle recv should flush");
        std::fs::remove_file(&path).ok();
    }

    #[test]
    fn busy_device_is_flushed_every_64_packets() {
        let path = temp_pcap("periodic-flush");
        let mut tap = PcapTap::create(MemoryDevice::default(), &path).unwrap();
        for seq in 0..FLUSH_EVERY_PACKETS as u32 + 10 {
            tap.send(&tcp_packet(seq, b"data")).unwrap();
        }
        // A killed process would leave exactly this on disk.
        assert_eq!(read_pcap(&path).1.len(), FLUSH_EVERY_PACKETS);
        std::mem::forget(tap);
        std::fs::remove_file(&path).ok();
    }

    /// A device that refuses every packet.
    struct BrokenDevice;

    impl Device for BrokenDevice {
        fn recv(&mut self, _buf: &mut [u8]) -> io::Result<Option<usize>> {
            Ok(None)
        }
        fn send(&mut self, _packet: &[u8]) -> io::Result<()> {
            Err(io::Error::other("link is down"))
        }
        fn raw_fd(&self) -> Option<RawFd> {
            None
        }
    }

    #[test]
    fn failed_sends_are_reported_and_not_recorded() {
        let path = temp_pcap("failed-send");
        let mut tap = PcapTap::create(BrokenDevice, &path).unwrap();
        let err = tap.send(&tcp_packet(1, b"lost")).unwrap_err();
        assert_eq!(err.to_string(), "link is down");
        drop(tap);
        assert_eq!(read_pcap(&path).1.len(), 0);
        std::fs::remove_file(&path).ok();
    }

    #[test]
    fn create_fails_with_the_path_in_the_message() {
        let err = PcapTap::create(MemoryDevice::default(), "/nonexistent-dir/x.pcap")
            .err()
            .unwrap();
        assert!(err.to_string().contains("/nonexistent-dir/x.pcap"), "{err}");
    }

    /// tshark, when installed, decodes the file without complaint.
    #[test]
    fn tshark_decodes_the_capture_cleanly() {
        if Command::new("tshark").arg("--version").output().is_err() {
            eprintln!(
                "tshark not installed (scripts/test.sh installs it); skipping the tshark check"
            );
            return;
        }
        let path = temp_pcap("tshark");
        let mut tap = PcapTap::create(MemoryDevice::default(), &path).unwrap();
        for seq in 0..5 {
            tap.send(&tcp_packet(seq * 100, b"hello tshark")).unwrap();
        }
        drop(tap);
        let output = Command::new("tshark")
            .args([
                "-o",
                "tcp.check_checksum:TRUE",
                "-o",
                "ip.check_checksum:TRUE",
                "-r",
            ])
            .arg(&path)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.status.success(), "tshark failed: {text}");
        assert_eq!(
            text.lines().filter(|l| l.contains("192.0.2.1")).count(),
            5,
            "{text}"
        );
        for warning in ["Malformed", "Bad", "incorrect"] {
            assert!(!text.contains(warning), "tshark reported {warning}: {text}");
        }
        std::fs::remove_file(&path).ok();
    }
}

//! The driver's loop: wait, read everything, run timers, send everything.

use std::io;
use std::os::fd::RawFd;

use super::EngineCell;
use crate::device::Device;
use crate::engine::Engine;
use crate::time::Instant;

/// Packets read in one turn before the engine's output is flushed, so a
/// flood on the device cannot starve transmission.
const MAX_PACKETS_PER_TURN: usize = 256;

/// Room for one packet in either direction (the TUN MTU is 1500; a larger
/// buffer lets an oversized packet be read whole and then dropped).
const PACKET_BUFFER: usize = 65_536;

/// Runs until the cell is stopped or the device fails.
pub(super) fn run(cell: &EngineCell, mut device: Box<dyn Device>) -> io::Result<()> {
    let mut rx = vec![0u8; PACKET_BUFFER];
    let mut tx = vec![0u8; PACKET_BUFFER];
    log::debug!("driver started");
    while !cell.is_stopped() {
        let timeout = cell.lock().poll_timeout();
        wait_for_events(device.raw_fd(), cell.waker.raw_fd(), timeout, cell.now())?;
        let news_for_sockets = {
            let mut engine = cell.lock();
            cell.waker.drain();
            let now = cell.now();
            let packets = read_packets(device.as_mut(), engine.as_mut(), now, &mut rx)?;
            let timer_due = engine.poll_timeout().is_some_and(|at| at <= now);
            engine.handle_timeout(now);
            send_packets(device.as_mut(), engine.as_mut(), now, &mut tx);
            packets > 0 || timer_due
        };
        // Only packets and timers change what a socket can do (data to
        // read, room to write, a connection to accept, an error). A turn
        // that only sent what applications queued has no news for them, and
        // waking every waiting thread for nothing costs a lot at 64 clients.
        if news_for_sockets {
            cell.turn_done.notify_all();
        }
    }
    log::debug!("driver stopped");
    Ok(())
}

/// Feeds the engine what the device has, up to one turn's worth; returns
/// how many packets that was.
fn read_packets(
    device: &mut dyn Device,
    engine: &mut dyn Engine,
    now: Instant,
    rx: &mut [u8],
) -> io::Result<usize> {
    for count in 0..MAX_PACKETS_PER_TURN {
        match device.recv(rx)? {
            Some(len) => engine.handle_packet(now, &rx[..len]),
            None => return Ok(count),
        }
    }
    Ok(MAX_PACKETS_PER_TURN)
}

/// Sends every packet the engine has due. A failed send is logged and
/// dropped: TCP retransmits, so losing one packet is recoverable, while
/// stopping the loop would not be.
fn send_packets(device: &mut dyn Device, engine: &mut dyn Engine, now: Instant, tx: &mut [u8]) {
    while let Some(len) = engine.poll_transmit(now, tx) {
        if let Err(err) = device.send(&tx[..len]) {
            log::debug!("dropped an outbound packet of {len} bytes: {err}");
        }
    }
}

/// Sleeps in poll(2) until the device or the waker is readable or the
/// engine's next timeout comes.
fn wait_for_events(
    device_fd: Option<RawFd>,
    waker_fd: RawFd,
    timeout: Option<Instant>,
    now: Instant,
) -> io::Result<()> {
    let mut fds = [
        libc::pollfd {
            fd: waker_fd,
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            // A negative fd is ignored by poll(2): in-memory devices have none.
            fd: device_fd.unwrap_or(-1),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    let timeout_ms = poll_timeout_ms(timeout, now);
    // SAFETY: `fds` is a valid array of two pollfd for the whole call.
    let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    if ready < 0 {
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    Ok(())
}

/// poll(2)'s timeout in milliseconds, rounded up so we never wake before a
/// timer is due (and spin); -1 means "no timer: wait for an event".
fn poll_timeout_ms(timeout: Option<Instant>, now: Instant) -> libc::c_int {
    match timeout {
        None => -1,
        Some(at) => {
            let micros = at.saturating_duration_since(now).as_micros();
            let millis = micros.div_ceil(1000);
            libc::c_int::try_from(millis).unwrap_or(libc::c_int::MAX)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_timeout_rounds_up_and_never_negative() {
        let now = Instant::from_millis(10);
        assert_eq!(poll_timeout_ms(None, now), -1);
        assert_eq!(poll_timeout_ms(Some(Instant::from_millis(5)), now), 0);
        assert_eq!(poll_timeout_ms(Some(Instant::from_micros(10_001)), now), 1);
        assert_eq!(poll_timeout_ms(Some(Instant::from_millis(250)), now), 240);
    }
}

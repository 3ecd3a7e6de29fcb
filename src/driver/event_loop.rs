//! The driver's loop: wait, read everything, run timers, send everything.

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::Ordering;

use super::{Core, EngineCell};
use crate::time::Instant;

/// Packets read in one turn before the engine's output is flushed, so a
/// flood on the device cannot starve transmission.
const MAX_PACKETS_PER_TURN: usize = 256;

/// Runs until the cell is stopped or the device fails.
pub(super) fn run(cell: &EngineCell, device_fd: Option<RawFd>) -> io::Result<()> {
    let mut rx = vec![0u8; super::PACKET_BUFFER];
    log::debug!("driver started");
    while !cell.is_stopped() {
        let timeout = {
            let mut core = cell.lock();
            let timeout = core.poll_timeout();
            // Published under the lock, so an application call that starts
            // an earlier timer after this point sees it and wakes us.
            let wakes_at = timeout.map_or(u64::MAX, Instant::total_micros);
            cell.driver_wakes_at.store(wakes_at, Ordering::Release);
            timeout
        };
        wait_for_events(device_fd, cell.waker.raw_fd(), timeout, cell.now())?;
        let mut core = cell.lock();
        cell.waker.drain();
        let now = cell.now();
        read_packets(&mut core, now, &mut rx)?;
        core.handle_timeout(now);
        core.send_due(now);
        // Only the handles whose readiness changed wake (see `waiters.rs`).
        core.dispatch_readiness();
    }
    log::debug!("driver stopped");
    Ok(())
}

/// Feeds the engine what the device has, up to one turn's worth; returns
/// how many packets that was.
fn read_packets(core: &mut Core, now: Instant, rx: &mut [u8]) -> io::Result<usize> {
    let Core {
        device,
        engine,
        trace,
        ..
    } = core;
    let Some(device) = device.as_mut() else {
        return Ok(0);
    };
    for count in 0..MAX_PACKETS_PER_TURN {
        match device.recv(rx)? {
            Some(len) => Core::feed(engine.as_mut(), trace.as_mut(), now, &rx[..len]),
            None => return Ok(count),
        }
    }
    Ok(MAX_PACKETS_PER_TURN)
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

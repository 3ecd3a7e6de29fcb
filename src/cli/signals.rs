//! SIGINT and SIGTERM end the program cleanly: the stack is stopped (the
//! pcap file flushed, the TUN device closed) before the process exits.

use std::io;

use tuntcp::socket::Stack;

/// Blocks SIGINT and SIGTERM in the calling thread and every thread it
/// starts afterwards. Call first thing in `main`, before any thread exists,
/// so that only the signal thread ever receives them.
pub fn block_termination_signals() -> io::Result<libc::sigset_t> {
    // SAFETY: plain libc signal-set manipulation on a local sigset_t.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        Ok(set)
    }
}

/// Starts the thread that waits for SIGINT/SIGTERM, stops `stack` and
/// exits with status 0.
pub fn stop_on_signal(set: libc::sigset_t, stack: Stack) -> io::Result<()> {
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut signal: libc::c_int = 0;
            // SAFETY: `set` is a valid, initialised signal set.
            let rc = unsafe { libc::sigwait(&set, &mut signal) };
            if rc == 0 {
                log::info!("signal {signal}: shutting down");
            }
            if let Err(err) = stack.shutdown() {
                log::warn!("stopping the stack: {err}");
            }
            std::process::exit(0);
        })?;
    Ok(())
}

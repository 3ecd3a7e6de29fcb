//! SIGINT and SIGTERM end the program cleanly: the stack is stopped (the
//! pcap file flushed, the TUN device closed) before the process exits.

use std::io;
use std::sync::{Mutex, MutexGuard, OnceLock};

use tuntcp::device::tun_queue::QueueDropWatch;

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

/// Whether the stop line has been printed; held by whichever thread is
/// about to end the process, so the line is printed once and whole.
static STOP_LINE_PRINTED: Mutex<bool> = Mutex::new(false);

/// Prints the stack's counters as `WHAT stopped: ...` on stderr, once per
/// process, for whoever watched it run (and for scripts/bench.sh, which
/// counts retransmission timeouts). Keep the guard until the process ends:
/// a thread that exits meanwhile waits for it, so the line is never cut.
pub fn print_stop_line_once(what: &str, stack: &Stack) -> MutexGuard<'static, bool> {
    let mut printed = STOP_LINE_PRINTED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if !*printed {
        eprintln!("{what} stopped: {}{}", stack.stats(), queue_drops());
        *printed = true;
    }
    printed
}

/// The TUN device whose queue drops the stop line reports.
static QUEUE_WATCH: OnceLock<QueueDropWatch> = OnceLock::new();

/// From now on, the stop line also counts the packets the kernel drops
/// at `ifname`'s queue (`device/tun_queue.rs`): the stack never sees
/// them, so its own counters cannot tell.
pub fn watch_queue_drops(ifname: &str) {
    if let Some(watch) = QueueDropWatch::start(ifname) {
        let _ = QUEUE_WATCH.set(watch);
    }
}

/// "; N dropped by the kernel at tun0's queue (...)", or nothing when
/// there were none or nobody watched.
fn queue_drops() -> String {
    let Some(watch) = QUEUE_WATCH.get() else {
        return String::new();
    };
    match watch.dropped() {
        0 => String::new(),
        dropped => format!(
            "; {dropped} dropped by the kernel at {}'s queue before the stack could read them (--txqueuelen)",
            watch.ifname()
        ),
    }
}

/// Starts the thread that waits for SIGINT/SIGTERM, stops `stack`, prints
/// the stop line and exits with status 0.
pub fn stop_on_signal(set: libc::sigset_t, stack: Stack, what: &'static str) -> io::Result<()> {
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut signal: libc::c_int = 0;
            // SAFETY: `set` is a valid, initialised signal set.
            let rc = unsafe { libc::sigwait(&set, &mut signal) };
            if rc == 0 {
                log::info!("signal {signal}: shutting down");
            }
            // Closing the stack removes its TUN device with its counters:
            // read them first.
            if let Some(watch) = QUEUE_WATCH.get() {
                watch.refresh();
            }
            if let Err(err) = stack.shutdown() {
                log::warn!("stopping the stack: {err}");
            }
            // Whichever thread prints first, the process ends after the
            // whole line is out: exit holds the guard.
            let _printed = print_stop_line_once(what, &stack);
            std::process::exit(0);
        })?;
    Ok(())
}

//! The state changes a learner reads in the logs (`tuntcp echo -vv`): one
//! debug line per change, `local -> remote: A => B`, following the state
//! diagram of RFC 9293 §3.3.2.

use std::sync::{Mutex, Once};
use std::thread::ThreadId;

use super::harness::*;

/// Keeps the engine's state-change lines, with the thread that logged them
/// (tests run in parallel threads of one process and share one logger),
/// and passes every record on to env_logger so `RUST_LOG` works as usual
/// in the engine tests.
struct CapturingLogger {
    env: env_logger::Logger,
}

static LINES: Mutex<Vec<(ThreadId, String)>> = Mutex::new(Vec::new());

impl CapturingLogger {
    fn captures(metadata: &log::Metadata) -> bool {
        metadata.target() == "tuntcp::engine::tcp::tcb" && metadata.level() == log::Level::Debug
    }
}

impl log::Log for CapturingLogger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        Self::captures(metadata) || self.env.enabled(metadata)
    }

    fn log(&self, record: &log::Record) {
        if Self::captures(record.metadata()) {
            let line = (std::thread::current().id(), record.args().to_string());
            LINES.lock().unwrap().push(line);
        }
        if self.env.matches(record) {
            self.env.log(record);
        }
    }

    fn flush(&self) {}
}

/// Installs the engine tests' logger, once per process.
pub(super) fn install_test_logger() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let env = env_logger::Builder::from_default_env()
            .is_test(true)
            .build();
        let level = env.filter().max(log::LevelFilter::Debug);
        log::set_boxed_logger(Box::new(CapturingLogger { env }))
            .expect("the engine tests install only this logger");
        log::set_max_level(level);
    });
}

/// Starts capturing and returns a function giving this thread's state
/// changes so far.
fn capture() -> impl Fn() -> Vec<String> {
    install_test_logger();
    let me = std::thread::current().id();
    move || {
        let lines = LINES.lock().unwrap();
        let mine = lines.iter().filter(|(thread, _)| *thread == me);
        mine.map(|(_, line)| line.clone())
            .filter(|line| line.contains(" => "))
            .collect()
    }
}

#[test]
fn passive_open_logs_listen_to_syn_received_to_established_s3_3_2() {
    let lines = capture();
    let (_stack, _conn) = established();
    assert_eq!(
        lines(),
        [
            "192.0.2.2:80 -> 192.0.2.1:49500: LISTEN => SYN-RECEIVED",
            "192.0.2.2:80 -> 192.0.2.1:49500: SYN-RECEIVED => ESTABLISHED",
        ]
    );
}

#[test]
fn active_open_logs_closed_to_syn_sent_to_established_s3_3_2() {
    let lines = capture();
    let (_stack, _conn) = connected_with(config());
    let lines = lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].ends_with(": CLOSED => SYN-SENT"), "{lines:?}");
    assert!(lines[1].ends_with(": SYN-SENT => ESTABLISHED"), "{lines:?}");
}

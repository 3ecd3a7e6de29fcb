//! `tuntcp packetdrill`: runs packetdrill scripts against a fresh engine on
//! virtual time, through the calls an application makes.
//!
//! # Layout
//!
//! - `lexer.rs`, `parser.rs`: the script language (upstream packetdrill's
//!   and the FreeBSD fork's dialect) into a [`script::Script`].
//! - `settings.rs`: header flags and FreeBSD `sysctl -w` lines to engine
//!   settings; the fresh engine.
//! - `time.rs`: when an event is due and the window a packet may come in.
//! - `support.rs`: what a script needs that is missing (it is SKIPPED).
//! - `syscalls.rs`: socket, bind, listen, accept, connect, read/recv (with
//!   MSG_PEEK), write/send, shutdown, close, fcntl, get/setsockopt, poll.
//! - `packets.rs`: inbound packets built byte for byte; outbound parsed.
//! - `matcher.rs`: a sent packet against a `>` line.
//! - `loose.rs`: every value compared loosely unless `--strict`, in one list.
//! - `runner.rs`: one script, event by event, on virtual time.
//! - `report.rs`: PASS / FAIL / SKIP lines and the counts.

pub mod icmp;
pub mod keepalive;
pub mod lexer;
pub mod loose;
pub mod matcher;
pub mod packets;
pub mod parser;
pub mod report;
pub mod runner;
pub mod script;
pub mod settings;
pub mod support;
pub mod syscalls;
pub mod time;

use std::path::{Path, PathBuf};

pub use loose::Strictness;
pub use report::{report_text, Outcome, ScriptResult, Summary};
pub use runner::RunOptions;
pub use settings::StackChoice;

/// The scripts named: files as given, directories searched (recursively)
/// for `*.pkt`, in path order.
pub fn collect_scripts(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut scripts = Vec::new();
    for path in paths {
        if path.is_dir() {
            find_pkt_files(path, &mut scripts)?;
        } else {
            scripts.push(path.clone());
        }
    }
    Ok(scripts)
}

fn find_pkt_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            find_pkt_files(&path, out)?;
        } else if path.extension().is_some_and(|ext| ext == "pkt") {
            out.push(path);
        }
    }
    Ok(())
}

/// Reads, parses and runs one script. A script the parser cannot read is
/// SKIPPED with the line (the language has more than the runner knows).
pub fn run_file(path: &Path, options: RunOptions) -> ScriptResult {
    let outcome = match std::fs::read_to_string(path) {
        Err(err) => Outcome::Skip {
            reason: format!("cannot read: {err}"),
        },
        Ok(text) => run_text(&text, options),
    };
    ScriptResult {
        path: path.to_path_buf(),
        outcome,
    }
}

/// Parses and runs a script's text.
pub fn run_text(text: &str, options: RunOptions) -> Outcome {
    match parser::parse_script(text) {
        Ok(script) => runner::run_script(&script, options),
        Err(error) => Outcome::Skip {
            reason: format!("cannot parse {error}"),
        },
    }
}

//! The README's first command, `sudo scripts/demo.sh`, on a machine that
//! lacks the tools it drives: it must install them (with apt-get, through
//! scripts/tools.sh, which scripts/test.sh shares) and then work.
//!
//! A "fresh machine" here is a PATH without `nc`: a folder of links to
//! every command of /usr/bin and /usr/sbin but netcat, and a stand-in
//! `apt-get` that records what it was asked to install and installs it by
//! adding the link. demo.sh itself makes (and removes) the network
//! namespace it runs in. Needs root, like the live tests.
//!
//! `demo.sh --addr 2001:db8::2` tries IPv6 only, as the server serves.
//!
//! `scripts/bench.sh`: its arguments are checked before anything runs,
//! and its smoke load (a few megabytes per server, seconds in all) gives
//! every server a row over IPv4 and over IPv6.

mod common;

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::Duration;

use common::netns::{describe, unique_temp_path, ChildGuard, SHORT, STARTUP_TIMEOUT};

const SCRIPTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts");

/// A PATH folder with every command of the system but `hidden`.
fn path_without(hidden: &[&str]) -> PathBuf {
    let dir = unique_temp_path("fresh-path", "d");
    std::fs::create_dir_all(&dir).unwrap();
    for system_dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
        let Ok(entries) = std::fs::read_dir(system_dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let link = dir.join(&name);
            if hidden.iter().any(|h| name == *h) || link.exists() {
                continue;
            }
            symlink(entry.path(), link).unwrap();
        }
    }
    dir
}

/// Replaces `apt-get` in `path_dir` with a script that logs its arguments
/// to `log` and "installs" netcat-openbsd by linking `nc` into the folder.
fn fake_apt_get(path_dir: &Path, log: &Path) {
    let apt = path_dir.join("apt-get");
    std::fs::remove_file(&apt).ok();
    let script = format!(
        "#!/bin/sh\necho \"apt-get $*\" >> {log}\ncase \"$*\" in *netcat-openbsd*) ln -sf /usr/bin/nc.openbsd {dir}/nc ;; esac\n",
        log = log.display(),
        dir = path_dir.display()
    );
    std::fs::write(&apt, script).unwrap();
    Command::new("chmod")
        .args(["+x"])
        .arg(&apt)
        .status()
        .unwrap();
    let debconf = path_dir.join("debconf-set-selections");
    std::fs::remove_file(&debconf).ok();
    std::fs::write(&debconf, "#!/bin/sh\ncat > /dev/null\n").unwrap();
    Command::new("chmod")
        .args(["+x"])
        .arg(&debconf)
        .status()
        .unwrap();
}

/// Runs `bash -c SCRIPT` with PATH set to `path_dir`; its stdout.
fn bash_with_path(path_dir: &Path, script: &str) -> String {
    let output = Command::new("/bin/bash")
        .args(["-c", script])
        .env("PATH", path_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn tools_sh_names_the_package_of_each_missing_command_once() {
    let dir = path_without(&["nc", "socat"]);
    let missing = bash_with_path(&dir, ". scripts/tools.sh; missing_packages ip nc socat nc");
    assert_eq!(missing, "netcat-openbsd\nsocat\n");
    let none = bash_with_path(&dir, ". scripts/tools.sh; missing_packages ip");
    assert_eq!(none, "");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn demo_installs_netcat_on_a_machine_without_it_and_works() {
    let dir = path_without(&["nc", "netcat", "apt-get"]);
    let apt_log = unique_temp_path("apt-log", "txt");
    fake_apt_get(&dir, &apt_log);
    let mut command = Command::new(format!("{SCRIPTS}/demo.sh"));
    command
        .env("PATH", &dir)
        .env("TUNTCP_BIN", env!("CARGO_BIN_EXE_tuntcp"));
    let demo = run_demo("scripts/demo.sh", command);
    let apt_calls = std::fs::read_to_string(&apt_log).unwrap_or_default();
    std::fs::remove_dir_all(dir).ok();
    std::fs::remove_file(apt_log).ok();
    let output = demo.unwrap_or_else(|why| panic!("{why}"));
    assert!(
        apt_calls.contains("apt-get install") && apt_calls.contains("netcat-openbsd"),
        "{apt_calls}"
    );
    assert!(output.contains("== it works"), "{output}");
}

#[test]
fn demo_tries_only_the_families_the_server_serves() {
    let mut command = Command::new(format!("{SCRIPTS}/demo.sh"));
    command
        .args(["--addr", "2001:db8::2"])
        .env("TUNTCP_BIN", env!("CARGO_BIN_EXE_tuntcp"));
    let output = run_demo("scripts/demo.sh --addr 2001:db8::2", command)
        .unwrap_or_else(|why| panic!("{why}"));
    assert!(
        output.contains("sending with nc -6 2001:db8::2 7"),
        "{output}"
    );
    assert!(!output.contains("sending with nc 192.0.2.2"), "{output}");
    assert!(output.contains("== it works"), "{output}");
}

/// `scripts/bench.sh ARGS` with this build's binaries (no cargo build of
/// its own); its stdout, or why it failed.
fn bench(args: &[&str]) -> (ExitStatus, String, String) {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_tuntcp")).parent().unwrap();
    let mut command = Command::new(format!("{SCRIPTS}/bench.sh"));
    command.args(args).env("TUNTCP_BIN_DIR", bin_dir);
    // The smoke load takes seconds; a minute is a hang.
    run_to_end("scripts/bench.sh", command, Duration::from_secs(90))
}

#[test]
fn bench_refuses_a_family_that_is_not_4_6_or_both() {
    let (status, _, stderr) = bench(&["--family", "7"]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--family takes 4, 6 or both"), "{stderr}");
    let (status, _, stderr) = bench(&["--loss", "--family", "6"]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("IPv4 only"), "{stderr}");
}

/// The cells of the first table's row for `server` over `family`.
fn row<'a>(table: &'a str, server: &str, family: &str) -> Vec<&'a str> {
    table
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|cells| cells.len() > 2 && cells[0] == server && cells[1] == family)
        .unwrap_or_else(|| panic!("no {server} {family} row in\n{table}"))
}

#[test]
fn bench_smoke_measures_every_server_over_both_families() {
    let (status, stdout, stderr) = bench(&["--family", "both", "--smoke"]);
    assert!(status.success(), "{}\n{stdout}\n{stderr}", describe(status));
    let throughput = stdout.split("\n\n").next().unwrap();
    for server in [
        "kernel@lo",
        "smoltcp@1500",
        "tuntcp-event@1500",
        "tuntcp-threaded@65535",
    ] {
        for family in ["IPv4", "IPv6"] {
            let cells = row(throughput, server, family);
            // 1 conn MB/s and 64 conns MB/s were measured (a failed run
            // leaves "-"), and the IPv6 rows have IPv6 baselines.
            for cell in [cells[2], cells[5]] {
                assert!(cell.parse::<f64>().is_ok(), "{cells:?}");
            }
            assert_ne!(cells[4], "-", "no kernel ratio: {cells:?}");
        }
    }
    let versus = stdout
        .split("IPv6 / IPv4")
        .nth(1)
        .unwrap_or_else(|| panic!("no IPv6 / IPv4 table in\n{stdout}"));
    assert!(versus.contains("tuntcp-event@1500"), "{versus}");
}

/// Runs demo.sh (`command`) with its stdin closed until it ends: its
/// stdout, or why it failed (its exit status, stdout and stderr).
fn run_demo(name: &str, command: Command) -> Result<String, String> {
    let (status, output, stderr) = run_to_end(name, command, STARTUP_TIMEOUT);
    if !status.success() {
        return Err(format!(
            "{name} ended with {}; stdout:\n{output}\nstderr:\n{stderr}",
            describe(status)
        ));
    }
    Ok(output)
}

/// Runs `command` with its stdin closed: its exit status, stdout (read
/// for at most `limit`) and stderr.
fn run_to_end(name: &str, command: Command, limit: Duration) -> (ExitStatus, String, String) {
    let mut child = ChildGuard::spawn(name, command);
    drop(child.stdin());
    let stdout = child
        .remaining_stdout(limit)
        .unwrap_or_else(|why| panic!("{why}"));
    let status = child
        .wait_timeout(SHORT)
        .unwrap_or_else(|why| panic!("{why}"));
    (status, stdout, child.final_stderr())
}

//! `tuntcp packetdrill`: the project's own scripts (tests/packetdrill/)
//! must pass on our engine; a sample of the FreeBSD suite, when
//! ../shared/conformance is there (it is not part of the project), must
//! give the counts measured when this test was written; and the program's
//! output and exit status follow what the README promises.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tuntcp::apps::packetdrill::{
    collect_scripts, run_file, RunOptions, ScriptResult, StackChoice, Strictness, Summary,
};

fn ours() -> RunOptions {
    RunOptions {
        stack: StackChoice::Tuntcp,
        strictness: Strictness { strict: false },
    }
}

fn run_all(paths: &[PathBuf], options: RunOptions) -> Vec<ScriptResult> {
    let scripts = collect_scripts(paths).expect("list the scripts");
    scripts.iter().map(|path| run_file(path, options)).collect()
}

fn lines(results: &[ScriptResult]) -> String {
    results.iter().map(|r| format!("{r}\n")).collect()
}

fn project_scripts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/packetdrill")
}

#[test]
fn the_projects_own_scripts_pass_on_our_engine() {
    let results = run_all(&[project_scripts()], ours());
    let summary = Summary::of(&results);
    assert!(summary.passed >= 4, "{}", lines(&results));
    assert_eq!(summary.passed, results.len(), "{}", lines(&results));
}

/// The FreeBSD suite's copy, outside the project (its README: "not copied
/// into it").
fn shared_suite() -> Option<PathBuf> {
    let root =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/freebsd-tcp-testsuite");
    root.is_dir().then_some(root)
}

#[test]
fn a_sample_of_the_freebsd_suite_gives_the_measured_counts() {
    let Some(root) = shared_suite() else {
        eprintln!("SKIPPED: ../shared/conformance is not here; the sample was not run");
        return;
    };
    let sample: Vec<PathBuf> = [
        "state-event-engine/rcv-rst-established",
        "snippets",
        "rcv-data-segments/reordering-12345.pkt",
        "rcv-data-segments/reordering-54321.pkt",
    ]
    .iter()
    .map(|p| root.join(p))
    .collect();
    let results = run_all(&sample, ours());
    let summary = Summary::of(&results);
    // The IPv6 twins run too, each with its IPv4 twin's result.
    let expected = Summary {
        passed: 25,
        failed: 8,
        skipped: 8,
    };
    assert_eq!(summary, expected, "\n{}", lines(&results));
}

fn tuntcp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tuntcp"))
        .args(args)
        .output()
        .expect("run tuntcp")
}

#[test]
fn the_program_prints_a_line_per_script_and_the_counts_and_fails_on_a_failure() {
    let dir = std::env::temp_dir().join(format!("tuntcp-packetdrill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A SYN answered by a SYN-ACK, which the script wrongly calls a RST.
    let failing = dir.join("wrong.pkt");
    std::fs::write(
        &failing,
        "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n\
         +0 listen(3, 1) = 0\n+0 < S 0:0(0) win 65535 <mss 1460>\n+0 > R 0:0(0)\n",
    )
    .unwrap();
    let skipped = dir.join("insecure.pkt");
    std::fs::write(
        &skipped,
        "0 `sysctl -w net.inet.tcp.insecure_rst=1`\n+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n",
    )
    .unwrap();
    let report = dir.join("report.tsv");
    let own = project_scripts().join("active-open-refused.pkt");
    let output = tuntcp(&[
        "packetdrill",
        "--report",
        report.to_str().unwrap(),
        own.to_str().unwrap(),
        dir.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        !output.status.success(),
        "a failed script fails the run:\n{stdout}"
    );
    let printed: Vec<&str> = stdout.lines().collect();
    assert_eq!(printed.len(), 4, "{stdout}");
    assert!(printed[0].starts_with("PASS "), "{stdout}");
    assert!(
        printed[1].starts_with("SKIP ") && printed[1].contains("RFC 5961"),
        "{stdout}"
    );
    assert!(
        printed[2].starts_with("FAIL ") && printed[2].contains("line 5: flags R against S."),
        "{stdout}"
    );
    assert_eq!(printed[3], "1 passed, 1 failed, 1 skipped");
    let written = std::fs::read_to_string(&report).unwrap();
    assert_eq!(written.lines().count(), 4, "{written}");

    let passing = tuntcp(&["packetdrill", own.to_str().unwrap()]);
    assert!(passing.status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}

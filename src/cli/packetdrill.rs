//! `tuntcp packetdrill [--stack S] [--strict] [--report FILE] PATH...`:
//! every script against a fresh engine (see `tuntcp::apps::packetdrill`).

use std::io::Write;

use tuntcp::apps::packetdrill::{
    collect_scripts, report_text, run_file, RunOptions, StackChoice, Strictness, Summary,
};

use super::args::{PacketdrillArgs, StackKind};

/// Prints a line per script and the counts; an error when any failed.
pub fn run(args: &PacketdrillArgs) -> Result<(), String> {
    let scripts =
        collect_scripts(&args.paths).map_err(|err| format!("cannot list scripts: {err}"))?;
    if scripts.is_empty() {
        return Err("no *.pkt scripts found".into());
    }
    let options = RunOptions {
        stack: match args.stack {
            StackKind::Tuntcp => StackChoice::Tuntcp,
            StackKind::Smoltcp => StackChoice::Smoltcp,
        },
        strictness: Strictness {
            strict: args.strict,
        },
    };
    let mut out = std::io::stdout().lock();
    let mut results = Vec::with_capacity(scripts.len());
    for script in &scripts {
        let result = run_file(script, options);
        // A closed pipe (`| head`) stops the printing, not the run.
        let _ = writeln!(out, "{result}");
        results.push(result);
    }
    let summary = Summary::of(&results);
    let _ = writeln!(out, "{summary}");
    if let Some(path) = &args.report {
        std::fs::write(path, report_text(&results))
            .map_err(|err| format!("cannot write {}: {err}", path.display()))?;
    }
    match summary.failed {
        0 => Ok(()),
        n => Err(format!("{n} of {} scripts failed", scripts.len())),
    }
}

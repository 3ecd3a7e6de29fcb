//! What a run says: one line per script, then the counts. A SKIP is never
//! counted as passed.

use std::fmt;
use std::path::PathBuf;

/// The result of one script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    /// The script line where it went wrong and what differed.
    Fail {
        line: usize,
        message: String,
    },
    /// What the engine (or the runner) cannot do that the script needs.
    Skip {
        reason: String,
    },
}

impl Outcome {
    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Fail { .. } => "FAIL",
            Outcome::Skip { .. } => "SKIP",
        }
    }

    /// What follows the word: the line and difference, or the reason.
    pub fn detail(&self) -> String {
        match self {
            Outcome::Pass => String::new(),
            Outcome::Fail { line, message } => format!("line {line}: {message}"),
            Outcome::Skip { reason } => reason.clone(),
        }
    }
}

/// One script's line in the output.
#[derive(Clone, Debug)]
pub struct ScriptResult {
    pub path: PathBuf,
    pub outcome: Outcome,
}

impl fmt::Display for ScriptResult {
    /// `PASS path`, `FAIL path: line 12: ...`, `SKIP path: reason`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.outcome.word(), self.path.display())?;
        match self.outcome {
            Outcome::Pass => Ok(()),
            _ => write!(f, ": {}", self.outcome.detail()),
        }
    }
}

/// The counts of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl Summary {
    pub fn of(results: &[ScriptResult]) -> Summary {
        let count = |word: &str| results.iter().filter(|r| r.outcome.word() == word).count();
        Summary {
            passed: count("PASS"),
            failed: count("FAIL"),
            skipped: count("SKIP"),
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        )
    }
}

/// The `--report FILE` text: one tab-separated line per script (outcome,
/// path, detail), sorted by path, so two runs compare with `diff`.
pub fn report_text(results: &[ScriptResult]) -> String {
    let mut sorted: Vec<&ScriptResult> = results.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut lines: Vec<String> = sorted
        .iter()
        .map(|r| {
            format!(
                "{}\t{}\t{}",
                r.outcome.word(),
                r.path.display(),
                r.outcome.detail()
            )
        })
        .collect();
    lines.push(format!("# {}", Summary::of(results)));
    lines.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_counts() {
        let results = vec![
            ScriptResult {
                path: "b.pkt".into(),
                outcome: Outcome::Fail {
                    line: 7,
                    message: "flags S. against R".into(),
                },
            },
            ScriptResult {
                path: "a.pkt".into(),
                outcome: Outcome::Skip {
                    reason: "IPv6".into(),
                },
            },
            ScriptResult {
                path: "c.pkt".into(),
                outcome: Outcome::Pass,
            },
        ];
        assert_eq!(
            results[0].to_string(),
            "FAIL b.pkt: line 7: flags S. against R"
        );
        assert_eq!(results[2].to_string(), "PASS c.pkt");
        assert_eq!(
            Summary::of(&results).to_string(),
            "1 passed, 1 failed, 1 skipped"
        );
        let report = report_text(&results);
        assert!(report.starts_with("SKIP\ta.pkt\tIPv6\n"), "{report}");
        assert!(report.ends_with("# 1 passed, 1 failed, 1 skipped\n"));
    }
}

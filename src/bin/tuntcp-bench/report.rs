//! Results, one `server<TAB>metric<TAB>value` line each, appended to a
//! file by every measured server in turn; `report` reads them back and
//! prints the tables with ratios, so servers measured one after another
//! (each in its own namespace) still end up side by side.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;

/// Every figure of every server, in the order servers were first seen.
#[derive(Default)]
pub struct Results {
    order: Vec<String>,
    figures: BTreeMap<(String, String), f64>,
}

impl Results {
    pub fn parse(text: &str) -> io::Result<Results> {
        let mut results = Results::default();
        for (number, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let bad = || io::Error::other(format!("results line {}: '{line}'", number + 1));
            let mut fields = line.split('\t');
            let (Some(server), Some(metric), Some(value)) =
                (fields.next(), fields.next(), fields.next())
            else {
                return Err(bad());
            };
            let value: f64 = value.parse().map_err(|_| bad())?;
            results.insert(server, metric, value);
        }
        Ok(results)
    }

    pub fn insert(&mut self, server: &str, metric: &str, value: f64) {
        if !self.order.iter().any(|s| s == server) {
            self.order.push(server.to_string());
        }
        self.figures
            .insert((server.to_string(), metric.to_string()), value);
    }

    fn get(&self, server: &str, metric: &str) -> Option<f64> {
        self.figures
            .get(&(server.to_string(), metric.to_string()))
            .copied()
    }

    /// The row to compare `server` with among those whose name starts
    /// with one of `prefixes`: the one of the same MTU or loss rate (names
    /// end in `@MTU` or `@LOSS`), else the first.
    fn baseline_for(&self, server: &str, prefixes: &[&str]) -> Option<&str> {
        let suffix = |name: &str| name.rsplit_once('@').map(|(_, s)| s.to_string());
        let wanted = suffix(server);
        let candidates = || {
            self.order
                .iter()
                .filter(|s| prefixes.iter().any(|p| s.starts_with(p)))
        };
        candidates()
            .find(|s| suffix(s) == wanted)
            .or_else(|| candidates().next())
            .map(String::as_str)
    }
}

/// One column: a metric, how to print it, and whether ratios are shown.
struct Column {
    metric: &'static str,
    title: &'static str,
    decimals: usize,
    ratios: bool,
}

const THROUGHPUT: [Column; 4] = [
    Column {
        metric: "bulk1",
        title: "1 conn MB/s",
        decimals: 1,
        ratios: true,
    },
    Column {
        metric: "bulk64",
        title: "64 conns MB/s",
        decimals: 1,
        ratios: true,
    },
    Column {
        metric: "rr_per_s",
        title: "1-byte tx/s",
        decimals: 0,
        ratios: true,
    },
    Column {
        metric: "conn_per_s",
        title: "conn/s",
        decimals: 0,
        ratios: true,
    },
];

const COSTS: [Column; 5] = [
    Column {
        metric: "rr_p50_us",
        title: "tx p50 us",
        decimals: 1,
        ratios: false,
    },
    Column {
        metric: "rr_p99_us",
        title: "tx p99 us",
        decimals: 1,
        ratios: false,
    },
    Column {
        metric: "cpu_s_per_gb",
        title: "CPU s/GB",
        decimals: 2,
        ratios: false,
    },
    Column {
        metric: "idle_kib_per_conn",
        title: "KiB/idle conn",
        decimals: 1,
        ratios: false,
    },
    Column {
        metric: "idle_conns",
        title: "idle conns",
        decimals: 0,
        ratios: false,
    },
];

const LOSS: [Column; 3] = [
    Column {
        metric: "bulk1",
        title: "goodput MB/s",
        decimals: 2,
        ratios: true,
    },
    Column {
        metric: "rto_per_mb",
        title: "RTOs/MB",
        decimals: 2,
        ratios: false,
    },
    // The Linux client's own timeouts: how well the server's ACKs and
    // SACKs let the client repair what it lost on the way in.
    Column {
        metric: "client_rto_per_mb",
        title: "client RTOs/MB",
        decimals: 2,
        ratios: false,
    },
];

fn cell(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{v:.decimals$}"))
}

fn ratio(value: Option<f64>, base: Option<f64>) -> String {
    match (value, base) {
        (Some(v), Some(b)) if b > 0.0 => format!("{:.2}", v / b),
        _ => "-".to_string(),
    }
}

fn table(results: &Results, columns: &[Column]) -> String {
    let mut out = String::new();
    let _ = write!(out, "{:<24}", "server");
    for c in columns {
        let _ = write!(out, " {:>14}", c.title);
        if c.ratios {
            let _ = write!(out, " {:>7} {:>7}", "x smol", "x kern");
        }
    }
    out.push('\n');
    for server in &results.order {
        if columns
            .iter()
            .all(|c| results.get(server, c.metric).is_none())
        {
            continue;
        }
        let smol = results.baseline_for(server, &["smoltcp"]);
        let kernel = results.baseline_for(server, &["kernel", "linux"]);
        let _ = write!(out, "{server:<24}");
        for c in columns {
            let value = results.get(server, c.metric);
            let _ = write!(out, " {:>14}", cell(value, c.decimals));
            if c.ratios {
                let of = |base: Option<&str>| base.and_then(|b| results.get(b, c.metric));
                let _ = write!(
                    out,
                    " {:>7} {:>7}",
                    ratio(value, of(smol)),
                    ratio(value, of(kernel))
                );
            }
        }
        out.push('\n');
    }
    out
}

/// The tables a run prints: throughput with ratios, then costs.
pub fn render(results: &Results) -> String {
    let mut out = table(results, &THROUGHPUT);
    out.push('\n');
    out.push_str(&table(results, &COSTS));
    out
}

/// The loss benchmark's table: goodput with ratios, RTOs per MB of the
/// server and of the client.
pub fn render_loss(results: &Results) -> String {
    table(results, &LOSS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_compare_with_smoltcp_at_the_same_mtu_and_the_kernel() {
        let text = "kernel@lo\tbulk1\t1000\n\
                    smoltcp@1500\tbulk1\t100\n\
                    smoltcp@65535\tbulk1\t400\n\
                    tuntcp@65535\tbulk1\t800\n";
        let results = Results::parse(text).unwrap();
        let out = render(&results);
        let row = out.lines().find(|l| l.starts_with("tuntcp@65535")).unwrap();
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(&cells[1..4], &["800.0", "2.00", "0.80"]);
    }

    #[test]
    fn bad_lines_are_refused_with_their_number() {
        let err = Results::parse("a\tb\t1\nbroken\n").err().unwrap();
        assert!(err.to_string().contains("line 2"));
    }
}

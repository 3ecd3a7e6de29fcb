//! Results, one `family<TAB>server<TAB>metric<TAB>value` line each,
//! appended to a file by every measured server in turn; `report` reads
//! them back and prints the tables with ratios, so servers measured one
//! after another (each in its own namespace) still end up side by side.
//! A row is a server over one IP family (`IPv4`, `IPv6`): its ratios
//! compare with smoltcp and the kernel over the same family, and a last
//! table sets each server's IPv6 figures against its IPv4 ones.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;

/// The IP family a row was measured over, as `run` names it from the
/// address it was given.
pub fn family_name(addr: &std::net::SocketAddr) -> &'static str {
    if addr.is_ipv4() {
        "IPv4"
    } else {
        "IPv6"
    }
}

/// One row of the tables: a server measured over one family.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Row {
    family: String,
    server: String,
}

/// Every figure of every row, in the order rows were first seen.
#[derive(Default)]
pub struct Results {
    order: Vec<Row>,
    figures: BTreeMap<(Row, String), f64>,
}

impl Results {
    pub fn parse(text: &str) -> io::Result<Results> {
        let mut results = Results::default();
        for (number, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let bad = || io::Error::other(format!("results line {}: '{line}'", number + 1));
            let fields: Vec<&str> = line.split('\t').collect();
            let [family, server, metric, value] = fields[..] else {
                return Err(bad());
            };
            let value: f64 = value.parse().map_err(|_| bad())?;
            results.insert(family, server, metric, value);
        }
        Ok(results)
    }

    pub fn insert(&mut self, family: &str, server: &str, metric: &str, value: f64) {
        let row = Row {
            family: family.to_string(),
            server: server.to_string(),
        };
        if !self.order.contains(&row) {
            self.order.push(row.clone());
        }
        self.figures.insert((row, metric.to_string()), value);
    }

    fn get(&self, row: &Row, metric: &str) -> Option<f64> {
        self.figures
            .get(&(row.clone(), metric.to_string()))
            .copied()
    }

    /// The row to compare `row` with among those of its family whose
    /// server name starts with one of `prefixes`: the one of the same MTU
    /// or loss rate (names end in `@MTU` or `@LOSS`), else the first.
    fn baseline_for(&self, row: &Row, prefixes: &[&str]) -> Option<&Row> {
        let suffix = |name: &str| name.rsplit_once('@').map(|(_, s)| s.to_string());
        let wanted = suffix(&row.server);
        let candidates = || {
            self.order.iter().filter(|r| {
                r.family == row.family && prefixes.iter().any(|p| r.server.starts_with(p))
            })
        };
        candidates()
            .find(|r| suffix(&r.server) == wanted)
            .or_else(|| candidates().next())
    }

    /// The same server over the other family's `family`, if measured.
    fn twin(&self, row: &Row, family: &str) -> Option<&Row> {
        self.order
            .iter()
            .find(|r| r.family == family && r.server == row.server)
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
    let _ = write!(out, "{:<24} {:<6}", "server", "family");
    for c in columns {
        let _ = write!(out, " {:>14}", c.title);
        if c.ratios {
            let _ = write!(out, " {:>7} {:>7}", "x smol", "x kern");
        }
    }
    out.push('\n');
    for row in &results.order {
        if columns.iter().all(|c| results.get(row, c.metric).is_none()) {
            continue;
        }
        let smol = results.baseline_for(row, &["smoltcp"]);
        let kernel = results.baseline_for(row, &["kernel", "linux"]);
        let _ = write!(out, "{:<24} {:<6}", row.server, row.family);
        for c in columns {
            let value = results.get(row, c.metric);
            let _ = write!(out, " {:>14}", cell(value, c.decimals));
            if c.ratios {
                let of = |base: Option<&Row>| base.and_then(|b| results.get(b, c.metric));
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

/// Each server's IPv6 figures over its IPv4 ones (above 1: IPv6 did
/// better), for the servers measured over both families.
fn family_table(results: &Results, columns: &[Column]) -> String {
    let mut out = String::new();
    let _ = write!(out, "{:<24}", "IPv6 / IPv4");
    for c in columns {
        let _ = write!(out, " {:>14}", c.title);
    }
    out.push('\n');
    for v6 in results.order.iter().filter(|r| r.family == "IPv6") {
        let Some(v4) = results.twin(v6, "IPv4") else {
            continue;
        };
        let _ = write!(out, "{:<24}", v6.server);
        for c in columns {
            let (value, base) = (results.get(v6, c.metric), results.get(v4, c.metric));
            let _ = write!(out, " {:>14}", ratio(value, base));
        }
        out.push('\n');
    }
    out
}

/// The tables a run prints: throughput with ratios, then costs, then
/// (when both families were measured) IPv6 against IPv4.
pub fn render(results: &Results) -> String {
    let mut out = table(results, &THROUGHPUT);
    out.push('\n');
    out.push_str(&table(results, &COSTS));
    let both = ["IPv4", "IPv6"]
        .iter()
        .all(|f| results.order.iter().any(|r| r.family == *f));
    if both {
        out.push('\n');
        out.push_str(&family_table(results, &THROUGHPUT));
    }
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
        let text = "IPv4\tkernel@lo\tbulk1\t1000\n\
                    IPv4\tsmoltcp@1500\tbulk1\t100\n\
                    IPv4\tsmoltcp@65535\tbulk1\t400\n\
                    IPv4\ttuntcp@65535\tbulk1\t800\n";
        let results = Results::parse(text).unwrap();
        let out = render(&results);
        let row = out.lines().find(|l| l.starts_with("tuntcp@65535")).unwrap();
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(&cells[1..5], &["IPv4", "800.0", "2.00", "0.80"]);
        assert!(!out.contains("IPv6 / IPv4"), "one family, no family table");
    }

    #[test]
    fn each_family_compares_with_its_own_baselines_and_ipv6_with_ipv4() {
        let text = "IPv4\tkernel@lo\tbulk1\t1000\n\
                    IPv6\tkernel@lo\tbulk1\t500\n\
                    IPv4\tsmoltcp@1500\tbulk1\t100\n\
                    IPv6\tsmoltcp@1500\tbulk1\t50\n\
                    IPv4\ttuntcp@1500\tbulk1\t400\n\
                    IPv6\ttuntcp@1500\tbulk1\t300\n";
        let out = render(&Results::parse(text).unwrap());
        let cells = |prefix: &str, family: &str| -> Vec<String> {
            let line = out
                .lines()
                .find(|l| l.starts_with(prefix) && l.contains(family))
                .unwrap_or_else(|| panic!("no {prefix} {family} row in\n{out}"));
            line.split_whitespace().map(str::to_string).collect()
        };
        assert_eq!(
            &cells("tuntcp@1500", "IPv4")[2..5],
            &["400.0", "4.00", "0.40"]
        );
        assert_eq!(
            &cells("tuntcp@1500", "IPv6")[2..5],
            &["300.0", "6.00", "0.60"]
        );
        let family_table = out.split("IPv6 / IPv4").nth(1).expect("a family table");
        let row = family_table
            .lines()
            .find(|l| l.starts_with("tuntcp@1500"))
            .unwrap();
        assert_eq!(row.split_whitespace().nth(1), Some("0.75"));
    }

    #[test]
    fn bad_lines_are_refused_with_their_number() {
        let err = Results::parse("IPv4\ta\tb\t1\nbroken\n").err().unwrap();
        assert!(err.to_string().contains("line 2"));
    }
}

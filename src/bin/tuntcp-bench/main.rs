//! Benchmarks for echo servers, run from kernel sockets.
//!
//! - `tuntcp-bench serve ADDR` runs the echo app on kernel sockets (the
//!   kernel's own TCP, the baseline).
//! - `tuntcp-bench run --name NAME [--pid PID] ADDR` measures one echo
//!   server and appends its figures to a results file: bulk echo on 1 and
//!   on 64 connections, 1-byte request/response with p50/p99 latency,
//!   connections per second, and with `--pid` the server's CPU seconds
//!   per GB echoed and its resident memory per idle connection. Every
//!   byte echoed is checked. ADDR may be IPv4 or IPv6; the figures are
//!   recorded with its family.
//! - `tuntcp-bench report FILE` prints the figures of every server in the
//!   file side by side, with ratios to smoltcp and to the kernel over the
//!   same family, and each server's IPv6 figures against its IPv4 ones.
//! - `tuntcp-bench synflood --to ADDR` floods ADDR with spoofed SYNs,
//!   IPv4 or IPv6 (`synflood.rs`), for the hostile tests and floods.sh.
//!
//! `scripts/bench.sh` starts each server in its own network namespace,
//! runs the client there, and prints the report.

mod load;
mod process;
mod report;
mod synflood;

use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Benchmark echo servers: throughput, latency, connections, memory, CPU")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve echo on kernel sockets (a thread per client, threads reused).
    Serve {
        addr: SocketAddr,
        /// The kernel's congestion control for these connections (e.g.
        /// cubic, bbr), set on the listening socket (TCP_CONGESTION);
        /// default: the namespace's.
        #[arg(long)]
        cc: Option<String>,
    },
    /// Measure one echo server and append its figures to --out.
    Run(RunArgs),
    /// Open COUNT connections to ADDR, each proven served, print "ready",
    /// hold them until stdin ends, then check that every hundredth still
    /// echoes (`run --idle` starts several: one process holds only so many
    /// descriptors).
    Hold { addr: SocketAddr, count: usize },
    /// A SYN flood from spoofed sources, IPv4 or IPv6, at one core's
    /// full rate (hping3 --flood speaks IPv4 only); for test namespaces.
    Synflood(synflood::SynFloodArgs),
    /// Print the figures in FILE side by side, with ratios.
    Report {
        file: PathBuf,
        /// The loss benchmark's table (goodput and RTOs).
        #[arg(long)]
        loss: bool,
    },
}

#[derive(Args)]
struct RunArgs {
    /// The echo server, e.g. 192.0.2.2:7 or [2001:db8::2]:7; its family
    /// (IPv4, IPv6) is recorded with the figures.
    addr: SocketAddr,
    /// Its name in the report; `@MTU` at the end pairs it with the smoltcp
    /// row of the same MTU for ratios.
    #[arg(long)]
    name: String,
    /// The server's process id: CPU and memory are read from /proc.
    #[arg(long)]
    pid: Option<u32>,
    /// Where the figures are appended
    /// (`family<TAB>server<TAB>metric<TAB>value`).
    #[arg(long)]
    out: PathBuf,
    /// Megabytes echoed on one connection.
    #[arg(long, default_value_t = 50)]
    bulk_mb: u64,
    /// Runs of the one-connection echo; the median is reported.
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Concurrent connections of the many-flows test (0 skips it).
    #[arg(long, default_value_t = 64)]
    flows: usize,
    /// Megabytes each of them echoes.
    #[arg(long, default_value_t = 1)]
    flow_mb: u64,
    /// Seconds the transaction and connection tests run each (0 skips them).
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Idle connections to hold while measuring memory (0 skips it).
    #[arg(long, default_value_t = 0)]
    idle: usize,
    /// Longest a connection may wait for progress before the run fails.
    #[arg(long, default_value_t = 30.0)]
    stall_seconds: f64,
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve { addr, cc } => serve(addr, cc.as_deref()),
        Command::Run(args) => run(&args),
        Command::Hold { addr, count } => hold(addr, count),
        Command::Report { file, loss } => print_report(&file, loss),
        Command::Synflood(args) => synflood::run(&args),
    };
    if let Err(err) = result {
        eprintln!("tuntcp-bench: {err}");
        std::process::exit(1);
    }
}

fn serve(addr: SocketAddr, cc: Option<&str>) -> io::Result<()> {
    process::raise_fd_limit()?;
    let listener = TcpListener::bind(addr)?;
    if let Some(cc) = cc {
        process::set_congestion_control(&listener, cc)?;
    }
    println!("kernel echo listening on {addr}");
    io::stdout().flush()?;
    // Threads are reused, as by our threaded echo: a new thread per
    // connection would put thread creation into the kernel's conn/s.
    let workers =
        tuntcp::apps::workers::Workers::new("kernel echo", |stream: std::net::TcpStream| {
            let _ = tuntcp::apps::echo::echo_until_eof(&stream);
        });
    for stream in listener.incoming() {
        workers.run(stream?)?;
    }
    Ok(())
}

/// Appends figures to the results file as they are measured, so a run
/// that fails half-way still leaves what it had.
struct Recorder<'a> {
    args: &'a RunArgs,
}

impl Recorder<'_> {
    fn record(&self, metric: &str, value: f64) -> io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.args.out)?;
        // The family comes from the address measured, so a row cannot
        // be labelled with a family it was not measured over.
        let family = report::family_name(&self.args.addr);
        writeln!(file, "{family}\t{}\t{metric}\t{value}", self.args.name)?;
        eprintln!("  {:<20} {family} {metric:<18} {value:.2}", self.args.name);
        Ok(())
    }
}

fn run(args: &RunArgs) -> io::Result<()> {
    process::raise_fd_limit()?;
    let rec = Recorder { args };
    let stall = Duration::from_secs_f64(args.stall_seconds);
    let cpu = || args.pid.map(process::cpu_seconds).transpose();
    let cpu_before = cpu()?;
    let mut echoed = 0u64;

    if args.bulk_mb > 0 {
        let bytes = args.bulk_mb * 1_000_000;
        let mut runs = (0..args.repeat.max(1))
            .map(|_| load::bulk(args.addr, 1, bytes, stall))
            .collect::<io::Result<Vec<f64>>>()?;
        runs.sort_by(f64::total_cmp);
        rec.record("bulk1", runs[runs.len() / 2])?;
        echoed += bytes * runs.len() as u64;
    }
    if args.flows > 0 {
        let bytes = args.flow_mb * 1_000_000;
        rec.record("bulk64", load::bulk(args.addr, args.flows, bytes, stall)?)?;
        echoed += bytes * args.flows as u64;
    }
    if let (Some(before), Some(after)) = (cpu_before, cpu()?) {
        if echoed > 0 {
            rec.record("cpu_s_per_gb", (after - before) / (echoed as f64 / 1e9))?;
        }
    }
    if args.seconds > 0.0 {
        let seconds = Duration::from_secs_f64(args.seconds);
        let tx = load::transactions(args.addr, seconds)?;
        rec.record("rr_per_s", tx.per_second)?;
        rec.record("rr_p50_us", tx.p50_us)?;
        rec.record("rr_p99_us", tx.p99_us)?;
        rec.record("conn_per_s", load::connections(args.addr, seconds)?)?;
    }
    if let (Some(pid), true) = (args.pid, args.idle > 0) {
        measure_idle(&rec, pid)?;
    }
    Ok(())
}

/// Resident memory per idle connection: RSS with `idle` connections open
/// (each proven served) minus RSS before; a sample must still echo after.
/// The connections are held by child processes of at most
/// [`CONNECTIONS_PER_HOLDER`] each, as one process may hold only so many
/// descriptors (the hard limit is often 20,000 or less).
fn measure_idle(rec: &Recorder, pid: u32) -> io::Result<()> {
    let before = process::rss_kib(pid)?;
    let mut holders = Vec::new();
    let mut left = rec.args.idle;
    while left > 0 {
        let count = left.min(CONNECTIONS_PER_HOLDER);
        holders.push(Holder::start(rec.args.addr, count)?);
        left -= count;
    }
    let after = process::rss_kib(pid)?;
    for holder in holders {
        holder.finish()?;
    }
    rec.record("idle_conns", rec.args.idle as f64)?;
    let per_conn = after.saturating_sub(before) as f64 / rec.args.idle as f64;
    rec.record("idle_kib_per_conn", per_conn)
}

/// Connections one `hold` process opens at most.
const CONNECTIONS_PER_HOLDER: usize = 15_000;

/// A `tuntcp-bench hold` child, its connections open.
struct Holder {
    child: std::process::Child,
}

impl Holder {
    /// Starts one and waits until it says its connections are open.
    fn start(addr: SocketAddr, count: usize) -> io::Result<Holder> {
        use std::io::BufRead;
        let mut child = std::process::Command::new(std::env::current_exe()?)
            .args(["hold", &addr.to_string(), &count.to_string()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut line = String::new();
        io::BufReader::new(stdout).read_line(&mut line)?;
        if line.trim() != "ready" {
            let _ = child.kill();
            let status = child.wait()?;
            return Err(io::Error::other(format!(
                "a holder of {count} connections failed ({status})"
            )));
        }
        Ok(Holder { child })
    }

    /// Ends its stdin, so it checks its sample and exits; fails if it did.
    fn finish(mut self) -> io::Result<()> {
        drop(self.child.stdin.take());
        let status = self.child.wait()?;
        if !status.success() {
            return Err(io::Error::other(format!(
                "an idle connection stopped echoing ({status})"
            )));
        }
        Ok(())
    }
}

fn hold(addr: SocketAddr, count: usize) -> io::Result<()> {
    process::raise_fd_limit()?;
    let mut streams = load::open_idle(addr, count)?;
    println!("ready");
    io::stdout().flush()?;
    // Until the measuring process closes our stdin.
    io::copy(&mut io::stdin(), &mut io::sink())?;
    load::sample_echo(&mut streams, 100)?;
    Ok(())
}

fn print_report(file: &PathBuf, loss: bool) -> io::Result<()> {
    let text = std::fs::read_to_string(file)?;
    let results = report::Results::parse(&text)?;
    let table = if loss {
        report::render_loss(&results)
    } else {
        report::render(&results)
    };
    print!("{table}");
    Ok(())
}

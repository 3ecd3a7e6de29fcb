//! Benchmarks for echo servers, run from kernel sockets.
//!
//! `tuntcp-bench serve ADDR` runs the echo app on kernel sockets (the
//! baseline); `tuntcp-bench run NAME=ADDR ...` measures each echo server in
//! turn, in one run, and prints the figures with ratios to the first one.
//! `scripts/bench.sh` sets up the namespace, the servers and the run.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Benchmark echo servers: bulk MB/s, 1-byte transactions/s, connections/s")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve echo on kernel sockets (a thread per client).
    Serve { addr: SocketAddr },
    /// Measure each NAME=ADDR echo server in turn.
    Run {
        /// Echo servers to measure, e.g. kernel=127.0.0.1:7 tuntcp=192.0.2.2:7
        #[arg(required = true)]
        targets: Vec<String>,
        /// Megabytes echoed in the bulk test.
        #[arg(long, default_value_t = 50)]
        bulk_mb: usize,
        /// Seconds each of the transaction and connection tests runs.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
    },
}

/// What one server scored.
struct Score {
    name: String,
    bulk_mb_per_s: f64,
    transactions_per_s: f64,
    connections_per_s: f64,
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve { addr } => serve(addr),
        Command::Run {
            targets,
            bulk_mb,
            seconds,
        } => run(&targets, bulk_mb, Duration::from_secs_f64(seconds)),
    };
    if let Err(err) = result {
        eprintln!("tuntcp-bench: {err}");
        std::process::exit(1);
    }
}

fn serve(addr: SocketAddr) -> io::Result<()> {
    let listener = TcpListener::bind(addr)?;
    println!("kernel echo listening on {addr}");
    io::stdout().flush()?;
    for stream in listener.incoming() {
        let stream = stream?;
        std::thread::spawn(move || tuntcp::apps::echo::echo_until_eof(&stream));
    }
    Ok(())
}

fn run(targets: &[String], bulk_mb: usize, seconds: Duration) -> io::Result<()> {
    let mut scores = Vec::new();
    for target in targets {
        let (name, addr) = target.split_once('=').ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("'{target}' is not NAME=ADDR"),
            )
        })?;
        let addr: SocketAddr = addr.parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("'{addr}' is not IP:PORT"),
            )
        })?;
        eprintln!("measuring {name} at {addr} ...");
        scores.push(Score {
            name: name.to_string(),
            bulk_mb_per_s: bulk_echo(addr, bulk_mb)?,
            transactions_per_s: transactions(addr, seconds)?,
            connections_per_s: connections(addr, seconds)?,
        });
    }
    print_table(&scores);
    Ok(())
}

/// Writes `mb` megabytes while reading the echo back; MB/s of the round trip.
fn bulk_echo(addr: SocketAddr, mb: usize) -> io::Result<f64> {
    let total = mb * 1_000_000;
    let stream = connect(addr)?;
    let writer = stream.try_clone()?;
    let start = Instant::now();
    let sender = std::thread::spawn(move || -> io::Result<()> {
        let chunk = vec![0x5au8; 64 * 1024];
        let mut left = total;
        while left > 0 {
            let n = left.min(chunk.len());
            (&writer).write_all(&chunk[..n])?;
            left -= n;
        }
        writer.shutdown(Shutdown::Write)
    });
    let mut buf = vec![0u8; 256 * 1024];
    let mut received = 0usize;
    while received < total {
        let n = (&stream).read(&mut buf)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("echo ended after {received} of {total} bytes"),
            ));
        }
        received += n;
    }
    let elapsed = start.elapsed();
    sender
        .join()
        .map_err(|_| io::Error::other("sender panicked"))??;
    Ok(total as f64 / 1e6 / elapsed.as_secs_f64())
}

/// 1-byte request, 1-byte response, one at a time, on one connection.
fn transactions(addr: SocketAddr, seconds: Duration) -> io::Result<f64> {
    let mut stream = connect(addr)?;
    stream.set_nodelay(true)?;
    let start = Instant::now();
    let mut count = 0u64;
    let mut byte = [0u8; 1];
    while start.elapsed() < seconds {
        stream.write_all(b"x")?;
        stream.read_exact(&mut byte)?;
        count += 1;
    }
    Ok(count as f64 / start.elapsed().as_secs_f64())
}

/// Full connection lifecycles: connect, 1-byte echo, close.
fn connections(addr: SocketAddr, seconds: Duration) -> io::Result<f64> {
    let start = Instant::now();
    let mut count = 0u64;
    let mut byte = [0u8; 1];
    while start.elapsed() < seconds {
        let mut stream = connect(addr)?;
        stream.write_all(b"x")?;
        stream.read_exact(&mut byte)?;
        drop(stream);
        count += 1;
    }
    Ok(count as f64 / start.elapsed().as_secs_f64())
}

fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    Ok(stream)
}

fn print_table(scores: &[Score]) {
    let Some(base) = scores.first() else { return };
    println!(
        "{:<10} {:>12} {:>8} {:>14} {:>8} {:>14} {:>8}",
        "server", "bulk MB/s", "ratio", "1-byte tx/s", "ratio", "conn/s", "ratio"
    );
    for s in scores {
        println!(
            "{:<10} {:>12.1} {:>8.3} {:>14.0} {:>8.3} {:>14.0} {:>8.3}",
            s.name,
            s.bulk_mb_per_s,
            s.bulk_mb_per_s / base.bulk_mb_per_s,
            s.transactions_per_s,
            s.transactions_per_s / base.transactions_per_s,
            s.connections_per_s,
            s.connections_per_s / base.connections_per_s,
        );
    }
    println!("(ratios are to {})", base.name);
}

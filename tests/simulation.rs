//! Seeded simulations: an echo exchange between two engines over a
//! [`MemoryLink`](tuntcp::device::memory::MemoryLink), for every engine
//! pairing in `common::sim::pairings()`, over a perfect and a faulty link.
//!
//! A failure names the pairing and seed and how to replay that one run
//! (`SIM_SEED=n`). `SIM_SEEDS=n` runs more (or fewer) seeds.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use common::sim::{describe_run, pairings, seeds, server_addr, Limits, Pairing, Sim};
use tuntcp::device::memory::LinkConfig;
use tuntcp::engine::{ApiError, ConnId, Engine, ListenerId};
use tuntcp::rng::SplitMix64;

const ECHO_PORT: u16 = 7;
const READ_CHUNK: usize = 8192;

/// The echo scenario's application state, on both sides.
struct EchoRun {
    rng: SplitMix64,
    data: Vec<u8>,
    listener: ListenerId,
    client: ConnId,
    client_sent: usize,
    client_shut: bool,
    client_got: Vec<u8>,
    client_eof: bool,
    server: Option<ConnId>,
    server_got: Vec<u8>,
    server_echoed: usize,
    server_eof: bool,
    server_shut: bool,
}

impl EchoRun {
    fn start(sim: &mut Sim, max_len: u64) -> Result<EchoRun, String> {
        let mut rng = SplitMix64::new(sim.seed ^ 0xda7a);
        let mut data = vec![0u8; rng.below(max_len + 1) as usize];
        rng.fill(&mut data);
        let listener = sim
            .server
            .listen(server_addr(ECHO_PORT).into(), 4)
            .map_err(|e| format!("listen: {e}"))?;
        let client = sim
            .client
            .connect(sim.now, server_addr(ECHO_PORT).into(), None)
            .map_err(|e| format!("connect: {e}"))?;
        Ok(EchoRun {
            rng,
            data,
            listener,
            client,
            client_sent: 0,
            client_shut: false,
            client_got: Vec::new(),
            client_eof: false,
            server: None,
            server_got: Vec::new(),
            server_echoed: 0,
            server_eof: false,
            server_shut: false,
        })
    }

    /// Client: once connected, writes the data in random sizes, then
    /// half-closes; reads the echo until EOF throughout.
    fn client_turn(&mut self, sim: &mut Sim) -> Result<(), String> {
        match sim.client.connect_status(self.client) {
            Err(ApiError::WouldBlock) => return Ok(()),
            Err(e) => return Err(format!("client connect: {e}")),
            Ok(()) => {}
        }
        while self.client_sent < self.data.len() {
            let size = 1 + self.rng.below(4096) as usize;
            let end = (self.client_sent + size).min(self.data.len());
            match sim
                .client
                .send(self.client, &self.data[self.client_sent..end])
            {
                Ok(n) => self.client_sent += n,
                Err(ApiError::WouldBlock) => break,
                Err(e) => return Err(format!("client send: {e}")),
            }
        }
        if self.client_sent == self.data.len() && !self.client_shut {
            sim.client
                .shutdown_write(self.client)
                .map_err(|e| format!("client shutdown_write: {e}"))?;
            self.client_shut = true;
        }
        self.client_eof |= read_available(sim.client.as_mut(), self.client, &mut self.client_got)
            .map_err(|e| format!("client recv: {e}"))?;
        Ok(())
    }

    /// Server: accepts, echoes what it reads, and once it has read EOF and
    /// echoed everything, closes its side.
    fn server_turn(&mut self, sim: &mut Sim) -> Result<(), String> {
        let conn = match self.server {
            Some(conn) => conn,
            None => match sim.server.accept(self.listener) {
                Ok(conn) => *self.server.insert(conn),
                Err(ApiError::WouldBlock) => return Ok(()),
                Err(e) => return Err(format!("server accept: {e}")),
            },
        };
        self.server_eof |= read_available(sim.server.as_mut(), conn, &mut self.server_got)
            .map_err(|e| format!("server recv: {e}"))?;
        while self.server_echoed < self.server_got.len() {
            match sim
                .server
                .send(conn, &self.server_got[self.server_echoed..])
            {
                Ok(n) => self.server_echoed += n,
                Err(ApiError::WouldBlock) => break,
                Err(e) => return Err(format!("server send: {e}")),
            }
        }
        if self.server_eof && self.server_echoed == self.server_got.len() && !self.server_shut {
            sim.server
                .shutdown_write(conn)
                .map_err(|e| format!("server shutdown_write: {e}"))?;
            self.server_shut = true;
        }
        Ok(())
    }

    /// Both sides read EOF and both connections reached their end state.
    fn finished(&self, sim: &Sim) -> Result<bool, String> {
        let (Some(server), true, true) = (self.server, self.client_eof, self.server_shut) else {
            return Ok(false);
        };
        let ended = |engine: &dyn Engine, conn| {
            engine
                .conn_info(conn)
                .map(|info| matches!(info.state, "CLOSED" | "TIME-WAIT"))
                .map_err(|e| format!("conn_info: {e}"))
        };
        Ok(ended(sim.client.as_ref(), self.client)? && ended(sim.server.as_ref(), server)?)
    }

    /// Where the run stands, for failure messages.
    fn progress(&self, sim: &Sim) -> String {
        let state = |engine: &dyn Engine, conn: Option<ConnId>| {
            conn.and_then(|c| engine.conn_info(c).ok())
                .map_or("-", |info| info.state)
        };
        format!(
            "client {} (sent {}/{}, shut {}, got {}, eof {}), server {} (got {}, echoed {}, eof {}, shut {}), link {:?}",
            state(sim.client.as_ref(), Some(self.client)),
            self.client_sent,
            self.data.len(),
            self.client_shut,
            self.client_got.len(),
            self.client_eof,
            state(sim.server.as_ref(), self.server),
            self.server_got.len(),
            self.server_echoed,
            self.server_eof,
            self.server_shut,
            sim.link.stats()
        )
    }

    fn check_bytes(&self) -> Result<(), String> {
        compare("server received", &self.data, &self.server_got)?;
        compare("client received", &self.data, &self.client_got)
    }
}

/// Reads everything available; true once EOF was read.
fn read_available(
    engine: &mut dyn Engine,
    conn: ConnId,
    into: &mut Vec<u8>,
) -> Result<bool, ApiError> {
    let mut buf = [0u8; READ_CHUNK];
    loop {
        match engine.recv(conn, &mut buf) {
            Ok(0) => return Ok(true),
            Ok(n) => into.extend_from_slice(&buf[..n]),
            Err(ApiError::WouldBlock) => return Ok(false),
            Err(e) => return Err(e),
        }
    }
}

/// Every byte once and in order, or where the first difference is.
fn compare(what: &str, sent: &[u8], got: &[u8]) -> Result<(), String> {
    if sent == got {
        return Ok(());
    }
    let first_diff = sent.iter().zip(got).position(|(a, b)| a != b);
    Err(format!(
        "{what} {} of {} bytes; first difference at {first_diff:?}",
        got.len(),
        sent.len()
    ))
}

/// What the runs of one pairing added up to, printed so that a change in
/// loss recovery shows as a change in goodput, resent bytes or timeouts.
#[derive(Default)]
struct Summary {
    runs: u64,
    bytes: u64,
    virtual_time: Duration,
    retransmitted_bytes: u64,
    timeouts: u64,
}

impl Summary {
    fn add(&mut self, run: &Summary) {
        self.runs += run.runs;
        self.bytes += run.bytes;
        self.virtual_time += run.virtual_time;
        self.retransmitted_bytes += run.retransmitted_bytes;
        self.timeouts += run.timeouts;
    }

    /// Goodput in echoed bytes per second of virtual time; retransmitted
    /// bytes and RTOs of both ends (smoltcp counts neither: 0 for it).
    fn line(&self, test: &str, pairing: &str) -> String {
        let secs = self.virtual_time.as_secs_f64().max(1e-9);
        format!(
            "{test} {pairing}: {} runs, {} bytes echoed in {:.1?} virtual: {:.0} KB/s, {} bytes retransmitted, {} RTOs",
            self.runs,
            self.bytes,
            self.virtual_time,
            self.bytes as f64 / secs / 1e3,
            self.retransmitted_bytes,
            self.timeouts
        )
    }
}

/// One echo run; `Err` says what went wrong.
fn echo_run(
    pairing: &Pairing,
    link: LinkConfig,
    seed: u64,
    max_len: u64,
) -> Result<Summary, String> {
    let mut sim = Sim::new(pairing, link, seed);
    let mut run = EchoRun::start(&mut sim, max_len)?;
    sim.drive_until(Limits::default(), |sim| {
        run.client_turn(sim)?;
        run.server_turn(sim)?;
        run.finished(sim)
    })
    .map_err(|e| format!("{e}\n    {}", run.progress(&sim)))?;
    run.check_bytes()?;
    if let Some(server) = run.server {
        sim.server.close(server);
    }
    sim.client.close(run.client);
    sim.server.close_listener(run.listener);
    let (client, server) = (sim.client.stats(), sim.server.stats());
    Ok(Summary {
        runs: 1,
        bytes: run.data.len() as u64,
        virtual_time: sim.now - tuntcp::time::Instant::ZERO,
        retransmitted_bytes: client.retransmitted_bytes + server.retransmitted_bytes,
        timeouts: [client, server]
            .iter()
            .filter_map(|stats| stats.retransmission_timeouts)
            .sum(),
    })
}

/// Runs `echo_run` for every pairing and seed; panics listing the failures.
fn run_seeds(
    test: &str,
    first_seed: u64,
    count: u64,
    link: impl Fn(&mut SplitMix64) -> LinkConfig,
    max_len: u64,
) {
    let mut failures = Vec::new();
    let mut runs = 0;
    for pairing in pairings() {
        let mut summary = Summary::default();
        for seed in seeds(first_seed, count) {
            runs += 1;
            let config = link(&mut SplitMix64::new(seed));
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                echo_run(&pairing, config, seed, max_len)
            }));
            let error = match outcome {
                Ok(Ok(run)) => {
                    summary.add(&run);
                    continue;
                }
                Ok(Err(error)) => error,
                Err(panic) => format!("panicked: {}", panic_text(&panic)),
            };
            let run = describe_run(pairing.name, seed, test);
            eprintln!("FAILED {run}\n    {error}");
            failures.push(run);
        }
        eprintln!("{}", summary.line(test, pairing.name));
    }
    eprintln!("{test}: {} of {runs} runs passed", runs - failures.len());
    assert!(
        failures.is_empty(),
        "{} of {runs} runs failed; first: {}",
        failures.len(),
        failures[0]
    );
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    let text = panic.downcast_ref::<String>().map(String::as_str);
    text.or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)")
        .to_string()
}

/// 0.5 to 20 ms one way, chosen by the seed.
fn random_latency(rng: &mut SplitMix64) -> Duration {
    Duration::from_micros(500 + rng.below(19_500))
}

#[test]
fn echo_over_a_perfect_link() {
    run_seeds(
        "echo_over_a_perfect_link",
        0,
        300,
        |rng| LinkConfig::perfect(random_latency(rng)),
        256 * 1024,
    );
}

#[test]
fn echo_over_a_faulty_link() {
    run_seeds(
        "echo_over_a_faulty_link",
        1_000_000,
        300,
        |rng| LinkConfig::faulty(random_latency(rng)),
        128 * 1024,
    );
}

#[test]
fn a_stuck_run_fails_with_its_seed_instead_of_hanging() {
    // Nobody listens and every packet is lost: the handshake cannot finish.
    let link = LinkConfig {
        loss: 1.0,
        ..LinkConfig::perfect(Duration::from_millis(1))
    };
    let pairing = &pairings()[0];
    let mut sim = Sim::new(pairing, link, 42);
    let conn = sim
        .client
        .connect(sim.now, server_addr(ECHO_PORT).into(), None)
        .unwrap();
    let limits = Limits {
        virtual_time: Duration::from_secs(30),
        steps: 100_000,
    };
    let outcome = sim.drive_until(limits, |sim| Ok(sim.client.connect_status(conn).is_ok()));
    let error = outcome.expect_err("cannot connect over a dead link");
    assert!(error.starts_with("stuck"), "{error}");
    assert!(sim.describe("x").contains("seed 42"));
}

//! A two-engine simulation on virtual time (quinn-proto's `Pair`, for TCP).
//!
//! [`Sim`] owns a client engine (192.0.2.1) and a server engine
//! (192.0.2.2) as `Box<dyn Engine>`, so any pairing of engines runs the
//! same scenarios, and a [`MemoryLink`] between them. [`Sim::step`] moves
//! packets and fires timers; when nothing is due it jumps virtual time to
//! the earliest event (a packet arriving or an engine timer). Nothing
//! sleeps: an hour of retransmission timers takes microseconds.
//!
//! Every run is named by its pairing and seed; [`Sim::drive_until`] is
//! bounded, so a stuck run fails with both printed instead of hanging.

#![allow(dead_code)] // each test binary uses a different part

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use tuntcp::device::memory::{LinkConfig, MemoryLink, Side};
use tuntcp::engine::Engine;
use tuntcp::reference::{SmolConfig, SmolEngine};
use tuntcp::time::Instant;

pub const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
pub const SERVER_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

/// Builds an engine for an address; the seed feeds its ISN generator.
pub type EngineMaker = fn(Ipv4Addr, u64) -> Box<dyn Engine>;

/// Which engine plays the client and which the server.
#[derive(Clone, Copy)]
pub struct Pairing {
    pub name: &'static str,
    pub client: EngineMaker,
    pub server: EngineMaker,
}

pub fn smoltcp(addr: Ipv4Addr, seed: u64) -> Box<dyn Engine> {
    let mut config = SmolConfig::new(addr);
    config.random_seed = seed ^ u64::from(u32::from(addr));
    Box::new(SmolEngine::new(config))
}

/// Our engine, its ISN secret derived from the seed so a run replays exactly.
pub fn tuntcp(addr: Ipv4Addr, seed: u64) -> Box<dyn Engine> {
    let mut config = tuntcp::engine::StackConfig::new(addr);
    let mut secret = [0u8; 16];
    secret[..8].copy_from_slice(&seed.to_le_bytes());
    secret[8..].copy_from_slice(&u64::from(u32::from(addr)).to_le_bytes());
    config.isn_secret = tuntcp::engine::isn::IsnSecret(secret);
    Box::new(tuntcp::engine::Stack::new(config))
}

/// Every pairing the simulation tests run. Adding our engine is one line
/// per pairing (uncomment `tuntcp` above, then e.g.
/// `Pairing { name: "tuntcp->smoltcp", client: tuntcp, server: smoltcp },`
/// `Pairing { name: "smoltcp->tuntcp", client: smoltcp, server: tuntcp },`
/// `Pairing { name: "tuntcp->tuntcp", client: tuntcp, server: tuntcp },`).
pub fn pairings() -> Vec<Pairing> {
    vec![
        Pairing {
            name: "smoltcp->smoltcp",
            client: smoltcp,
            server: smoltcp,
        },
        Pairing {
            name: "tuntcp->tuntcp",
            client: tuntcp,
            server: tuntcp,
        },
        Pairing {
            name: "tuntcp->smoltcp",
            client: tuntcp,
            server: smoltcp,
        },
        Pairing {
            name: "smoltcp->tuntcp",
            client: smoltcp,
            server: tuntcp,
        },
    ]
}

/// How far a run may go before it counts as stuck.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub virtual_time: Duration,
    pub steps: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            virtual_time: Duration::from_secs(600),
            steps: 2_000_000,
        }
    }
}

/// Two engines, a link, and a virtual clock.
pub struct Sim {
    pub client: Box<dyn Engine>,
    pub server: Box<dyn Engine>,
    pub link: MemoryLink,
    pub now: Instant,
    pub seed: u64,
    pub pairing: &'static str,
    steps: u64,
    buf: Vec<u8>,
}

impl Sim {
    /// `RUST_LOG=trace` shows every segment of a replayed run.
    pub fn new(pairing: &Pairing, link: LinkConfig, seed: u64) -> Sim {
        let _ = env_logger::builder().is_test(true).try_init();
        Sim {
            client: (pairing.client)(CLIENT_IP, seed),
            server: (pairing.server)(SERVER_IP, seed.wrapping_add(1)),
            // A different stream than the engines' own, from the same seed.
            link: MemoryLink::new(link, seed ^ 0x11_1111_1111),
            now: Instant::ZERO,
            seed,
            pairing: pairing.name,
            steps: 0,
            buf: vec![0u8; 1500],
        }
    }

    /// One round: send what both engines have, deliver what is due, fire
    /// due timers. If none of that happened, jump time to the next event.
    /// Returns false when nothing at all is pending (both sides idle).
    pub fn step(&mut self) -> bool {
        self.steps += 1;
        let mut busy = self.flush();
        let now = self.now;
        while let Some((side, packet)) = self.link.deliver(now) {
            self.engine(side).handle_packet(now, &packet);
            busy = true;
        }
        for side in [Side::A, Side::B] {
            let now = self.now;
            let engine = self.engine(side);
            if engine.poll_timeout().is_some_and(|at| at <= now) {
                engine.handle_timeout(now);
                busy = true;
            }
        }
        busy |= self.flush();
        if busy {
            return true;
        }
        match self.next_event() {
            Some(at) => {
                self.now = self.now.max(at);
                true
            }
            None => false,
        }
    }

    /// Sends everything both engines have due; true if anything was sent.
    fn flush(&mut self) -> bool {
        let mut sent = false;
        for side in [Side::A, Side::B] {
            let now = self.now;
            let mut buf = std::mem::take(&mut self.buf);
            while let Some(len) = self.engine(side).poll_transmit(now, &mut buf) {
                self.link.send(now, side, &buf[..len]);
                sent = true;
            }
            self.buf = buf;
        }
        sent
    }

    fn next_event(&mut self) -> Option<Instant> {
        let timers = [self.client.poll_timeout(), self.server.poll_timeout()];
        timers
            .into_iter()
            .chain([self.link.next_delivery()])
            .flatten()
            .min()
    }

    /// Side A is the client, side B the server.
    fn engine(&mut self, side: Side) -> &mut dyn Engine {
        match side {
            Side::A => self.client.as_mut(),
            Side::B => self.server.as_mut(),
        }
    }

    /// Steps until `done` (called after every step, free to make
    /// application calls) returns `Ok(true)`. Fails, naming the run, when
    /// `done` returns an error, or the limits are hit, or everything goes
    /// idle first.
    pub fn drive_until(
        &mut self,
        limits: Limits,
        mut done: impl FnMut(&mut Sim) -> Result<bool, String>,
    ) -> Result<(), String> {
        let deadline = self.now + limits.virtual_time;
        let first_step = self.steps;
        loop {
            if done(self)? {
                return Ok(());
            }
            if self.now > deadline || self.steps - first_step > limits.steps {
                return Err(format!(
                    "stuck: limits {limits:?} reached at {} after {} steps",
                    self.now,
                    self.steps - first_step
                ));
            }
            if !self.step() {
                return Err(format!("idle at {} before the scenario finished", self.now));
            }
        }
    }

    /// How to name and replay this run in a failure message.
    pub fn describe(&self, test: &str) -> String {
        describe_run(self.pairing, self.seed, test)
    }
}

pub fn describe_run(pairing: &str, seed: u64, test: &str) -> String {
    format!(
        "pairing {pairing}, seed {seed}; replay: SIM_SEED={seed} cargo test --test simulation {test} -- --nocapture"
    )
}

/// The seeds to run: `SIM_SEED=n` runs only seed n; `SIM_SEEDS=n` changes
/// how many (from `first`); otherwise `count` seeds from `first`.
pub fn seeds(first: u64, count: u64) -> Vec<u64> {
    if let Some(seed) = env_number("SIM_SEED") {
        return vec![seed];
    }
    let count = env_number("SIM_SEEDS").unwrap_or(count);
    (first..first + count).collect()
}

fn env_number(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value} is not a number")),
    )
}

pub fn server_addr(port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(SERVER_IP, port)
}

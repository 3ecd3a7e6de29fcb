//! A test bench for hostile input: one engine under test (the server at
//! 192.0.2.2, echo port 7) and scripted peers (clients at 192.0.2.1) whose
//! TCP is written here by hand, so a test knows every sequence number and
//! can aim bad packets at a live connection.
//!
//! The test itself plays the echo application: everything the engine hands
//! to `recv` on a peer's connection goes back through `send`. Every packet
//! the engine emits is checked (well-formed IPv4/TCP or ICMP, checksums
//! right, from our address) and handed to the peer it is addressed to.
//! Nothing sleeps: when nothing is due, virtual time jumps to the engine's
//! next timer.

#![allow(dead_code)] // each test binary uses a different part

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use tuntcp::engine::{ApiError, ConnId, Engine, ListenerId};
use tuntcp::reference::{SmolConfig, SmolEngine};
use tuntcp::time::Instant;

use super::craft::{self, Parsed, ParsedTcp, Segment, ACK, FIN, PSH, RST, SYN};

pub const SERVER_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
pub const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
pub const SERVER: SocketAddrV4 = SocketAddrV4::new(SERVER_IP, 7);
pub const LISTEN_BACKLOG: usize = 64;
/// How long a peer waits for an ACK before sending its data again.
const PEER_RTO: Duration = Duration::from_millis(500);

/// Builds the engine under test from a seed.
pub type Maker = fn(u64) -> Box<dyn Engine>;

pub fn tuntcp_engine(seed: u64) -> Box<dyn Engine> {
    let mut config = tuntcp::engine::StackConfig::new(SERVER_IP);
    let mut secret = [0u8; 16];
    secret[..8].copy_from_slice(&seed.to_le_bytes());
    config.isn_secret = tuntcp::engine::isn::IsnSecret(secret);
    // The SYN queue as long as the accept queue, as on Linux with
    // cookies on, so half-open connections stay within LISTEN_BACKLOG.
    config.syn_backlog = LISTEN_BACKLOG;
    Box::new(tuntcp::engine::Stack::new(config))
}

pub fn smoltcp_engine(seed: u64) -> Box<dyn Engine> {
    let mut config = SmolConfig::new(SERVER_IP);
    config.random_seed = seed;
    Box::new(SmolEngine::new(config))
}

pub const ENGINES: [(&str, Maker); 2] = [("tuntcp", tuntcp_engine), ("smoltcp", smoltcp_engine)];

/// A scripted client with one connection to the engine's echo port.
#[derive(Debug)]
pub struct Peer {
    pub addr: SocketAddrV4,
    /// The engine-side handle, once accepted.
    pub conn: Option<ConnId>,
    pub snd_nxt: u32,
    pub rcv_nxt: u32,
    /// Bytes the peer sent that the engine has not acknowledged yet.
    unacked: Vec<u8>,
    last_sent: Instant,
    /// Everything the engine sent on this connection, in order.
    pub received: Vec<u8>,
    /// Bytes the echo application read but could not send yet.
    app_backlog: Vec<u8>,
    pub reset_seen: bool,
    pub fin_seen: bool,
    /// `recv` said end of stream or failed.
    pub app_done: Option<Result<(), ApiError>>,
    /// Times the engine acknowledged bytes this peer never sent (someone
    /// else's data was taken as the peer's).
    pub resyncs: u32,
    /// The SYN-ACK arrived and was acknowledged.
    synchronized: bool,
}

impl Peer {
    fn new(addr: SocketAddrV4, isn: u32) -> Peer {
        Peer {
            addr,
            conn: None,
            snd_nxt: isn,
            rcv_nxt: 0,
            unacked: Vec::new(),
            last_sent: Instant::ZERO,
            received: Vec::new(),
            app_backlog: Vec::new(),
            reset_seen: false,
            fin_seen: false,
            app_done: None,
            resyncs: 0,
            synchronized: false,
        }
    }

    pub fn segment(&self, flags: u8) -> Segment {
        Segment::new(self.addr, SERVER, self.snd_nxt, self.rcv_nxt, flags)
    }

    /// Whether the connection still carries data both ways.
    pub fn is_alive(&self) -> bool {
        self.conn.is_some() && !self.reset_seen && !self.fin_seen && self.app_done.is_none()
    }

    /// Takes one segment the engine sent to this peer; returns the ACK to
    /// send back, if the segment occupied sequence space.
    fn absorb(&mut self, seg: &ParsedTcp) -> Option<Segment> {
        if !self.synchronized {
            return self.absorb_in_syn_sent(seg);
        }
        if seg.has(RST) {
            self.reset_seen = true;
            return None;
        }
        if seg.has(ACK) {
            let acked = seg
                .ack
                .wrapping_sub(self.snd_nxt.wrapping_sub(self.unacked.len() as u32));
            if (acked as usize) <= self.unacked.len() {
                self.unacked.drain(..acked as usize);
            } else if seg.ack.wrapping_sub(self.snd_nxt) < 0x2_0000 {
                // The engine took bytes we never sent as ours.
                self.resyncs += 1;
                self.unacked.clear();
                self.snd_nxt = seg.ack;
            }
        }
        let mut start = seg.seq.wrapping_add(u32::from(seg.has(SYN)));
        let already = self.rcv_nxt.wrapping_sub(start) as usize;
        if already < seg.payload.len() {
            self.received.extend_from_slice(&seg.payload[already..]);
            self.rcv_nxt = self
                .rcv_nxt
                .wrapping_add((seg.payload.len() - already) as u32);
        }
        start = start.wrapping_add(seg.payload.len() as u32);
        if seg.has(FIN) && start == self.rcv_nxt {
            self.rcv_nxt = self.rcv_nxt.wrapping_add(1);
            self.fin_seen = true;
        }
        (seg.seg_len() > 0).then(|| self.segment(ACK))
    }
}

impl Peer {
    /// RFC 9293 §3.10.7.3 SYN-SENT, as a real client does it.
    fn absorb_in_syn_sent(&mut self, seg: &ParsedTcp) -> Option<Segment> {
        let acceptable = seg.has(ACK) && seg.ack == self.snd_nxt.wrapping_add(1);
        if seg.has(RST) {
            // Refused; `open_peer` tries again.
            return None;
        }
        if seg.has(ACK) && !acceptable {
            // A stale half-open connection on this tuple (made by an
            // earlier spoofed SYN): reset it (§3.5, half-open recovery).
            let mut rst = Segment::new(self.addr, SERVER, seg.ack, 0, RST);
            rst.window = 0;
            return Some(rst);
        }
        if seg.has(SYN) && acceptable {
            self.synchronized = true;
            self.snd_nxt = seg.ack;
            self.rcv_nxt = seg.seq.wrapping_add(1);
            return Some(self.segment(ACK));
        }
        None
    }
}

/// What a connection did when asked to echo a marker.
#[derive(Debug, PartialEq, Eq)]
pub enum Echo {
    /// The marker came back as the next bytes, nothing else.
    Exact,
    /// The marker came back, after bytes the peer never sent.
    AfterForeignBytes,
    /// The connection was reset or closed.
    Dead,
    /// Alive, but the marker did not come back in time.
    Stalled,
}

pub struct Bench {
    pub engine: Box<dyn Engine>,
    pub name: &'static str,
    pub now: Instant,
    pub listener: ListenerId,
    pub peers: Vec<Peer>,
    buf: Vec<u8>,
    /// Packets the engine sent to addresses no peer has (RSTs to spoofed
    /// sources, SYN-ACKs to flooders, ...), for the tests to look at.
    pub stray: Vec<ParsedTcp>,
    /// All packets to addresses no peer has.
    pub stray_count: u64,
    pub icmp_out: u64,
    /// Connections accepted that belong to no peer (spoofed handshakes).
    pub foreign_accepts: u64,
}

impl Bench {
    pub fn new(name: &'static str, maker: Maker, seed: u64) -> Bench {
        let _ = env_logger::builder().is_test(true).try_init();
        let mut engine = maker(seed);
        let listener = engine
            .listen(SERVER.into(), LISTEN_BACKLOG)
            .expect("listen on the echo port");
        Bench {
            engine,
            name,
            now: Instant::from_secs(1),
            listener,
            peers: Vec::new(),
            buf: vec![0u8; 1500],
            stray: Vec::new(),
            stray_count: 0,
            icmp_out: 0,
            foreign_accepts: 0,
        }
    }

    /// Feeds one packet and checks the engine's direct answer: at most
    /// `max_out` well-formed packets. Returns how many it sent.
    pub fn inject(&mut self, packet: &[u8], max_out: usize) -> Result<usize, String> {
        self.engine.handle_packet(self.now, packet);
        self.exchange(max_out)
    }

    /// Drains the engine's output (at most `max_out` packets, else an
    /// error), delivers it to the peers and feeds their ACKs back, until
    /// neither side has anything more to say at this instant.
    pub fn exchange(&mut self, max_out: usize) -> Result<usize, String> {
        let mut sent = 0;
        loop {
            let mut replies = Vec::new();
            while let Some(len) = self.engine.poll_transmit(self.now, &mut self.buf) {
                sent += 1;
                if sent > max_out {
                    return Err(format!(
                        "{} sent more than {max_out} packets for one input",
                        self.name
                    ));
                }
                let packet = self.buf[..len].to_vec();
                replies.extend(self.route(&packet)?);
            }
            if replies.is_empty() {
                return Ok(sent);
            }
            for reply in replies {
                self.engine.handle_packet(self.now, &reply.build());
            }
        }
    }

    /// Checks one outbound packet and hands it to its peer.
    fn route(&mut self, packet: &[u8]) -> Result<Option<Segment>, String> {
        let parsed = craft::parse_strict(packet).map_err(|why| {
            format!(
                "{} sent a malformed packet ({why}): {packet:02x?}",
                self.name
            )
        })?;
        match parsed {
            Parsed::Icmp(..) => {
                self.icmp_out += 1;
                Ok(None)
            }
            Parsed::Tcp(seg) => {
                if *seg.src.ip() != SERVER_IP {
                    return Err(format!("{} sent from {}: {seg:?}", self.name, seg.src));
                }
                match self
                    .peers
                    .iter_mut()
                    .find(|p| p.addr == seg.dst && seg.src == SERVER)
                {
                    Some(peer) => Ok(peer.absorb(&seg)),
                    None => {
                        // Only SYN-ACKs are kept (the flood test counts
                        // them), and only so many: the bench must not be
                        // what grows.
                        self.stray_count += 1;
                        if seg.has(SYN) && self.stray.len() < 100_000 {
                            self.stray.push(seg);
                        }
                        Ok(None)
                    }
                }
            }
        }
    }

    /// Runs due timers. After `handle_timeout(now)` and draining, the next
    /// timer must lie in the future, or a driver would spin.
    pub fn fire_timers(&mut self, max_out: usize) -> Result<(), String> {
        for _ in 0..3 {
            match self.engine.poll_timeout() {
                Some(at) if at <= self.now => {
                    self.engine.handle_timeout(self.now);
                    self.exchange(max_out)?;
                }
                _ => return Ok(()),
            }
        }
        Err(format!(
            "{}: busy loop, poll_timeout {:?} stays at or before now {} after handle_timeout",
            self.name,
            self.engine.poll_timeout(),
            self.now
        ))
    }

    /// The echo application and the peers' retransmissions, once.
    fn run_apps(&mut self) {
        let mut buf = [0u8; 4096];
        for peer in &mut self.peers {
            let Some(conn) = peer.conn else { continue };
            while peer.app_done.is_none() {
                match self.engine.recv(conn, &mut buf) {
                    Ok(0) => peer.app_done = Some(Ok(())),
                    Ok(n) => peer.app_backlog.extend_from_slice(&buf[..n]),
                    Err(ApiError::WouldBlock) => break,
                    Err(err) => peer.app_done = Some(Err(err)),
                }
            }
            while !peer.app_backlog.is_empty() {
                match self.engine.send(conn, &peer.app_backlog) {
                    Ok(n) => drop(peer.app_backlog.drain(..n)),
                    Err(_) => break,
                }
            }
            if !peer.unacked.is_empty() && self.now - peer.last_sent >= PEER_RTO {
                let mut seg = peer.segment(ACK | PSH);
                seg.seq = peer.snd_nxt.wrapping_sub(peer.unacked.len() as u32);
                seg.payload = peer.unacked.clone();
                peer.last_sent = self.now;
                self.engine.handle_packet(self.now, &seg.build());
            }
        }
    }

    /// Lets everything run (apps, packets, timers, jumping virtual time)
    /// until `done` or until `horizon` of virtual time has passed.
    pub fn run_until(
        &mut self,
        horizon: Duration,
        mut done: impl FnMut(&Bench) -> bool,
    ) -> Result<bool, String> {
        let deadline = self.now + horizon;
        for _ in 0..100_000 {
            self.run_apps();
            self.exchange(10_000)?;
            self.fire_timers(10_000)?;
            if done(self) {
                return Ok(true);
            }
            let peer_due = self
                .peers
                .iter()
                .filter(|p| !p.unacked.is_empty())
                .map(|p| p.last_sent + PEER_RTO)
                .min();
            let next = [self.engine.poll_timeout(), peer_due]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(at) if at <= deadline => self.now = self.now.max(at),
                _ => {
                    self.now = deadline;
                    self.run_apps();
                    self.exchange(10_000)?;
                    return Ok(done(self));
                }
            }
        }
        Err(format!(
            "{}: run_until did not settle in 100000 steps",
            self.name
        ))
    }

    /// Opens a connection from `addr` the way a client does (SYN, resent
    /// with backoff, until accepted; at most `patience` of virtual time).
    /// Returns the peer's index.
    pub fn open_peer(
        &mut self,
        addr: SocketAddrV4,
        isn: u32,
        patience: Duration,
    ) -> Result<usize, String> {
        self.peers.retain(|p| p.addr != addr);
        self.peers.push(Peer::new(addr, isn));
        let index = self.peers.len() - 1;
        let deadline = self.now + patience;
        let mut backoff = Duration::from_secs(1);
        while self.now <= deadline {
            if !self.peers[index].synchronized {
                let mut syn = Segment::new(addr, SERVER, isn, 0, SYN);
                syn.options = vec![2, 4, 0x05, 0xb4];
                self.engine.handle_packet(self.now, &syn.build());
            }
            self.exchange(10_000)?;
            if self.try_accept(index)? {
                return Ok(index);
            }
            self.run_until(backoff, |b| b.peers[index].synchronized)?;
            if self.try_accept(index)? {
                return Ok(index);
            }
            backoff = (backoff * 2).min(Duration::from_secs(16));
        }
        Err(format!(
            "{}: {addr} was not served within {patience:?}",
            self.name
        ))
    }

    /// Accepts every waiting connection; true once the peer's is among them.
    fn try_accept(&mut self, index: usize) -> Result<bool, String> {
        loop {
            match self.engine.accept(self.listener) {
                Ok(conn) => {
                    let info = self.engine.conn_info(conn).map_err(|e| e.to_string())?;
                    match self
                        .peers
                        .iter_mut()
                        .find(|p| SocketAddr::V4(p.addr) == info.remote)
                    {
                        Some(peer) => peer.conn = Some(conn),
                        None => {
                            self.foreign_accepts += 1;
                            self.engine.abort(conn);
                        }
                    }
                }
                Err(ApiError::WouldBlock) => return Ok(self.peers[index].conn.is_some()),
                Err(err) => return Err(format!("{}: accept: {err}", self.name)),
            }
        }
    }

    /// Sends `marker` from a peer and waits (at most `horizon` of virtual
    /// time) for it to come back.
    pub fn echo(&mut self, index: usize, marker: &[u8], horizon: Duration) -> Result<Echo, String> {
        if !self.peers[index].is_alive() {
            return Ok(Echo::Dead);
        }
        let mark = self.peers[index].received.len();
        let resyncs = self.peers[index].resyncs;
        let peer = &mut self.peers[index];
        let mut seg = peer.segment(ACK | PSH);
        seg.payload = marker.to_vec();
        peer.snd_nxt = peer.snd_nxt.wrapping_add(marker.len() as u32);
        peer.unacked.extend_from_slice(marker);
        peer.last_sent = self.now;
        self.engine.handle_packet(self.now, &seg.build());
        let came_back = |b: &Bench| {
            let p = &b.peers[index];
            !p.is_alive() || contains(&p.received[mark..], marker)
        };
        self.run_until(horizon, came_back)?;
        let peer = &self.peers[index];
        let got = &peer.received[mark..];
        Ok(if got == marker && peer.resyncs == resyncs {
            Echo::Exact
        } else if contains(got, marker) {
            Echo::AfterForeignBytes
        } else if !peer.is_alive() {
            Echo::Dead
        } else {
            Echo::Stalled
        })
    }

    /// Aborts a peer's connection in the engine and forgets the peer.
    pub fn drop_peer(&mut self, index: usize) -> Result<(), String> {
        let peer = self.peers.remove(index);
        if let Some(conn) = peer.conn {
            self.engine.abort(conn);
        }
        self.exchange(10_000).map(|_| ())
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

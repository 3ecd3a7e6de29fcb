//! One script against one fresh engine on virtual time: events in order,
//! inbound packets injected at their time, outbound ones waited for within
//! their window and matched, system calls made and their results checked,
//! a blocking call retried while the events after it happen.

use std::collections::VecDeque;

use super::icmp::{build_icmp, build_icmpv6};
use super::loose::Strictness;
use super::matcher::{check_packet, render_sent, Isns};
use super::packets::{build_inbound, parse_outbound, Inbound, Sent};
use super::report::Outcome;
use super::script::{Direction, Event, EventKind, PacketSpec, Script, SyscallSpec, TcpOptionSpec};
use super::settings::{
    build_engine, peer_ip, settings_of, stack_ip, Settings, StackChoice, PEER_IP, PEER_IP6,
    STACK_IP, STACK_IP6,
};
use super::support::unsupported;
use super::syscalls::{same_errno, BufferSizes, CallError, CallResult, Sockets, SCRIPT_PORT};
use super::time::{return_window, seconds, window, Window};
use crate::engine::Engine;
use crate::time::Instant;

/// The peer's ISN: not zero, so that a relative/absolute mix-up shows.
const PEER_ISN: u32 = 1_000_000;
/// The peer's port for connections the script opens towards a listener.
const PEER_PORT: u16 = 40_000;
/// Most timer steps while waiting, against an engine whose timer never
/// moves on.
const MAX_STEPS: usize = 100_000;

/// How to run scripts.
#[derive(Clone, Copy, Debug)]
pub struct RunOptions {
    pub stack: StackChoice,
    pub strictness: Strictness,
}

/// A call that blocked and must return within `returns`.
struct Blocked {
    line: usize,
    call: SyscallSpec,
    returns: Window,
}

/// Why a script stopped before its end.
enum Stop {
    Fail(usize, String),
    Skip(String),
}

type Step = Result<(), Stop>;

struct Run {
    engine: Box<dyn Engine>,
    sockets: Sockets,
    options: RunOptions,
    settings: Settings,
    /// Virtual time, in microseconds.
    now: i64,
    /// When the previous event happened (relative times count from it).
    previous: i64,
    outbox: VecDeque<Sent>,
    isns: Isns,
    /// (stack port, peer port) of the script's connection.
    ports: (u16, u16),
    /// The stack's latest TSval, for inbound TS ecr (RFC 7323 §3.2).
    last_tsval: Option<u32>,
    blocked: Option<Blocked>,
}

/// Runs a parsed script.
pub fn run_script(script: &Script, options: RunOptions) -> Outcome {
    // Settings first: a script asking for what the engine lacks is skipped
    // as such, whatever else it has.
    let settings = match settings_of(script) {
        Ok(settings) => settings,
        Err(reason) => return Outcome::Skip { reason },
    };
    if let Some(reason) = unsupported(script) {
        return Outcome::Skip { reason };
    }
    let mut run = Run {
        engine: build_engine(options.stack, &settings),
        sockets: Sockets::new().with_ipv6(settings.ipv6),
        options,
        settings,
        now: 0,
        previous: 0,
        outbox: VecDeque::new(),
        isns: Isns {
            stack: None,
            peer: PEER_ISN,
        },
        ports: (SCRIPT_PORT, PEER_PORT),
        last_tsval: None,
        blocked: None,
    };
    let last_line = script.events.last().map_or(0, |e| e.line);
    let result = script
        .events
        .iter()
        .try_for_each(|event| run.event(event))
        .and_then(|()| run.finish(last_line));
    match result {
        Ok(()) => Outcome::Pass,
        Err(Stop::Fail(line, message)) => Outcome::Fail { line, message },
        Err(Stop::Skip(reason)) => Outcome::Skip { reason },
    }
}

impl Run {
    fn event(&mut self, event: &Event) -> Step {
        let due = window(event.time, self.previous, self.settings.tolerance_micros);
        match &event.kind {
            EventKind::Unsupported(what) => Err(Stop::Skip(format!("line {}: {what}", event.line))),
            EventKind::StateAssert(want) => {
                self.wait_until(due.nominal)?;
                self.previous = self.now;
                let state = self.sockets.last_state(self.engine.as_ref());
                match state == *want {
                    true => Ok(()),
                    false => Err(Stop::Fail(
                        event.line,
                        format!("tcpi_state expected {want}, actual {state}"),
                    )),
                }
            }
            EventKind::Shell(command) => {
                self.wait_until(due.nominal)?;
                // Keep-alive sysctls apply to sockets made after them.
                self.sockets.apply_sysctl(command);
                self.previous = self.now;
                Ok(())
            }
            EventKind::Packet(spec) if spec.direction == Direction::Inbound => {
                self.wait_until(due.nominal)?;
                self.inject(event.line, spec)?;
                self.previous = self.now;
                Ok(())
            }
            EventKind::Packet(spec) => self.expect(event.line, spec, due),
            EventKind::Icmp(spec) => {
                self.wait_until(due.nominal)?;
                let seq = self.isns.stack_or_zero().wrapping_add(spec.start);
                // ICMP in IPv4 scripts, ICMPv6 (RFC 4443) in IPv6 ones.
                let packet = match self.settings.ipv6 {
                    false => build_icmp(PEER_IP, STACK_IP, spec, seq, self.ports),
                    true => build_icmpv6(PEER_IP6, STACK_IP6, spec, seq, self.ports),
                }
                .map_err(|why| Stop::Skip(format!("line {}: {why}", event.line)))?;
                let now = Instant::from_micros(self.now as u64);
                self.engine.handle_packet(now, &packet);
                self.previous = self.now;
                self.collect()
            }
            EventKind::Syscall(call) => {
                // `start...end`: both count from the event before.
                let returns =
                    return_window(event.time, self.previous, self.settings.tolerance_micros);
                self.wait_until(due.nominal)?;
                self.previous = self.now;
                self.call(event.line, call, returns)
            }
        }
    }

    /// Moves virtual time to `target`, running the timers due on the way
    /// and collecting what the stack sends; fails a blocked call that
    /// should have returned by then.
    fn wait_until(&mut self, target: i64) -> Step {
        let target = target.max(self.now);
        for _ in 0..MAX_STEPS {
            let next = self
                .engine
                .poll_timeout()
                .map(|at| at.total_micros() as i64);
            let deadline = self.blocked.as_ref().map(|b| b.returns.latest);
            let step_to = [next, deadline]
                .into_iter()
                .flatten()
                .filter(|&at| at <= target)
                .min();
            let Some(at) = step_to else { break };
            self.now = at.max(self.now);
            self.engine
                .handle_timeout(Instant::from_micros(self.now as u64));
            self.collect()?;
            if deadline == Some(at) && next != Some(at) {
                self.check_blocked_deadline()?;
            }
        }
        self.now = target;
        self.engine
            .handle_timeout(Instant::from_micros(target as u64));
        self.collect()?;
        self.check_blocked_deadline()
    }

    /// Takes every packet the stack has to send now, then retries a
    /// blocked call (what the stack just did may have unblocked it).
    fn collect(&mut self) -> Step {
        let mut buf = vec![0u8; 65_536];
        let now = Instant::from_micros(self.now as u64);
        while let Some(len) = self.engine.poll_transmit(now, &mut buf) {
            let Some(sent) = parse_outbound(self.now, &buf[..len]) else {
                continue;
            };
            if sent.flags.syn && self.isns.stack.is_none() {
                self.isns.stack = Some(sent.seq);
                self.ports = (sent.src_port, sent.dst_port);
            }
            if let Some(ts) = sent.options.timestamps {
                self.last_tsval = Some(ts.tsval);
            }
            self.outbox.push_back(sent);
        }
        self.retry_blocked()
    }

    fn check_blocked_deadline(&mut self) -> Step {
        match &self.blocked {
            Some(blocked) if self.now > blocked.returns.latest => Err(Stop::Fail(
                blocked.line,
                format!(
                    "{}() expected to return at {}, still blocked at {}",
                    blocked.call.name,
                    seconds(blocked.returns.nominal),
                    seconds(self.now)
                ),
            )),
            _ => Ok(()),
        }
    }

    fn retry_blocked(&mut self) -> Step {
        let Some(blocked) = self.blocked.take() else {
            return Ok(());
        };
        match self.execute(blocked.line, &blocked.call)? {
            CallResult::Blocked => {
                self.blocked = Some(blocked);
                Ok(())
            }
            CallResult::Returned { value, errno } => {
                let window = blocked.returns;
                if self.now < window.earliest || self.now > window.latest {
                    return Err(Stop::Fail(
                        blocked.line,
                        format!(
                            "{}() expected to return at {}, returned at {}",
                            blocked.call.name,
                            seconds(window.nominal),
                            seconds(self.now)
                        ),
                    ));
                }
                check_result(blocked.line, &blocked.call, value, errno)
            }
        }
    }

    fn execute(&mut self, line: usize, call: &SyscallSpec) -> Result<CallResult, Stop> {
        let buffers = BufferSizes {
            recv: self.settings.recv_buffer,
            send: self.settings.send_buffer,
        };
        let now = Instant::from_micros(self.now as u64);
        let result = self.sockets.execute(
            self.engine.as_mut(),
            now,
            call,
            buffers,
            self.options.strictness,
        );
        result.map_err(|error| match error {
            CallError::Skip(reason) => Stop::Skip(format!("line {line}: {reason}")),
            CallError::Fail(message) => Stop::Fail(line, message),
        })
    }

    fn call(&mut self, line: usize, call: &SyscallSpec, returns: Option<Window>) -> Step {
        if self.blocked.is_some() {
            return Err(Stop::Skip(format!(
                "line {line}: two blocking calls at once"
            )));
        }
        let result = self.execute(line, call)?;
        match (result, returns) {
            (CallResult::Blocked, Some(returns)) => {
                self.blocked = Some(Blocked {
                    line,
                    call: call.clone(),
                    returns,
                });
                Ok(())
            }
            (CallResult::Blocked, None) => Err(Stop::Fail(
                line,
                format!(
                    "{}() blocked; the script expects it to return at once",
                    call.name
                ),
            )),
            (CallResult::Returned { value, errno }, returns) => {
                if let Some(window) = returns.filter(|w| self.now < w.earliest) {
                    return Err(Stop::Fail(
                        line,
                        format!(
                            "{}() expected to block until {}, returned at once",
                            call.name,
                            seconds(window.nominal)
                        ),
                    ));
                }
                check_result(line, call, value, errno)?;
                self.collect()
            }
        }
    }

    fn inject(&mut self, line: usize, spec: &PacketSpec) -> Step {
        let stack_isn = self.isns.stack_or_zero();
        let options = spec.options.clone().unwrap_or_default();
        let options = options
            .into_iter()
            .map(|option| match option {
                // The script's ecr names a TSval of ours; echo the real one.
                TcpOptionSpec::Timestamp { val, ecr } if ecr != 0 => TcpOptionSpec::Timestamp {
                    val,
                    ecr: self.last_tsval.unwrap_or(ecr),
                },
                other => other.map_sack(|edge| stack_isn.wrapping_add(edge)),
            })
            .collect();
        let segment = Inbound {
            src_port: self.ports.1,
            dst_port: self.ports.0,
            seq: self.isns.peer.wrapping_add(spec.start),
            ack: spec.ack.map_or(0, |ack| stack_isn.wrapping_add(ack)),
            flags: spec.flags,
            window: spec.window.unwrap_or(u16::MAX),
            urgent: spec.urgent.unwrap_or(0),
            options,
            payload_len: spec.len as usize,
            ecn: spec.ip_ecn.unwrap_or_default(),
        };
        let (peer, stack) = (peer_ip(self.settings.ipv6), stack_ip(self.settings.ipv6));
        let Some(packet) = build_inbound(peer, stack, &segment) else {
            return Err(Stop::Skip(format!(
                "line {line}: a TCP option the runner cannot build"
            )));
        };
        self.engine
            .handle_packet(Instant::from_micros(self.now as u64), &packet);
        self.collect()
    }

    /// Waits for the packets a `>` line describes (several segments when
    /// the script's is larger than our MSS) and matches them.
    fn expect(&mut self, line: usize, spec: &PacketSpec, due: Window) -> Step {
        let (mut start, mut len) = (spec.start, spec.len);
        loop {
            let sent = self.next_sent(line, spec, start, len, due)?;
            if sent.at < due.earliest || sent.at > due.latest {
                return Err(Stop::Fail(
                    line,
                    format!(
                        "expected at {} (from {} to {}), actual {} at {}",
                        seconds(due.nominal),
                        seconds(due.earliest),
                        seconds(due.latest),
                        render_sent(&sent, &self.isns),
                        seconds(sent.at)
                    ),
                ));
            }
            check_packet(spec, start, len, &sent, &self.isns, self.options.strictness).map_err(
                |difference| {
                    Stop::Fail(
                        line,
                        format!("{difference}: actual {}", render_sent(&sent, &self.isns)),
                    )
                },
            )?;
            self.previous = sent.at;
            let carried = sent.payload_len as u32;
            if carried == 0 || carried >= len {
                return Ok(());
            }
            start = start.wrapping_add(carried);
            len -= carried;
        }
    }

    /// The next packet the stack sent, waiting for it until the window's end.
    fn next_sent(
        &mut self,
        line: usize,
        spec: &PacketSpec,
        start: u32,
        len: u32,
        due: Window,
    ) -> Result<Sent, Stop> {
        for _ in 0..MAX_STEPS {
            if let Some(sent) = self.outbox.pop_front() {
                return Ok(sent);
            }
            let next = self
                .engine
                .poll_timeout()
                .map(|at| at.total_micros() as i64);
            match next {
                Some(at) if at <= due.latest => self.wait_until(at.max(self.now))?,
                _ => break,
            }
            if next == Some(self.now) && self.outbox.is_empty() {
                // A timer due now that sends nothing: move past it.
                self.wait_until(self.now + 1)?;
            }
        }
        if due.latest != i64::MAX {
            self.wait_until(due.latest)?;
        }
        self.outbox.pop_front().ok_or_else(|| {
            Stop::Fail(
                line,
                format!(
                    "expected {} {}:{}({}) by {}, the stack sent nothing",
                    spec.flags,
                    start,
                    start.wrapping_add(len),
                    len,
                    seconds(due.latest)
                ),
            )
        })
    }

    /// After the last event: a blocked call must return, and nothing may
    /// have been sent before the last event that no `>` line took.
    fn finish(&mut self, last_line: usize) -> Step {
        if let Some(deadline) = self.blocked.as_ref().map(|b| b.returns.latest) {
            self.wait_until(deadline)?;
        }
        match self.outbox.iter().find(|sent| sent.at < self.previous) {
            Some(sent) => Err(Stop::Fail(
                last_line,
                format!(
                    "unexpected packet at {}: {}",
                    seconds(sent.at),
                    render_sent(sent, &self.isns)
                ),
            )),
            None => Ok(()),
        }
    }
}

fn check_result(line: usize, call: &SyscallSpec, value: i64, errno: Option<&str>) -> Step {
    let expected = call.result.as_int();
    let errno_matches = match (&call.errno, errno) {
        (Some(want), Some(got)) => same_errno(want, got),
        (None, _) => value != -1 || expected != Some(-1),
        (Some(_), None) => false,
    };
    if expected == Some(value) && errno_matches {
        return Ok(());
    }
    let show = |value: String, errno: Option<&str>| match errno {
        Some(errno) => format!("{value} {errno}"),
        None => value,
    };
    Err(Stop::Fail(
        line,
        format!(
            "{}() expected {}, actual {}",
            call.name,
            show(
                expected.map_or_else(|| format!("{:?}", call.result), |n| n.to_string()),
                call.errno.as_deref()
            ),
            show(value.to_string(), errno)
        ),
    ))
}

#[cfg(test)]
#[path = "runner_tests.rs"]
mod tests;

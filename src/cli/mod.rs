//! The `tuntcp` program: command-line options to running applications.

mod addresses;
pub mod args;
mod control;
mod packetdrill;
mod remote;
mod replay;
mod setup;
mod signals;

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use args::{Cli, Command, Mode};
use tuntcp::apps;
use tuntcp::socket::{TcpListener, TcpStream};

/// Runs the chosen command; the error is a sentence for the user.
pub fn run(cli: Cli) -> Result<(), String> {
    // A replay is plain computation: no stack to stop cleanly, so Ctrl-C
    // keeps its ordinary meaning.
    if let Command::Replay(replay) = &cli.command {
        return replay::run(replay);
    }
    // Scripts run on virtual time: no stack, no signals to handle.
    if let Command::Packetdrill(args) = &cli.command {
        return packetdrill::run(args);
    }
    // `ss` only reads; Ctrl-C ends a --watch as any viewer.
    if let Command::Ss(ss) = &cli.command {
        return show_stack(ss);
    }
    let signal_set = signals::block_termination_signals()
        .map_err(|err| format!("cannot set up signal handling: {err}"))?;
    match cli.command {
        Command::Echo(echo) => {
            let addrs = echo.net.addresses()?;
            let stack = setup::start_stack(&echo.net, &addrs)?;
            signals::stop_on_signal(signal_set, stack.clone(), "tuntcp echo")
                .map_err(|e| e.to_string())?;
            // The unspecified address: every address of the stack, of
            // either family (a dual-stack listener).
            let local = SocketAddr::new(any_address(&addrs), echo.port);
            let mut listener = TcpListener::bind_on(&stack, local, echo.backlog as usize)
                .map_err(|err| format!("cannot listen on {local}: {err}"))?;
            let mode = match echo.mode {
                Mode::Threaded => apps::echo::ServerMode::Threaded,
                Mode::Iterative => apps::echo::ServerMode::Iterative,
                Mode::Event => apps::echo::ServerMode::Event,
            };
            let engine = engine_in_words(stack.engine_name());
            println!("{}", start_line(&addrs, echo.port, engine, mode.in_words()));
            let _ = std::io::stdout().flush();
            let served = apps::echo::serve(&mut listener, mode);
            finish(&stack, served.map(|_| ()), "echo server stopped")
        }
        Command::Connect(connect) => {
            let addrs = connect.net.addresses()?;
            let remote = remote::resolve(&connect.remote, &addrs)?;
            let stack = setup::start_stack(&connect.net, &addrs)?;
            signals::stop_on_signal(signal_set, stack.clone(), "tuntcp connect")
                .map_err(|e| e.to_string())?;
            let stream = TcpStream::connect_on(&stack, remote, None)
                .map_err(|err| format!("cannot connect to {remote}: {err}"))?;
            apps::connect::run(stream)
                .map_err(|err| format!("connection to {remote} failed: {err}"))?;
            stack.shutdown().map_err(|err| err.to_string())
        }
        // Handled above, before the signals are blocked.
        Command::Replay(_) | Command::Ss(_) | Command::Packetdrill(_) => Ok(()),
    }
}

/// The one line a user reads to know it works and how to try it, e.g.
/// "serving echo on 192.0.2.2:7 and [2001:db8::2]:7 with our engine, ...
/// — try: nc 192.0.2.2 7 or nc -6 2001:db8::2 7".
fn start_line(addrs: &args::Addresses, port: u16, engine: &str, mode: &str) -> String {
    let stack = addrs.stack();
    let on: Vec<String> = stack
        .iter()
        .map(|ip| SocketAddr::new(*ip, port).to_string())
        .collect();
    let tries: Vec<String> = stack
        .iter()
        .map(|ip| match ip {
            IpAddr::V4(v4) => format!("nc {v4} {port}"),
            IpAddr::V6(v6) => format!("nc -6 {v6} {port}"),
        })
        .collect();
    format!(
        "serving echo on {} with {engine}, {mode} — try: {}",
        on.join(" and "),
        tries.join(" or ")
    )
}

/// 0.0.0.0 while the stack has IPv4, else [::].
fn any_address(addrs: &args::Addresses) -> IpAddr {
    match addrs.stack_v4 {
        Some(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        None => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

/// "our engine" or "smoltcp", for what the user reads.
fn engine_in_words(name: &str) -> &str {
    match name {
        "tuntcp" => "our engine",
        other => other,
    }
}

/// `tuntcp ss`: the view once, or every `--watch` seconds on a cleared
/// screen until interrupted.
fn show_stack(ss: &args::SsArgs) -> Result<(), String> {
    let Some(interval) = ss.watch else {
        print!("{}", control::query(&ss.iface)?);
        return Ok(());
    };
    let interval = std::time::Duration::from_secs_f64(interval.max(0.1));
    loop {
        let view = control::query(&ss.iface)?;
        // Home the cursor and clear the screen, as watch(1) does.
        print!("\x1b[H\x1b[2J{view}");
        let _ = std::io::stdout().flush();
        std::thread::sleep(interval);
    }
}

/// Ends a command: a dead driver (device failure) is an error with its
/// reason; an error caused by a signal stopping the stack is a
/// clean exit. Shutting down here too (it is idempotent) makes sure the
/// signal thread's shutdown, with its pcap flush, is complete before
/// `main` returns and the process ends.
fn finish(
    stack: &tuntcp::socket::Stack,
    result: std::io::Result<()>,
    what: &str,
) -> Result<(), String> {
    if let Some(why) = stack.failure() {
        return Err(format!("the stack stopped: {why}"));
    }
    let stopped_by_signal = stack.is_stopped();
    let shutdown = stack.shutdown();
    if stopped_by_signal {
        // The signal thread prints it too; once is what happens.
        drop(signals::print_stop_line_once("tuntcp echo", stack));
    }
    match result {
        Err(_) if stopped_by_signal => Ok(()),
        Err(err) => Err(format!("{what}: {err}")),
        Ok(()) => shutdown.map_err(|err| format!("stopping the stack: {err}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_line_shows_each_family_and_how_to_try_it() {
        let both = args::Addresses::resolve(&[], &[], true, "tun0").unwrap();
        assert_eq!(
            start_line(&both, 7, "our engine", "one thread"),
            "serving echo on 192.0.2.2:7 and [2001:db8::2]:7 with our engine, one thread \
             — try: nc 192.0.2.2 7 or nc -6 2001:db8::2 7"
        );
        let v4: Vec<IpAddr> = vec!["192.0.2.2".parse().unwrap()];
        let v4 = args::Addresses::resolve(&v4, &[], true, "tun0").unwrap();
        assert_eq!(
            start_line(&v4, 7, "smoltcp", "iterative"),
            "serving echo on 192.0.2.2:7 with smoltcp, iterative — try: nc 192.0.2.2 7"
        );
        assert_eq!(any_address(&v4), IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    }
}

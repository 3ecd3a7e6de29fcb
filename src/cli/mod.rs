//! The `tuntcp` program: command-line options to running applications.

pub mod args;
mod control;
mod packetdrill;
mod replay;
mod setup;
mod signals;

use std::io::Write;

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
            let stack = setup::start_stack(&echo.net)?;
            signals::stop_on_signal(signal_set, stack.clone(), "tuntcp echo")
                .map_err(|e| e.to_string())?;
            let local = (stack.local_ip(), echo.port);
            let mut listener = TcpListener::bind_on(&stack, local, echo.backlog as usize)
                .map_err(|err| format!("cannot listen on {}:{}: {err}", local.0, local.1))?;
            let mode = match echo.mode {
                Mode::Threaded => apps::echo::ServerMode::Threaded,
                Mode::Iterative => apps::echo::ServerMode::Iterative,
                Mode::Event => apps::echo::ServerMode::Event,
            };
            // The one line a user reads to know it works and how to try it.
            let (ip, port) = local;
            let engine = engine_in_words(stack.engine_name());
            println!(
                "serving echo on {ip}:{port} with {engine}, {} — try: nc {ip} {port}",
                mode.in_words()
            );
            let _ = std::io::stdout().flush();
            let served = apps::echo::serve(&mut listener, mode);
            finish(&stack, served.map(|_| ()), "echo server stopped")
        }
        Command::Connect(connect) => {
            let stack = setup::start_stack(&connect.net)?;
            signals::stop_on_signal(signal_set, stack.clone(), "tuntcp connect")
                .map_err(|e| e.to_string())?;
            let stream = TcpStream::connect_on(&stack, connect.remote, None)
                .map_err(|err| format!("cannot connect to {}: {err}", connect.remote))?;
            apps::connect::run(stream)
                .map_err(|err| format!("connection to {} failed: {err}", connect.remote))?;
            stack.shutdown().map_err(|err| err.to_string())
        }
        // Handled above, before the signals are blocked.
        Command::Replay(_) | Command::Ss(_) | Command::Packetdrill(_) => Ok(()),
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

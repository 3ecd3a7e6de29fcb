//! `tuntcp`: run the stack on a TUN device. See `tuntcp --help`.

mod cli;

use clap::Parser;

fn main() {
    let cli = cli::args::Cli::parse();
    init_logging(cli.verbose);
    if let Err(message) = cli::run(cli) {
        eprintln!("tuntcp: {message}");
        std::process::exit(1);
    }
}

/// Logs go to stderr through `log`: warnings by default, more with -v.
/// RUST_LOG, when set, wins.
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level))
        .format_timestamp_micros()
        .init();
}

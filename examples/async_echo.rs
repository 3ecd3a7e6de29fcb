//! An async echo server on our stack, with tokio: a task per client.
//!
//! ```sh
//! cargo build --release --features tokio --example async_echo
//! sudo ./target/release/examples/async_echo        # tun0, 192.0.2.2:7 and [2001:db8::2]:7
//! nc 192.0.2.2 7                                    # from another terminal
//! nc -6 2001:db8::2 7                               # the same over IPv6
//! ```
//!
//! `tuntcp::tokio::TcpStream` implements tokio's `AsyncRead` and
//! `AsyncWrite`, so the echo is `tokio::io::copy` from the stream's read
//! half to its write half. tests/tokio_live.rs runs `serve_echo` against
//! 1,000 clients at once.

use std::io;

use tokio::io::AsyncWriteExt;
use tuntcp::device::{netconfig, netconfig_v6, TunDevice};
use tuntcp::engine::StackConfig;
use tuntcp::socket::Stack;
use tuntcp::tokio::TcpListener;

/// Accepts clients until the stack stops; each gets a task that copies
/// what it reads back, then sends FIN after the client's.
pub async fn serve_echo(listener: TcpListener) -> io::Result<()> {
    loop {
        let (stream, peer) = listener.accept().await?;
        tokio::spawn(async move {
            let (mut reader, mut writer) = tokio::io::split(stream);
            let echoed = tokio::io::copy(&mut reader, &mut writer).await?;
            writer.shutdown().await?;
            log::info!("echoed {echoed} bytes to {peer}");
            io::Result::Ok(())
        });
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    env_logger::init();
    // The stack: a TUN device, the kernel's side addressed (both families,
    // as `tuntcp echo`), our engine and its driver thread (the same for
    // blocking and async sockets).
    let tun = TunDevice::open("tun0")?;
    netconfig::configure_host_side("tun0", "192.0.2.1".parse()?, 24)?;
    netconfig_v6::configure_host_side_v6("tun0", "2001:db8::1".parse()?, 64)?;
    let config = StackConfig::new("192.0.2.2".parse()?)
        .with_ipv6("2001:db8::2".parse()?)
        .with_random_secret();
    let stack = Stack::start(Box::new(tuntcp::engine::Stack::new(config)), Box::new(tun))?;

    // The unspecified address takes both families (a dual-stack socket).
    let listener = TcpListener::bind_on(&stack, "0.0.0.0:7", 1024)?;
    println!(
        "serving echo on 192.0.2.2:7 and [2001:db8::2]:7 with our engine, a task per client \
         (tokio) — try: nc 192.0.2.2 7 or nc -6 2001:db8::2 7"
    );
    serve_echo(listener).await?;
    Ok(())
}

//! Live: `tuntcp::tokio` on a real TUN device in a private network
//! namespace (see common/netns.rs), with the kernel's TCP (through tokio's
//! own sockets) as the peer. Built with `--features tokio` (scripts/test.sh
//! runs it); needs root.
#![cfg(feature = "tokio")]

mod common;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ::tokio::io::{AsyncReadExt, AsyncWriteExt};
use ::tokio::net::{TcpListener as KernelListener, TcpStream as KernelStream};
use ::tokio::sync::Barrier;
use common::netns::{pattern, run_in_new_netns, HOST_ADDR, STACK_ADDR};
use tuntcp::device::{netconfig, TunDevice};
use tuntcp::engine::{Engine, StackConfig};
use tuntcp::reference::{SmolConfig, SmolEngine};
use tuntcp::socket::Stack;
use tuntcp::tokio::{TcpListener, TcpStream};

/// Every test's whole async part ends within this, or fails.
const BOUND: Duration = Duration::from_secs(90);

/// tun0 with the kernel's side at 192.0.2.1/24 and `engine` (tuntcp or
/// smoltcp) at 192.0.2.2 behind it, in this thread's namespace.
fn start_stack(engine: &str) -> Stack {
    let tun = TunDevice::open("tun0").unwrap();
    netconfig::configure_host_side("tun0", HOST_ADDR.parse().unwrap(), 24).unwrap();
    let addr = STACK_ADDR.parse().unwrap();
    let engine: Box<dyn Engine> = match engine {
        "tuntcp" => Box::new(tuntcp::engine::Stack::new(
            StackConfig::new(addr).with_random_secret(),
        )),
        _ => Box::new(SmolEngine::new(SmolConfig::new(addr))),
    };
    Stack::start(engine, Box::new(tun)).unwrap()
}

/// Runs `body` on a two-thread tokio runtime made inside the namespace (its
/// threads, and the kernel sockets they open, live there too), at most
/// [`BOUND`].
fn run_async<F, Fut>(engine: &'static str, body: F)
where
    F: FnOnce(Stack) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = io::Result<()>>,
{
    run_in_new_netns(move || {
        let stack = start_stack(engine);
        let runtime = ::tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            ::tokio::time::timeout(BOUND, body(stack.clone()))
                .await
                .unwrap_or_else(|_| panic!("not done within {BOUND:?}"))
                .unwrap();
        });
        drop(runtime);
        stack.shutdown().unwrap();
    });
}

/// The example's server, run here as it is written.
#[allow(dead_code)]
#[path = "../examples/async_echo.rs"]
mod async_echo;

/// An echo server on the kernel's TCP (tokio's sockets), a task per client.
async fn kernel_echo_server(listener: KernelListener) {
    while let Ok((mut stream, _)) = listener.accept().await {
        ::tokio::spawn(async move {
            let (mut reader, mut writer) = stream.split();
            ::tokio::io::copy(&mut reader, &mut writer).await?;
            writer.shutdown().await
        });
    }
}

/// One kernel client: connect, wait for every other client to be
/// connected, send its line, read it back exactly, half-close, and see the
/// server's FIN.
async fn echo_client(id: usize, all_connected: Arc<Barrier>) -> io::Result<()> {
    let mut stream = KernelStream::connect((STACK_ADDR, 7)).await?;
    all_connected.wait().await;
    let line = format!("client {id} says hello\n");
    stream.write_all(line.as_bytes()).await?;
    let mut echoed = vec![0u8; line.len()];
    stream.read_exact(&mut echoed).await?;
    assert_eq!(echoed, line.as_bytes(), "client {id}");
    stream.shutdown().await?;
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).await?;
    assert!(rest.is_empty(), "client {id} got {rest:?} after its echo");
    Ok(())
}

/// 1,000 kernel clients connected at once to the async echo server, each
/// served by its own task on two threads; every line comes back.
#[test]
fn a_thousand_concurrent_async_clients_are_echoed() {
    const CLIENTS: usize = 1000;
    run_async("tuntcp", |stack| async move {
        let listener = TcpListener::bind_on(&stack, "0.0.0.0:7", CLIENTS)?;
        let server = ::tokio::spawn(async_echo::serve_echo(listener));
        let all_connected = Arc::new(Barrier::new(CLIENTS));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|id| ::tokio::spawn(echo_client(id, Arc::clone(&all_connected))))
            .collect();
        for client in clients {
            client.await.unwrap()?;
        }
        server.abort();
        Ok(())
    });
}

/// A kernel listener on `addr` whose SYN and accept queues hold `clients`
/// connections at once. `KernelListener::bind` listens with a backlog of
/// 128 (mio's, as std's): a thousand SYNs at once then overflow it, Linux
/// answers with SYN cookies and drops a cookie's completing ACK while the
/// accept queue is full (TcpExtListenOverflows). Nothing of the connection
/// is left in the kernel, so if our data segment is dropped the same way,
/// our FIN after it (SEQ != ISN+1) fails the cookie check and is answered
/// with a RST (TcpExtSyncookiesFailed, syncookies.c) — what any client,
/// Linux's too, gets from an overflowing listener; not what these tests
/// are about.
fn kernel_listener_for(addr: &str, clients: usize) -> io::Result<KernelListener> {
    let socket = ::tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr.parse().expect("an IPv4 socket address"))?;
    socket.listen(u32::try_from(clients).expect("a backlog fits u32"))
}

/// The other way round: 1,000 async clients on our stack, connected at
/// once to a kernel echo server (tokio's), each getting its line back.
#[test]
fn a_thousand_concurrent_async_connects_from_the_stack_are_served() {
    const CLIENTS: usize = 1000;
    run_async("tuntcp", |stack| async move {
        let kernel_echo = kernel_listener_for("0.0.0.0:9002", CLIENTS)?;
        let server = ::tokio::spawn(kernel_echo_server(kernel_echo));
        let all_connected = Arc::new(Barrier::new(CLIENTS));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|id| {
                let (stack, all_connected) = (stack.clone(), Arc::clone(&all_connected));
                ::tokio::spawn(async move {
                    let mut ours = TcpStream::connect_on(&stack, (HOST_ADDR, 9002))
                        .await
                        .map_err(|e| failed(id, "connect", None, e))?;
                    let local = ours.local_addr().ok();
                    all_connected.wait().await;
                    let line = format!("stack client {id}\n");
                    ours.write_all(line.as_bytes())
                        .await
                        .map_err(|e| failed(id, "write", local, e))?;
                    ours.shutdown()
                        .await
                        .map_err(|e| failed(id, "shutdown", local, e))?;
                    let mut echoed = Vec::new();
                    ours.read_to_end(&mut echoed)
                        .await
                        .map_err(|e| failed(id, "read", local, e))?;
                    assert_eq!(echoed, line.as_bytes(), "client {id}");
                    io::Result::Ok(())
                })
            })
            .collect();
        for client in clients {
            client.await.unwrap()?;
        }
        server.abort();
        Ok(())
    });
}

/// `error` with the client, the step that failed and its 4-tuple, so a
/// failure among a thousand says which connection and where.
fn failed(id: usize, step: &str, local: Option<SocketAddr>, error: io::Error) -> io::Error {
    let local = local.map_or("?".to_string(), |addr| addr.to_string());
    io::Error::new(
        error.kind(),
        format!("client {id} ({local} -> {HOST_ADDR}:9002): {step}: {error}"),
    )
}

/// A tun2socks-style relay: connections to the stack are joined to kernel
/// connections with `copy_bidirectional`; a megabyte goes through both
/// ways exactly, and the half-close is relayed.
fn copy_bidirectional_relays_to_a_kernel_server(engine: &'static str) {
    run_async(engine, |stack| async move {
        let kernel_echo = KernelListener::bind("127.0.0.1:9000").await?;
        ::tokio::spawn(kernel_echo_server(kernel_echo));
        let relay = TcpListener::bind_on(&stack, "0.0.0.0:8000", 16)?;
        ::tokio::spawn(async move {
            let (mut ours, _) = relay.accept().await?;
            let mut theirs = KernelStream::connect("127.0.0.1:9000").await?;
            ::tokio::io::copy_bidirectional(&mut ours, &mut theirs).await
        });

        let data = pattern(21, 1 << 20);
        let client = KernelStream::connect((STACK_ADDR, 8000)).await?;
        let (mut reader, mut writer) = client.into_split();
        let to_send = data.clone();
        let sender = ::tokio::spawn(async move {
            writer.write_all(&to_send).await?;
            writer.shutdown().await
        });
        let mut echoed = Vec::new();
        reader.read_to_end(&mut echoed).await?;
        sender.await.unwrap()?;
        assert!(
            echoed == data,
            "{} bytes came back, not the same",
            echoed.len()
        );
        Ok(())
    });
}

/// The stack as client: an async connect to a kernel listener, a line each
/// way, our FIN first and the kernel's after; then a refused connect.
fn async_connect_exchanges_and_is_refused_on_a_closed_port(engine: &'static str) {
    run_async(engine, |stack| async move {
        let kernel = KernelListener::bind("0.0.0.0:9001").await?;
        let server = ::tokio::spawn(async move {
            let (mut stream, peer) = kernel.accept().await?;
            let mut got = Vec::new();
            stream.read_to_end(&mut got).await?; // until our FIN
            stream.write_all(b"from the kernel").await?;
            io::Result::Ok((got, peer))
        });
        let server_addr: SocketAddr = format!("{HOST_ADDR}:9001").parse().unwrap();
        let mut ours = TcpStream::connect_on(&stack, server_addr).await?;
        assert_eq!(ours.peer_addr()?, server_addr);
        ours.write_all(b"from the stack").await?;
        ours.shutdown().await?;
        let mut reply = Vec::new();
        ours.read_to_end(&mut reply).await?;
        assert_eq!(reply, b"from the kernel");
        let (got, peer) = server.await.unwrap()?;
        assert_eq!(got, b"from the stack");
        assert_eq!(peer, ours.local_addr()?);

        let refused = TcpStream::connect_on(&stack, (HOST_ADDR, 9)).await;
        assert_eq!(
            refused.unwrap_err().kind(),
            io::ErrorKind::ConnectionRefused
        );
        Ok(())
    });
}

mod tuntcp_engine {
    #[test]
    fn copy_bidirectional_relays_to_a_kernel_server() {
        super::copy_bidirectional_relays_to_a_kernel_server("tuntcp");
    }
    #[test]
    fn async_connect_exchanges_and_is_refused_on_a_closed_port() {
        super::async_connect_exchanges_and_is_refused_on_a_closed_port("tuntcp");
    }
}

mod smoltcp {
    #[test]
    fn copy_bidirectional_relays_to_a_kernel_server() {
        super::copy_bidirectional_relays_to_a_kernel_server("smoltcp");
    }
    #[test]
    fn async_connect_exchanges_and_is_refused_on_a_closed_port() {
        super::async_connect_exchanges_and_is_refused_on_a_closed_port("smoltcp");
    }
}

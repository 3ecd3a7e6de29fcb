//! The socket API end to end, over real driver threads: two stacks joined
//! by a socketpair "wire" in one process (no root, no TUN needed). Every
//! test runs once per engine pairing, so both engines honour one API.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddrV4};
use std::time::Duration;

use tuntcp::device::socketpair::SocketPairDevice;
use tuntcp::engine::Engine;
use tuntcp::reference::{SmolConfig, SmolEngine};
use tuntcp::socket::{Stack, TcpListener, TcpStream};

const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const SERVER_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
/// Bounds every wait so a broken stack fails the test instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(20);

type MakeEngine = fn(Ipv4Addr) -> Box<dyn Engine>;

fn smoltcp(addr: Ipv4Addr) -> Box<dyn Engine> {
    Box::new(SmolEngine::new(SmolConfig::new(addr)))
}

fn tuntcp(addr: Ipv4Addr) -> Box<dyn Engine> {
    Box::new(tuntcp::engine::Stack::new(
        tuntcp::engine::StackConfig::new(addr).with_random_secret(),
    ))
}

/// (name, client engine, server engine).
fn pairings() -> Vec<(&'static str, MakeEngine, MakeEngine)> {
    vec![
        ("tuntcp->tuntcp", tuntcp, tuntcp),
        ("smoltcp->tuntcp", smoltcp, tuntcp),
        ("tuntcp->smoltcp", tuntcp, smoltcp),
        ("smoltcp->smoltcp", smoltcp, smoltcp),
    ]
}

/// Two running stacks on one wire.
struct Net {
    client: Stack,
    server: Stack,
}

impl Net {
    fn new(client: MakeEngine, server: MakeEngine) -> Net {
        let (a, b) = SocketPairDevice::pair().unwrap();
        Net {
            client: Stack::start(client(CLIENT_IP), Box::new(a)).unwrap(),
            server: Stack::start(server(SERVER_IP), Box::new(b)).unwrap(),
        }
    }

    fn listen(&self, port: u16) -> TcpListener {
        TcpListener::bind_on(&self.server, ("0.0.0.0", port), 16).unwrap()
    }

    fn connect(&self, port: u16) -> std::io::Result<TcpStream> {
        let stream = TcpStream::connect_on(
            &self.client,
            SocketAddrV4::new(SERVER_IP, port),
            Some(PATIENCE),
        )?;
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        stream.set_write_timeout(Some(PATIENCE)).unwrap();
        Ok(stream)
    }
}

fn for_each_pairing(test: impl Fn(&str, Net)) {
    for (name, client, server) in pairings() {
        eprintln!("pairing {name}");
        test(name, Net::new(client, server));
    }
}

fn accept(listener: &TcpListener) -> TcpStream {
    let (stream, _) = listener.accept().unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.set_write_timeout(Some(PATIENCE)).unwrap();
    stream
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[test]
fn accepted_connection_knows_both_addresses() {
    for_each_pairing(|name, net| {
        let listener = net.listen(7);
        let client = net.connect(7).unwrap();
        let server = accept(&listener);
        assert_eq!(
            server.local_addr().unwrap(),
            "192.0.2.2:7".parse().unwrap(),
            "{name}"
        );
        assert_eq!(
            server.peer_addr().unwrap(),
            client.local_addr().unwrap(),
            "{name}"
        );
        assert_eq!(
            client.peer_addr().unwrap(),
            "192.0.2.2:7".parse().unwrap(),
            "{name}"
        );
        assert_eq!(client.tcp_state().unwrap(), "ESTABLISHED", "{name}");
    });
}

#[test]
fn bulk_bytes_arrive_exactly_and_read_returns_zero_after_fin() {
    for_each_pairing(|name, net| {
        let listener = net.listen(9);
        let data = pattern(1_000_000);
        let sent = data.clone();
        let client = net.connect(9).unwrap();
        let writer = std::thread::spawn(move || {
            (&client).write_all(&sent).unwrap();
            client.shutdown(Shutdown::Write).unwrap();
            client
        });
        let mut server = accept(&listener);
        let mut received = Vec::new();
        server.read_to_end(&mut received).unwrap();
        assert!(
            received == data,
            "{name}: {} bytes, not the {} sent",
            received.len(),
            data.len()
        );
        assert_eq!(
            server.read(&mut [0u8; 10]).unwrap(),
            0,
            "{name}: EOF repeats"
        );
        drop(writer.join().unwrap());
    });
}

#[test]
fn half_close_lets_the_other_direction_go_on() {
    for_each_pairing(|name, net| {
        let listener = net.listen(7);
        let mut client = net.connect(7).unwrap();
        let mut server = accept(&listener);
        client.write_all(b"request").unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let mut request = Vec::new();
        server.read_to_end(&mut request).unwrap();
        assert_eq!(request, b"request", "{name}");
        // The client has sent FIN, yet it still reads what comes back.
        server.write_all(b"reply after your FIN").unwrap();
        drop(server);
        let mut reply = Vec::new();
        client.read_to_end(&mut reply).unwrap();
        assert_eq!(reply, b"reply after your FIN", "{name}");
    });
}

#[test]
fn closed_port_is_refused() {
    for_each_pairing(|name, net| {
        let err = net.connect(1).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{name}: {err}");
    });
}

#[test]
fn second_listener_on_a_port_is_addr_in_use() {
    for_each_pairing(|name, net| {
        let _first = net.listen(7);
        let err = TcpListener::bind_on(&net.server, ("0.0.0.0", 7), 16)
            .err()
            .unwrap();
        assert_eq!(err.kind(), ErrorKind::AddrInUse, "{name}: {err}");
    });
}

#[test]
fn nonblocking_read_and_accept_say_would_block() {
    for_each_pairing(|name, net| {
        let listener = net.listen(7);
        listener.set_nonblocking(true).unwrap();
        assert_eq!(
            listener.accept().unwrap_err().kind(),
            ErrorKind::WouldBlock,
            "{name}"
        );
        let client = net.connect(7).unwrap();
        client.set_nonblocking(true).unwrap();
        let err = (&client).read(&mut [0u8; 16]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WouldBlock, "{name}");
    });
}

#[test]
fn read_timeout_expires_as_would_block() {
    for_each_pairing(|name, net| {
        let listener = net.listen(7);
        let client = net.connect(7).unwrap();
        let _server = accept(&listener);
        client
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let err = (&client).read(&mut [0u8; 16]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WouldBlock, "{name}: {err}");
        assert!(
            client.set_read_timeout(Some(Duration::ZERO)).is_err(),
            "{name}: zero timeout refused as in std"
        );
    });
}

#[test]
fn clones_read_and_write_from_two_threads() {
    for_each_pairing(|name, net| {
        let listener = net.listen(7);
        let client = net.connect(7).unwrap();
        let server = accept(&listener);
        let echo = std::thread::spawn(move || tuntcp::apps::echo::echo_until_eof(&server).unwrap());
        let writer = client.try_clone().unwrap();
        let data = pattern(200_000);
        let sent = data.clone();
        let write_thread = std::thread::spawn(move || {
            (&writer).write_all(&sent).unwrap();
            writer.shutdown(Shutdown::Write).unwrap();
        });
        let mut back = Vec::new();
        (&client).read_to_end(&mut back).unwrap();
        write_thread.join().unwrap();
        assert_eq!(echo.join().unwrap(), data.len() as u64, "{name}");
        assert!(back == data, "{name}: echo differs");
    });
}

#[test]
fn shutdown_read_wakes_a_blocked_reader_with_end_of_stream() {
    for_each_pairing(|name, net| {
        let listener = net.listen(7);
        let client = net.connect(7).unwrap();
        let _server = accept(&listener);
        let reader = client.try_clone().unwrap();
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let blocked = std::thread::spawn(move || {
            started_tx.send(()).unwrap();
            (&reader).read(&mut [0u8; 16])
        });
        started_rx.recv().unwrap();
        // The reader may not be inside read() yet; either way it must end
        // with end-of-stream, not wait for data that will never come.
        client.shutdown(Shutdown::Read).unwrap();
        let result = blocked.join().unwrap();
        assert_eq!(
            result.unwrap(),
            0,
            "{name}: read after shutdown(Read) is end-of-stream"
        );
    });
}

/// A device that fails on its first read, once the test says so: what the
/// driver sees when the TUN device disappears under it.
struct VanishingDevice {
    trigger: std::os::unix::net::UnixDatagram,
}

impl tuntcp::device::Device for VanishingDevice {
    fn recv(&mut self, _buf: &mut [u8]) -> std::io::Result<Option<usize>> {
        Err(std::io::Error::other("the device vanished"))
    }
    fn send(&mut self, _packet: &[u8]) -> std::io::Result<()> {
        Ok(())
    }
    fn raw_fd(&self) -> Option<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        Some(self.trigger.as_raw_fd())
    }
}

#[test]
fn a_dying_driver_wakes_blocked_calls_with_its_reason() {
    let (readable_end, trigger) = std::os::unix::net::UnixDatagram::pair().unwrap();
    let device = VanishingDevice {
        trigger: readable_end,
    };
    let stack = Stack::start(smoltcp(SERVER_IP), Box::new(device)).unwrap();
    let listener = TcpListener::bind_on(&stack, ("0.0.0.0", 7), 16).unwrap();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || done_tx.send(listener.accept().map(|_| ())));
    // The device becomes readable: the driver's read fails and it dies.
    trigger.send(b"x").unwrap();
    let result = done_rx
        .recv_timeout(PATIENCE)
        .expect("accept still blocked after the driver died");
    let err = result.unwrap_err();
    assert!(err.to_string().contains("the device vanished"), "{err}");
    assert!(stack.is_stopped());
    assert!(stack.failure().unwrap().contains("the device vanished"));
}

// ---------------------------------------------------------------------------
// Poll: readiness for event-driven servers (mio's shape).
// ---------------------------------------------------------------------------

use tuntcp::socket::{Event, Events, Interest, Poll, Token};

const LISTENER: Token = Token(0);
const CONN: Token = Token(1);

/// Polls until an event with `token` comes that satisfies `what`, at most
/// PATIENCE; panics with what came instead.
#[track_caller]
fn poll_until(poll: &mut Poll, token: Token, what: impl Fn(&Event) -> bool) -> Event {
    let deadline = std::time::Instant::now() + PATIENCE;
    let mut events = Events::with_capacity(16);
    let mut seen = Vec::new();
    while std::time::Instant::now() < deadline {
        poll.poll(&mut events, Some(PATIENCE)).unwrap();
        for event in &events {
            if event.token() == token && what(event) {
                return *event;
            }
            seen.push(*event);
        }
    }
    panic!("no such event for {token:?}; saw {seen:?}");
}

/// A listener on the server registered as LISTENER with a fresh poll.
fn polled_listener(net: &Net, port: u16) -> (TcpListener, Poll) {
    let mut listener = net.listen(port);
    let poll = Poll::new(&net.server).unwrap();
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .unwrap();
    (listener, poll)
}

#[test]
fn poll_reports_acceptable_readable_and_read_closed() {
    for_each_pairing(|name, net| {
        let (listener, mut poll) = polled_listener(&net, 7);
        let mut client = net.connect(7).unwrap();
        poll_until(&mut poll, LISTENER, Event::is_readable);
        let (mut server, _) = listener.accept().unwrap();
        assert_eq!(
            listener.accept().unwrap_err().kind(),
            ErrorKind::WouldBlock,
            "{name}: a registered listener is non-blocking"
        );
        poll.registry()
            .register(&mut server, CONN, Interest::READABLE | Interest::WRITABLE)
            .unwrap();
        // Writable already when registered: reported at once.
        poll_until(&mut poll, CONN, Event::is_writable);
        let mut buf = [0u8; 16];
        assert_eq!(
            server.read(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock,
            "{name}"
        );
        client.write_all(b"ping").unwrap();
        poll_until(&mut poll, CONN, Event::is_readable);
        assert_eq!(server.read(&mut buf).unwrap(), 4, "{name}");
        client.shutdown(Shutdown::Write).unwrap();
        poll_until(&mut poll, CONN, Event::is_read_closed);
        assert_eq!(server.read(&mut buf).unwrap(), 0, "{name}: end of stream");
    });
}

#[test]
fn poll_reports_a_reset_as_an_error() {
    for_each_pairing(|name, net| {
        let listener = net.listen(7);
        let mut client = net.connect(7).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        let mut poll = Poll::new(&net.server).unwrap();
        poll.registry()
            .register(&mut server, CONN, Interest::READABLE)
            .unwrap();
        // The client holds data it never reads when it closes: our engine
        // resets (RFC 2525 §2.17, as Linux); smoltcp sends FIN.
        server.write_all(b"unread").unwrap();
        let mut client_poll = Poll::new(&net.client).unwrap();
        client_poll
            .registry()
            .register(&mut client, CONN, Interest::READABLE)
            .unwrap();
        poll_until(&mut client_poll, CONN, Event::is_readable);
        drop(client);
        if name.starts_with("tuntcp->") {
            poll_until(&mut poll, CONN, Event::is_error);
            let err = server.read(&mut [0u8; 8]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{name}");
        } else {
            poll_until(&mut poll, CONN, Event::is_read_closed);
        }
    });
}

#[test]
fn poll_times_out_empty_and_deregistered_sockets_are_silent() {
    for_each_pairing(|name, net| {
        let listener = net.listen(7);
        let mut client = net.connect(7).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        let mut poll = Poll::new(&net.server).unwrap();
        let mut events = Events::with_capacity(8);
        poll.registry()
            .register(&mut server, CONN, Interest::READABLE)
            .unwrap();
        poll.poll(&mut events, Some(Duration::ZERO)).unwrap();
        assert!(events.is_empty(), "{name}: nothing to read yet");
        let again = poll
            .registry()
            .register(&mut server, CONN, Interest::READABLE);
        assert_eq!(again.unwrap_err().kind(), ErrorKind::AlreadyExists);
        // A new token through reregister.
        poll.registry()
            .reregister(&mut server, Token(7), Interest::READABLE)
            .unwrap();
        client.write_all(b"a").unwrap();
        poll_until(&mut poll, Token(7), Event::is_readable);
        let mut buf = [0u8; 8];
        assert_eq!(server.read(&mut buf).unwrap(), 1);
        // Deregistered: data arrives (the blocking read below proves it),
        // and no event says so.
        poll.registry().deregister(&mut server).unwrap();
        client.write_all(b"b").unwrap();
        server.set_nonblocking(false).unwrap();
        server.set_read_timeout(Some(PATIENCE)).unwrap();
        assert_eq!(server.read(&mut buf).unwrap(), 1);
        poll.poll(&mut events, Some(Duration::ZERO)).unwrap();
        assert!(
            events.is_empty(),
            "{name}: {:?}",
            events.iter().collect::<Vec<_>>()
        );
    });
}

#[test]
fn a_stopping_stack_ends_a_blocked_poll_with_an_error() {
    for_each_pairing(|name, net| {
        let (_listener, mut poll) = polled_listener(&net, 7);
        let server = net.server.clone();
        let polling = std::thread::spawn(move || {
            let mut events = Events::with_capacity(8);
            poll.poll(&mut events, Some(PATIENCE))
        });
        server.shutdown().unwrap();
        let result = polling.join().unwrap();
        // Either it slept and was woken, or it saw the stop on entry.
        assert!(result.is_err(), "{name}: {result:?}");
    });
}

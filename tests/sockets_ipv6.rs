//! The socket API over IPv6 (RFC 8200) and both families at once, end to
//! end over real driver threads: two of our stacks, each with an IPv4 and
//! an IPv6 address, joined by a socketpair "wire" in one process (no root,
//! no TUN). As `tests/sockets.rs`, but for what IPv6 adds: addresses of
//! either family through `ToSocketAddrs`, `peer_addr`/`local_addr` of the
//! right family, and listeners on `0.0.0.0` or `[::]` taking both
//! (dual-stack).

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tuntcp::device::socketpair::SocketPairDevice;
use tuntcp::engine::{Stack as Engine, StackConfig};
use tuntcp::socket::{Stack, TcpListener, TcpStream};

const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const SERVER_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const CLIENT_IP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
const SERVER_IP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);
/// Bounds every wait so a broken stack fails the test instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(20);

/// Two running dual-stack stacks on one wire.
struct Net {
    client: Stack,
    server: Stack,
}

fn engine(v4: Ipv4Addr, v6: Ipv6Addr) -> Box<Engine> {
    let config = StackConfig::new(v4).with_ipv6(v6).with_random_secret();
    Box::new(Engine::new(config))
}

impl Net {
    fn new() -> Net {
        let (a, b) = SocketPairDevice::pair().unwrap();
        Net {
            client: Stack::start(engine(CLIENT_IP, CLIENT_IP6), Box::new(a)).unwrap(),
            server: Stack::start(engine(SERVER_IP, SERVER_IP6), Box::new(b)).unwrap(),
        }
    }

    fn connect(&self, to: impl std::net::ToSocketAddrs) -> std::io::Result<TcpStream> {
        let stream = TcpStream::connect_on(&self.client, to, Some(PATIENCE))?;
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        Ok(stream)
    }
}

/// Echoes one line through a fresh connection to `to`, accepted by
/// `listener`; returns (client's local, client's peer, server's peer).
fn echo_once(net: &Net, listener: &TcpListener, to: SocketAddr) -> [SocketAddr; 3] {
    let mut client = net.connect(to).unwrap();
    let (mut server, from) = listener.accept().unwrap();
    server.set_read_timeout(Some(PATIENCE)).unwrap();
    assert_eq!(server.peer_addr().unwrap(), from);
    client.write_all(b"over IPv6?\n").unwrap();
    let mut line = [0u8; 11];
    server.read_exact(&mut line).unwrap();
    server.write_all(&line).unwrap();
    let mut back = [0u8; 11];
    client.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"over IPv6?\n");
    [
        client.local_addr().unwrap(),
        client.peer_addr().unwrap(),
        from,
    ]
}

#[test]
fn a_connection_over_ipv6_knows_its_ipv6_addresses() {
    let net = Net::new();
    let listener = TcpListener::bind_on(&net.server, "[2001:db8::2]:7", 16).unwrap();
    assert_eq!(
        listener.local_addr().unwrap(),
        "[2001:db8::2]:7".parse().unwrap()
    );
    let [local, peer, from] = echo_once(&net, &listener, "[2001:db8::2]:7".parse().unwrap());
    assert_eq!(peer, "[2001:db8::2]:7".parse().unwrap());
    assert_eq!(local.ip(), IpAddr::V6(CLIENT_IP6));
    assert_eq!(from, local, "the server sees the client's own address");
}

#[test]
fn a_listener_on_either_unspecified_address_accepts_both_families() {
    for (any, shown) in [("0.0.0.0:7", "192.0.2.2:7"), ("[::]:7", "[2001:db8::2]:7")] {
        let net = Net::new();
        let listener = TcpListener::bind_on(&net.server, any, 16).unwrap();
        assert_eq!(listener.local_addr().unwrap(), shown.parse().unwrap());
        for to in ["192.0.2.2:7", "[2001:db8::2]:7"] {
            let to: SocketAddr = to.parse().unwrap();
            let [local, peer, from] = echo_once(&net, &listener, to);
            assert_eq!(peer, to, "{any}");
            assert_eq!(from, local, "{any}");
            assert_eq!(from.is_ipv6(), to.is_ipv6(), "{any}: the family is kept");
        }
    }
}

#[test]
fn a_listener_on_one_family_refuses_the_other() {
    let net = Net::new();
    let _v6 = TcpListener::bind_on(&net.server, "[2001:db8::2]:7", 16).unwrap();
    let refused = net.connect("192.0.2.2:7").unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);
    // The IPv4 side of the port is free to bind; a dual-stack bind is not.
    let _v4 = TcpListener::bind_on(&net.server, "192.0.2.2:7", 16).unwrap();
    let taken = TcpListener::bind_on(&net.server, "[::]:7", 16)
        .err()
        .unwrap();
    assert_eq!(taken.kind(), ErrorKind::AddrInUse);
}

#[test]
fn a_closed_ipv6_port_is_refused() {
    let net = Net::new();
    let refused = net.connect("[2001:db8::2]:9").unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);
}

#[test]
fn ipv6_bulk_arrives_exactly_and_read_returns_zero_after_fin() {
    let net = Net::new();
    let listener = TcpListener::bind_on(&net.server, "[::]:7", 16).unwrap();
    let data: Vec<u8> = (0..1_000_000)
        .map(|i: usize| (i * 7 + i / 251) as u8)
        .collect();
    let sent = data.clone();
    let mut client = net.connect((SERVER_IP6, 7)).unwrap();
    let writer = std::thread::spawn(move || {
        client.write_all(&sent).unwrap();
        client.shutdown(std::net::Shutdown::Write).unwrap();
    });
    let (mut server, _) = listener.accept().unwrap();
    server.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut got = Vec::new();
    server.read_to_end(&mut got).unwrap();
    writer.join().unwrap();
    assert!(
        got == data,
        "{} bytes of {} arrived intact?",
        got.len(),
        data.len()
    );
}

/// `tuntcp::tokio` over IPv6: the async wrappers pass the addresses on.
#[cfg(feature = "tokio")]
#[test]
fn tokio_streams_speak_ipv6() {
    use ::tokio::io::{AsyncReadExt, AsyncWriteExt};
    let net = Net::new();
    let runtime = ::tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let listener = tuntcp::tokio::TcpListener::bind_on(&net.server, "[::]:7", 16).unwrap();
        let mut client = tuntcp::tokio::TcpStream::connect_on(&net.client, "[2001:db8::2]:7")
            .await
            .unwrap();
        let (mut server, from) = listener.accept().await.unwrap();
        assert_eq!(from, client.local_addr().unwrap());
        assert_eq!(from.ip(), IpAddr::V6(CLIENT_IP6));
        assert_eq!(
            server.local_addr().unwrap(),
            "[2001:db8::2]:7".parse().unwrap()
        );
        client.write_all(b"async six").await.unwrap();
        let mut buf = [0u8; 9];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"async six");
    });
}

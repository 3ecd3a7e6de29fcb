//! The control socket `tuntcp ss` attaches to.
//!
//! Each running stack answers on an abstract Unix socket named after its
//! interface, `@tuntcp/IFACE`. Abstract names belong to the network
//! namespace, as interface names do, so `ip netns exec NS tuntcp ss` finds
//! the stack of that namespace's tun0 and no other, and nothing is left
//! on disk when the stack ends. Abstract sockets have no file permissions:
//! the server asks the kernel who connected (SO_PEERCRED) and answers root
//! only, since the view shows every connection of the stack.
//!
//! The protocol is one exchange: connect, read until the server closes.
//! The first line is `OK` (the view follows) or `DENIED reason`.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::fd::AsRawFd;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};

use tuntcp::apps::ss;
use tuntcp::socket::Stack;

fn address(iface: &str) -> io::Result<SocketAddr> {
    SocketAddr::from_abstract_name(format!("tuntcp/{iface}"))
}

/// Starts the thread that answers `tuntcp ss` for `stack` on `iface`.
/// A second stack on the same interface cannot exist (the TUN device is
/// taken), so a name in use is some other program's: say so and go on.
pub fn serve(stack: &Stack, iface: &str) {
    let listener = match address(iface).and_then(|addr| UnixListener::bind_addr(&addr)) {
        Ok(listener) => listener,
        Err(err) => {
            log::warn!("no control socket for tuntcp ss on {iface}: {err}");
            return;
        }
    };
    let (stack, name) = (stack.clone(), iface.to_string());
    let spawned = std::thread::Builder::new()
        .name("control".into())
        .spawn(move || {
            for client in listener.incoming().flatten() {
                if let Err(err) = answer(client, &stack, &name) {
                    log::debug!("tuntcp ss client: {err}");
                }
            }
        });
    if let Err(err) = spawned {
        log::warn!("no control socket for tuntcp ss on {iface}: {err}");
    }
}

fn answer(mut client: UnixStream, stack: &Stack, iface: &str) -> io::Result<()> {
    let uid = peer_uid(&client)?;
    if uid != 0 {
        return writeln!(
            client,
            "DENIED only root may look at the stack (you are uid {uid})"
        );
    }
    let engine = super::engine_in_words(stack.engine_name());
    let text = ss::render(&stack.view(), engine, iface);
    write!(client, "OK\n{text}")
}

/// The user id of the process at the other end (SO_PEERCRED, unix(7)).
fn peer_uid(stream: &UnixStream) -> io::Result<u32> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: getsockopt on our own socket into a correctly sized ucred.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(cred.uid)
}

/// Asks the stack on `iface` (in this network namespace) for its view.
/// The error is a sentence for the user.
pub fn query(iface: &str) -> Result<String, String> {
    let stream = address(iface)
        .and_then(|addr| UnixStream::connect_addr(&addr))
        .map_err(|err| match err.kind() {
            io::ErrorKind::ConnectionRefused | io::ErrorKind::NotFound => format!(
                "no tuntcp stack runs on {iface} in this network namespace (start one with tuntcp echo --iface {iface})"
            ),
            _ => format!("cannot reach the stack on {iface}: {err}"),
        })?;
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    let mut text = String::new();
    reader
        .read_line(&mut status)
        .and_then(|_| reader.read_to_string(&mut text))
        .map_err(|err| format!("reading from the stack on {iface}: {err}"))?;
    match status.trim_end().split_once(' ') {
        _ if status.trim_end() == "OK" => Ok(text),
        Some(("DENIED", why)) => Err(why.to_string()),
        _ => Err(format!("the stack on {iface} gave no answer")),
    }
}

//! The application on the engine side of a replay, doing what the recorded
//! one did: the echo server (`tuntcp echo`) or the client (`tuntcp
//! connect`), written against the [`Engine`] trait directly so it runs on
//! virtual time, without the driver.
//!
//! One liberty is taken: where the recorded application called close(),
//! this one calls `shutdown_write` and keeps its handle until the replay
//! ends. On the wire it is the same (everything was read, so there is no
//! RST for unread data), and the handle lets the replay watch the
//! connection's state through FIN-WAIT, LAST-ACK and TIME-WAIT.

use super::recorded::{fin_position, stream_of, Recorded, SessionError};
use super::session::Replay;
use crate::engine::{ApiError, ConnId, Engine, ListenerId};
use crate::time::Instant;

/// Which application runs on the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppKind {
    /// Accept, echo every byte, close after the peer's FIN once everything
    /// is echoed.
    EchoServer,
    /// Connect, send what the recorded stack sent, FIN after it if the
    /// recorded stack closed first, close after the peer's FIN.
    Client,
}

impl AppKind {
    /// What the recorded application was: a client if the stack sent the
    /// first SYN, the echo server otherwise.
    pub fn of(recorded: &Recorded) -> AppKind {
        if recorded.active_open {
            AppKind::Client
        } else {
            AppKind::EchoServer
        }
    }
}

pub(super) enum App {
    /// `None` listener: the recorded stack refused the connection (no
    /// SYN,ACK), so nothing listens.
    EchoServer {
        listener: Option<ListenerId>,
        pending: Vec<u8>,
    },
    Client {
        to_send: Vec<u8>,
        sent: usize,
        fin_first: bool,
        shut: bool,
    },
}

/// What the application saw.
#[derive(Debug, Default)]
pub struct AppView {
    pub conn: Option<ConnId>,
    pub received: Vec<u8>,
    /// The peer's FIN was read (recv returned 0).
    pub eof: bool,
    /// The application closed its side, or gave up after an error.
    pub closed: bool,
    pub errors: Vec<ApiError>,
}

impl App {
    pub(super) fn new(
        kind: AppKind,
        engine: &mut dyn Engine,
        recorded: &Recorded,
    ) -> Result<App, SessionError> {
        Ok(match kind {
            AppKind::Client => App::Client {
                to_send: stream_of(&recorded.stack, "recorded stack")?,
                sent: 0,
                fin_first: fin_position(&recorded.stack) < fin_position(&recorded.peer),
                shut: false,
            },
            AppKind::EchoServer => {
                // Listen only where the recorded stack answered with SYN,ACK.
                let answered = recorded.stack.iter().any(|p| p.seg.syn);
                let port = recorded.stack_end.port();
                let listener = match answered {
                    true => Some(
                        engine
                            .listen(recorded.stack_end, 8)
                            .map_err(|error| SessionError::Listen { port, error })?,
                    ),
                    false => None,
                };
                App::EchoServer {
                    listener,
                    pending: Vec::new(),
                }
            }
        })
    }

    pub(super) fn is_listening(&self) -> bool {
        matches!(
            self,
            App::EchoServer {
                listener: Some(_),
                ..
            }
        )
    }

    fn done_writing(&self) -> bool {
        match self {
            App::EchoServer { pending, .. } => pending.is_empty(),
            App::Client { to_send, sent, .. } => *sent == to_send.len(),
        }
    }
}

impl Replay {
    /// One round of the application; true if it did anything.
    pub(super) fn step_app(&mut self, now: Instant, recorded: &Recorded) -> bool {
        if self.view.closed {
            return false;
        }
        let mut moved = false;
        if self.view.conn.is_none() {
            moved |= self.open(now, recorded);
        }
        let Some(conn) = self.view.conn else {
            return moved;
        };
        moved |= self.read_all(now, conn);
        moved |= self.write_some(now, conn);
        if self.view.eof && self.app.done_writing() && !self.view.closed {
            // See the module docs: close(), keeping the handle.
            let _ = self.engine.shutdown_write(conn);
            self.view.closed = true;
            self.note_app(now, "close()".into());
            moved = true;
        }
        moved
    }

    fn open(&mut self, now: Instant, recorded: &Recorded) -> bool {
        match &self.app {
            App::EchoServer { listener, .. } => {
                let Some(listener) = *listener else {
                    return false;
                };
                match self.engine.accept(listener) {
                    Ok(conn) => {
                        self.view.conn = Some(conn);
                        self.note_app(now, "accept()".into());
                    }
                    Err(ApiError::WouldBlock) => return false,
                    Err(err) => self.view.errors.push(err),
                }
            }
            App::Client { .. } => {
                let port = Some(recorded.stack_end.port());
                match self.engine.connect(now, recorded.peer_end, port) {
                    Ok(conn) => {
                        self.view.conn = Some(conn);
                        self.note_app(now, format!("connect({})", recorded.peer_end));
                    }
                    Err(err) => {
                        self.view.errors.push(err);
                        self.view.closed = true;
                    }
                }
            }
        }
        true
    }

    fn read_all(&mut self, now: Instant, conn: ConnId) -> bool {
        let mut buf = [0u8; 4096];
        let mut total = 0;
        let mut moved = false;
        while !self.view.eof {
            match self.engine.recv(conn, &mut buf) {
                Ok(0) => self.view.eof = true,
                Ok(n) => {
                    total += n;
                    self.view.received.extend_from_slice(&buf[..n]);
                    if let App::EchoServer { pending, .. } = &mut self.app {
                        pending.extend_from_slice(&buf[..n]);
                    }
                }
                Err(ApiError::WouldBlock) => break,
                Err(err) => {
                    self.view.errors.push(err);
                    self.view.closed = true;
                    self.note_app(now, format!("recv failed: {err}"));
                    return true;
                }
            }
            moved = true;
        }
        if total > 0 {
            self.note_app(now, format!("read {total} bytes"));
        }
        if self.view.eof && moved {
            self.note_app(now, "read end of stream (the peer's FIN)".into());
        }
        moved
    }

    fn write_some(&mut self, now: Instant, conn: ConnId) -> bool {
        let engine = &mut self.engine;
        let mut written = 0;
        let mut shut_now = false;
        match &mut self.app {
            App::EchoServer { pending, .. } => {
                while !pending.is_empty() {
                    let Ok(n) = engine.send(conn, pending) else {
                        break;
                    };
                    pending.drain(..n);
                    written += n;
                }
            }
            App::Client {
                to_send,
                sent,
                fin_first,
                shut,
            } => {
                // The client must wait for the handshake before writing.
                if engine.connect_status(conn).is_err() {
                    return false;
                }
                while *sent < to_send.len() {
                    let Ok(n) = engine.send(conn, &to_send[*sent..]) else {
                        break;
                    };
                    *sent += n;
                    written += n;
                }
                if *fin_first && !*shut && *sent == to_send.len() {
                    *shut = true;
                    shut_now = true;
                    if let Err(err) = engine.shutdown_write(conn) {
                        self.view.errors.push(err);
                    }
                }
            }
        }
        if written > 0 {
            self.note_app(now, format!("wrote {written} bytes"));
        }
        if shut_now {
            self.note_app(now, "shutdown(write): no more to send".into());
        }
        written > 0 || shut_now
    }
}

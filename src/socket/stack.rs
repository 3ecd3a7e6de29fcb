//! [`Stack`]: a running engine and its driver, the handle sockets are made on.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, ToSocketAddrs};
use std::sync::{Arc, Mutex, OnceLock};

use crate::device::Device;
use crate::driver::trace::TraceWriter;
use crate::driver::{Driver, EngineCell};
use crate::engine::{Engine, EngineStats, StackView};

/// A started stack: an engine driven over a device by its own thread.
/// Cheap to clone; every clone is the same stack.
#[derive(Clone)]
pub struct Stack {
    cell: Arc<EngineCell>,
    driver: Arc<Mutex<Driver>>,
    name: &'static str,
    local_ip: Ipv4Addr,
}

/// The stack `TcpListener::bind` and `TcpStream::connect` use when given no
/// stack, so a std::net program ports by changing its imports.
static DEFAULT_STACK: OnceLock<Stack> = OnceLock::new();

impl Stack {
    /// Starts the driver thread for `engine` over `device`.
    pub fn start(engine: Box<dyn Engine>, device: Box<dyn Device>) -> io::Result<Stack> {
        Stack::start_traced(engine, device, None)
    }

    /// [`Stack::start`], writing segments and state changes to `trace`
    /// (`--trace FILE`, see `driver/trace.rs`). State changes appear only
    /// if the engine records them (our engine with `StackConfig::trace`).
    pub fn start_traced(
        engine: Box<dyn Engine>,
        device: Box<dyn Device>,
        trace: Option<TraceWriter>,
    ) -> io::Result<Stack> {
        let name = engine.name();
        let local_ip = engine.local_ip();
        let driver = Driver::start_traced(engine, device, trace)?;
        Ok(Stack {
            cell: Arc::clone(driver.cell()),
            driver: Arc::new(Mutex::new(driver)),
            name,
            local_ip,
        })
    }

    /// Makes this the stack that `TcpListener::bind` and
    /// `TcpStream::connect` use. Only the first call per process counts.
    pub fn set_default(&self) -> bool {
        DEFAULT_STACK.set(self.clone()).is_ok()
    }

    pub(crate) fn default_stack() -> io::Result<Stack> {
        DEFAULT_STACK.get().cloned().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotConnected,
                "no tuntcp stack is running: start one and call Stack::set_default",
            )
        })
    }

    /// "tuntcp" or "smoltcp".
    pub fn engine_name(&self) -> &'static str {
        self.name
    }

    /// The stack's own IPv4 address.
    pub fn local_ip(&self) -> Ipv4Addr {
        self.local_ip
    }

    /// The engine's counters.
    pub fn stats(&self) -> EngineStats {
        self.cell.lock().stats()
    }

    /// Every connection and listener with its TCP variables, and the
    /// counters, now (what `tuntcp ss` shows).
    pub fn view(&self) -> StackView {
        self.cell.lock().view(self.cell.now())
    }

    /// Stops the driver and releases the device (closing the TUN device and
    /// flushing a pcap tap). Sockets return errors afterwards.
    pub fn shutdown(&self) -> io::Result<()> {
        self.driver
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .stop()
    }

    /// True once [`Stack::shutdown`] has begun, or the driver has died.
    pub fn is_stopped(&self) -> bool {
        self.cell.is_stopped()
    }

    /// Why the driver died (a device failure), if it did.
    pub fn failure(&self) -> Option<String> {
        self.cell.failure().map(str::to_string)
    }

    pub(crate) fn cell(&self) -> &Arc<EngineCell> {
        &self.cell
    }

    /// The address to listen on: `0.0.0.0` means the stack's own.
    pub(crate) fn local_endpoint(&self, addr: impl ToSocketAddrs) -> io::Result<SocketAddrV4> {
        let v4 = resolve_v4(addr)?;
        if v4.ip().is_unspecified() {
            return Ok(SocketAddrV4::new(self.local_ip, v4.port()));
        }
        Ok(v4)
    }
}

/// The first IPv4 address `addr` resolves to.
pub(crate) fn resolve_v4(addr: impl ToSocketAddrs) -> io::Result<SocketAddrV4> {
    addr.to_socket_addrs()?
        .find_map(|a| match a {
            SocketAddr::V4(v4) => Some(v4),
            SocketAddr::V6(_) => None,
        })
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "tuntcp speaks IPv4 only: give an IPv4 address",
            )
        })
}

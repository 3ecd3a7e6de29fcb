//! [`Stack`]: a running engine and its driver, the handle sockets are made on.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
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
    local_ip_v6: Option<Ipv6Addr>,
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
        let local_ip_v6 = engine.local_ip_v6();
        let driver = Driver::start_traced(engine, device, trace)?;
        Ok(Stack {
            cell: Arc::clone(driver.cell()),
            driver: Arc::new(Mutex::new(driver)),
            name,
            local_ip,
            local_ip_v6,
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

    /// The stack's own IPv6 address, if it speaks IPv6.
    pub fn local_ip_v6(&self) -> Option<Ipv6Addr> {
        self.local_ip_v6
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

    /// The address to listen on (given to the engine as it is: the
    /// unspecified address of either family takes both, as a dual-stack
    /// socket), and the address `local_addr` shows for it: the stack's
    /// own in that family (IPv4's when it has no IPv6 address).
    pub(crate) fn local_endpoint(
        &self,
        addr: impl ToSocketAddrs,
    ) -> io::Result<(SocketAddr, SocketAddr)> {
        let bind = resolve(addr)?;
        if !bind.ip().is_unspecified() {
            return Ok((bind, bind));
        }
        let own = match bind.ip() {
            IpAddr::V6(_) => self
                .local_ip_v6
                .map_or(IpAddr::V4(self.local_ip), IpAddr::V6),
            IpAddr::V4(_) => IpAddr::V4(self.local_ip),
        };
        Ok((bind, SocketAddr::new(own, bind.port())))
    }
}

/// The first address `addr` resolves to, of either family (as std's
/// `connect` tries the first).
pub(crate) fn resolve(addr: impl ToSocketAddrs) -> io::Result<SocketAddr> {
    addr.to_socket_addrs()?.next().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        )
    })
}

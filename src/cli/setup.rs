//! From command-line options to a running [`Stack`]: open the TUN device,
//! give the kernel's side its address, wrap it in a pcap tap and an
//! impairment, start the chosen engine.

use tuntcp::device::impair::{ImpairedDevice, Impairment};
use tuntcp::device::netconfig::configure_host_side;
use tuntcp::device::pcap::PcapTap;
use tuntcp::device::tun::TunDevice;
use tuntcp::device::Device;
use tuntcp::engine::{Engine, StackConfig};
use tuntcp::reference::{SmolConfig, SmolEngine};
use tuntcp::socket::Stack;

use super::args::{NetArgs, StackKind};

/// A failure to start, as the sentence shown to the user.
pub type SetupError = String;

/// Opens and configures the device and starts the engine over it.
pub fn start_stack(net: &NetArgs) -> Result<Stack, SetupError> {
    check_addresses(net)?;
    let device = open_device(net)?;
    let engine: Box<dyn Engine> = match net.stack {
        StackKind::Tuntcp => Box::new(tuntcp::engine::Stack::new(
            StackConfig::new(net.addr).with_random_secret(),
        )),
        StackKind::Smoltcp => Box::new(SmolEngine::new(SmolConfig::new(net.addr))),
    };
    let stack = Stack::start(engine, device)
        .map_err(|err| format!("cannot start the stack's driver thread: {err}"))?;
    stack.set_default();
    Ok(stack)
}

/// The stack's address and the kernel side's must differ and share a
/// network, or the kernel would never route packets to the TUN device.
fn check_addresses(net: &NetArgs) -> Result<(), SetupError> {
    if net.no_configure {
        return Ok(());
    }
    if net.addr == net.host_addr.addr {
        return Err(format!(
            "--addr {} is the address given to the kernel's side (--host-addr {}); the stack needs another one, e.g. 192.0.2.2",
            net.addr, net.host_addr
        ));
    }
    if !net.host_addr.contains(net.addr) {
        return Err(format!(
            "--addr {} is outside --host-addr {}: the kernel would not route it to {}",
            net.addr, net.host_addr, net.iface
        ));
    }
    Ok(())
}

/// The device the driver uses: TUN, then (with --pcap) the tap, then
/// (with --impair) the impairment. The tap sits between the TUN device and
/// the impairment, so the capture shows what really crossed tun0: a packet
/// the impairment drops on its way out never appears as sent.
fn open_device(net: &NetArgs) -> Result<Box<dyn Device>, SetupError> {
    let tun = TunDevice::open(&net.iface).map_err(|err| err.to_string())?;
    if !net.no_configure {
        configure_host_side(&net.iface, net.host_addr.addr, net.host_addr.prefix_len)
            .map_err(|err| err.to_string())?;
    }
    match &net.pcap {
        None => Ok(impaired(tun, net.impair)),
        Some(path) => {
            let tap = PcapTap::create(tun, path)
                .map_err(|err| format!("cannot write the pcap file {}: {err}", path.display()))?;
            Ok(impaired(tap, net.impair))
        }
    }
}

fn impaired<D: Device + 'static>(device: D, impairment: Option<Impairment>) -> Box<dyn Device> {
    match impairment {
        None => Box::new(device),
        Some(impairment) => Box::new(ImpairedDevice::new(device, impairment)),
    }
}

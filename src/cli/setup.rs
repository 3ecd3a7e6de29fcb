//! From command-line options to a running [`Stack`]: open the TUN device,
//! give the kernel's side its address, wrap it in a pcap tap and an
//! impairment, start the chosen engine.

use std::net::{IpAddr, Ipv4Addr};
use tuntcp::device::impair::{ImpairedDevice, Impairment};

use tuntcp::device::netconfig::configure_host_side;
use tuntcp::device::netconfig_v6::{configure_host_side_v6, IPV6_MIN_MTU};
use tuntcp::device::pcap::PcapTap;
use tuntcp::device::tun::TunDevice;
use tuntcp::device::tun_offload::OffloadTunDevice;
use tuntcp::device::tun_queue::set_tx_queue_len;
use tuntcp::device::Device;
use tuntcp::driver::trace;
use tuntcp::engine::{CongestionControl, Engine, StackConfig};
use tuntcp::reference::{SmolConfig, SmolEngine};
use tuntcp::socket::Stack;

use super::args::{Addresses, CcKind, NetArgs, StackKind};

/// A failure to start, as the sentence shown to the user.
pub type SetupError = String;

/// Opens and configures the device and starts the engine over it, with
/// the addresses `net.addresses()` resolved.
pub fn start_stack(net: &NetArgs, addrs: &Addresses) -> Result<Stack, SetupError> {
    check_ipv6_mtu(net, addrs)?;
    check_offload(net)?;
    check_msl(net)?;
    check_cc(net)?;
    check_mtu(net)?;
    let device = open_device(net, addrs)?;
    let engine: Box<dyn Engine> = match net.stack {
        StackKind::Tuntcp => Box::new(tuntcp::engine::Stack::new(stack_config(
            net,
            addrs,
            device.as_ref(),
        ))),
        StackKind::Smoltcp => {
            let mut config = SmolConfig::new(stack_v4(addrs));
            config.addr_v6 = addrs.stack_v6;
            Box::new(SmolEngine::new(config))
        }
    };
    let trace = match &net.trace {
        None => None,
        Some(path) => Some(
            trace::create(path)
                .map_err(|err| format!("cannot write the trace file {}: {err}", path.display()))?,
        ),
    };
    let stack = Stack::start_traced(engine, device, trace)
        .map_err(|err| format!("cannot start the stack's driver thread: {err}"))?;
    stack.set_default();
    super::control::serve(&stack, &net.iface);
    Ok(stack)
}

/// Our engine's settings for this device: the MSS its MTU allows
/// (RFC 9293 §3.7.1: MTU less 40 bytes of IPv4 and TCP headers; the
/// engine takes 20 more off over IPv6) and, on a
/// device that segments for us, segments as large as it takes.
fn stack_config(net: &NetArgs, addrs: &Addresses, device: &dyn Device) -> StackConfig {
    let mut config = stack_config_for(addrs).with_random_secret();
    config.msl = std::time::Duration::from_secs(net.msl);
    config.timestamps = !net.no_timestamps;
    config.syn_cookies = !net.no_syn_cookies;
    if net.ecn {
        config.ecn = tuntcp::engine::EcnMode::On;
    }
    config.trace = net.trace.is_some();
    config.mss = u16::try_from(device.mtu().saturating_sub(40)).unwrap_or(u16::MAX);
    if device.max_packet() > device.mtu() {
        config.offload_segment = Some(device.max_packet());
    }
    config.congestion_control = match net.cc {
        None | Some(CcKind::Cubic) => CongestionControl::Cubic,
        Some(CcKind::Newreno) => CongestionControl::NewReno,
        Some(CcKind::Bbr) => CongestionControl::Bbr,
    };
    log::info!("congestion control: {}", config.congestion_control);
    config
}

/// The one place the stack's addresses become our engine's settings.
fn stack_config_for(addrs: &Addresses) -> StackConfig {
    let config = StackConfig::new(stack_v4(addrs));
    match addrs.stack_v6 {
        Some(v6) => config.with_ipv6(v6),
        None => config,
    }
}

/// The engines take one IPv4 address; an IPv6-only stack gets the
/// unspecified one, which the kernel never routes to the device (its
/// side has no IPv4 address then).
fn stack_v4(addrs: &Addresses) -> Ipv4Addr {
    addrs.stack_v4.unwrap_or(Ipv4Addr::UNSPECIFIED)
}

/// Linux turns IPv6 off on a link whose MTU is below 1280 (RFC 8200 §5),
/// so an IPv6 address there would be refused with a puzzling error.
fn check_ipv6_mtu(net: &NetArgs, addrs: &Addresses) -> Result<(), SetupError> {
    match (net.mtu, addrs.stack_v6) {
        (Some(mtu), Some(v6)) if usize::from(mtu) < IPV6_MIN_MTU => Err(format!(
            "--mtu {mtu} is below IPv6's minimum of {IPV6_MIN_MTU} (RFC 8200 §5), and the stack has \
             the IPv6 address {v6}: give --mtu {IPV6_MIN_MTU} or more, or only IPv4 addresses (--addr 192.0.2.2)"
        )),
        _ => Ok(()),
    }
}

/// smoltcp has its own congestion control: say so rather than ignore --cc.
fn check_cc(net: &NetArgs) -> Result<(), SetupError> {
    if net.cc.is_some() && net.stack != StackKind::Tuntcp {
        return Err(
            "--cc works with our engine only (--stack tuntcp); smoltcp has its own congestion control"
                .to_string(),
        );
    }
    Ok(())
}

/// Offloads hand the stack segments larger than the MTU, which only our
/// engine is built to take and send.
fn check_offload(net: &NetArgs) -> Result<(), SetupError> {
    if net.offload && net.stack != StackKind::Tuntcp {
        return Err(
            "--offload works with our engine only (--stack tuntcp); smoltcp expects packets no larger than the MTU"
                .to_string(),
        );
    }
    Ok(())
}

/// smoltcp's TIME-WAIT length is built in: say so rather than ignore --msl.
fn check_msl(net: &NetArgs) -> Result<(), SetupError> {
    if net.msl != 30 && net.stack != StackKind::Tuntcp {
        return Err(
            "--msl works with our engine only (--stack tuntcp); smoltcp's TIME-WAIT is fixed at 10 s"
                .to_string(),
        );
    }
    Ok(())
}

/// smoltcp's device MTU is built in (1500): say so rather than have the
/// kernel send it packets it cannot take.
fn check_mtu(net: &NetArgs) -> Result<(), SetupError> {
    if net.mtu.is_some() && net.stack != StackKind::Tuntcp {
        return Err(
            "--mtu works with our engine only (--stack tuntcp); smoltcp's MTU is fixed at 1500"
                .to_string(),
        );
    }
    Ok(())
}

/// The device the driver uses: TUN, then (with --pcap) the tap, then
/// (with --impair) the impairment. With offloads the TUN device is the
/// one with segmentation offload, and the tap records the large segments
/// that cross it as the MTU-sized packets the kernel cuts them into. The tap sits between the TUN device and
/// the impairment, so the capture shows what really crossed tun0: a packet
/// the impairment drops on its way out never appears as sent.
fn open_device(net: &NetArgs, addrs: &Addresses) -> Result<Box<dyn Device>, SetupError> {
    let mtu = net.mtu.map(usize::from);
    if wants_offload(net) {
        match OffloadTunDevice::open(&net.iface) {
            Ok(mut tun) => {
                if let Some(mtu) = mtu {
                    tun.set_mtu(mtu).map_err(|err| err.to_string())?;
                }
                return configure_and_wrap(tun, net, addrs);
            }
            Err(err) if net.offload => return Err(err.to_string()),
            // Offloads were only the default: a kernel without them still
            // gets a working stack, one packet per MTU.
            Err(err) => log::info!("TUN offloads unavailable ({err}); packets cross at the MTU"),
        }
    }
    let mut tun = TunDevice::open(&net.iface).map_err(|err| err.to_string())?;
    if let Some(mtu) = mtu {
        tun.set_mtu(mtu).map_err(|err| err.to_string())?;
    }
    configure_and_wrap(tun, net, addrs)
}

/// Offloads are the fastest correct device path, so our engine takes them
/// unless told not to or the link is impaired on purpose: an impairment
/// acts on each packet, and a 64 KB segment is not what a wire would lose
/// or reorder. smoltcp cannot take segments larger than the MTU.
fn wants_offload(net: &NetArgs) -> bool {
    if net.no_offload || net.stack != StackKind::Tuntcp {
        return false;
    }
    net.offload || net.impair.is_none()
}

fn configure_and_wrap<D: Device + 'static>(
    tun: D,
    net: &NetArgs,
    addrs: &Addresses,
) -> Result<Box<dyn Device>, SetupError> {
    if !net.no_configure {
        set_tx_queue_len(&net.iface, net.txqueuelen).map_err(|err| err.to_string())?;
        super::signals::watch_queue_drops(&net.iface);
    }
    // Empty with --no-configure. IPv4 first: it brings the link up.
    for host in addrs.host() {
        match host.addr {
            IpAddr::V4(v4) => configure_host_side(&net.iface, v4, host.prefix_len),
            IpAddr::V6(v6) => configure_host_side_v6(&net.iface, v6, host.prefix_len),
        }
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::args::{Cli, Command};

    fn echo_net(args: &[&str]) -> NetArgs {
        let cli = Cli::try_parse_from([&["tuntcp", "echo"], args].concat()).unwrap();
        let Command::Echo(echo) = cli.command else {
            panic!("not echo")
        };
        echo.net
    }

    #[test]
    fn cc_is_refused_with_smoltcp_and_says_why() {
        let err = check_cc(&echo_net(&["--stack", "smoltcp", "--cc", "newreno"])).unwrap_err();
        assert!(err.contains("--cc works with our engine only"), "{err}");
        assert!(check_cc(&echo_net(&["--stack", "smoltcp"])).is_ok());
        assert!(check_cc(&echo_net(&["--cc", "newreno"])).is_ok());
    }

    #[test]
    fn an_mtu_too_small_for_ipv6_is_refused_unless_ipv4_only() {
        let net = echo_net(&["--mtu", "576"]);
        let err = check_ipv6_mtu(&net, &net.addresses().unwrap()).unwrap_err();
        assert!(err.contains("below IPv6's minimum of 1280"), "{err}");
        let net = echo_net(&["--mtu", "576", "--addr", "192.0.2.2"]);
        assert!(check_ipv6_mtu(&net, &net.addresses().unwrap()).is_ok());
        let net = echo_net(&["--mtu", "1280"]);
        assert!(check_ipv6_mtu(&net, &net.addresses().unwrap()).is_ok());
    }
}

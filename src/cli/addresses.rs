//! Which addresses the stack and the kernel's side of the TUN device get.
//!
//! By default both families: the stack is 192.0.2.2 and 2001:db8::2, the
//! kernel's side 192.0.2.1/24 and 2001:db8::1/64 (documentation prefixes,
//! RFC 5737 and RFC 3849). `--addr` and `--host-addr` take either family
//! and may be repeated, one address of each family at most; the families a
//! user names are the families served, so `--addr 192.0.2.7` alone is
//! IPv4 only, and the other option's defaults follow.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// The stack's IPv4 address unless `--addr` says otherwise.
pub const DEFAULT_STACK_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
/// The stack's IPv6 address unless `--addr` says otherwise (RFC 3849).
pub const DEFAULT_STACK_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);
const DEFAULT_HOST_V4: Cidr = Cidr {
    addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
    prefix_len: 24,
};
const DEFAULT_HOST_V6: Cidr = Cidr {
    addr: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
    prefix_len: 64,
};

/// An address with a prefix length, `192.0.2.1/24` or `2001:db8::1/64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix_len: u8,
}

impl Cidr {
    /// Whether `ip` is in this network (false for the other family).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix_len))
                    .unwrap_or(0);
                u32::from(ip) & mask == u32::from(net) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix_len))
                    .unwrap_or(0);
                u128::from(ip) & mask == u128::from(net) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = String;
    fn from_str(text: &str) -> Result<Cidr, String> {
        let (addr, prefix) = text.split_once('/').ok_or_else(|| {
            format!("'{text}' is not ADDRESS/PREFIX, e.g. 192.0.2.1/24 or 2001:db8::1/64")
        })?;
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("'{addr}' is not an IPv4 or IPv6 address"))?;
        // Room for the kernel's address and the stack's: /30 and /127 are
        // the smallest such networks (RFC 3021 and /31 aside; RFC 6164).
        let (family, most) = match addr {
            IpAddr::V4(_) => ("IPv4", 30),
            IpAddr::V6(_) => ("IPv6", 127),
        };
        let prefix_len = prefix
            .parse::<u8>()
            .ok()
            .filter(|p| (1..=most).contains(p))
            .ok_or_else(|| {
                format!("prefix '/{prefix}' must be a number from 1 to {most} for {family}")
            })?;
        Ok(Cidr { addr, prefix_len })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

/// `--addr`: a plain unicast address of either family.
pub fn parse_stack_addr(text: &str) -> Result<IpAddr, String> {
    if let Some((plain, _)) = text.split_once('/') {
        return Err(format!(
            "'{text}' is a network; --addr takes a plain address such as {plain} \
             (the prefix belongs to --host-addr, the kernel's side)"
        ));
    }
    let addr: IpAddr = text
        .parse()
        .map_err(|_| format!("'{text}' is not an IPv4 or IPv6 address"))?;
    if addr.is_unspecified() || addr.is_multicast() || addr.is_loopback() {
        return Err(format!(
            "'{addr}' cannot be the stack's address: give a unicast address, e.g. 192.0.2.2 or 2001:db8::2"
        ));
    }
    Ok(addr)
}

/// Both sides' addresses, resolved from the options and checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Addresses {
    pub stack_v4: Option<Ipv4Addr>,
    pub stack_v6: Option<Ipv6Addr>,
    /// The kernel's side; `None` for a family it is not given (and with
    /// `--no-configure`, where the interface is left as it is).
    pub host_v4: Option<Cidr>,
    pub host_v6: Option<Cidr>,
}

impl Addresses {
    /// From `--addr` (`stack`) and `--host-addr` (`host`) as given, empty
    /// when absent. `configure`: false with `--no-configure`.
    pub fn resolve(
        stack: &[IpAddr],
        host: &[Cidr],
        configure: bool,
        iface: &str,
    ) -> Result<Addresses, String> {
        let (given_v4, given_v6) = one_of_each("--addr", stack, |ip| *ip)?;
        let (host_v4, host_v6) = one_of_each("--host-addr", host, |cidr| cidr.addr)?;
        // The families named by one option decide the other's defaults.
        let (want_v4, want_v6) = match (stack.is_empty(), host.is_empty()) {
            (false, _) => (given_v4.is_some(), given_v6.is_some()),
            (true, false) => (host_v4.is_some(), host_v6.is_some()),
            (true, true) => (true, true),
        };
        let stack_v4 = match given_v4 {
            Some(IpAddr::V4(given)) => Some(given),
            _ => want_v4.then_some(DEFAULT_STACK_V4),
        };
        let stack_v6 = match given_v6 {
            Some(IpAddr::V6(given)) => Some(given),
            _ => want_v6.then_some(DEFAULT_STACK_V6),
        };
        let host_default = |want: bool, default| (host.is_empty() && want).then_some(default);
        let mut addresses = Addresses {
            stack_v4,
            stack_v6,
            host_v4: host_v4.or(host_default(stack_v4.is_some(), DEFAULT_HOST_V4)),
            host_v6: host_v6.or(host_default(stack_v6.is_some(), DEFAULT_HOST_V6)),
        };
        if configure {
            addresses.check_routable(iface)?;
        } else {
            (addresses.host_v4, addresses.host_v6) = (None, None);
        }
        Ok(addresses)
    }

    /// The stack's addresses, IPv4 first.
    pub fn stack(&self) -> Vec<IpAddr> {
        let v4 = self.stack_v4.map(IpAddr::V4);
        v4.into_iter()
            .chain(self.stack_v6.map(IpAddr::V6))
            .collect()
    }

    /// The kernel side's addresses to configure, IPv4 first.
    pub fn host(&self) -> Vec<Cidr> {
        self.host_v4.into_iter().chain(self.host_v6).collect()
    }

    /// Each stack address needs a kernel-side network of its family around
    /// it, or the kernel would never route to the TUN device; and each
    /// kernel-side network a stack address to answer in it.
    fn check_routable(&self, iface: &str) -> Result<(), String> {
        for (stack, host) in [
            (self.stack_v4.map(IpAddr::V4), self.host_v4),
            (self.stack_v6.map(IpAddr::V6), self.host_v6),
        ] {
            match (stack, host) {
                (Some(stack), Some(host)) if stack == host.addr => {
                    return Err(format!(
                        "--addr {stack} is the address given to the kernel's side (--host-addr {host}); \
                         the stack needs another one, e.g. {}",
                        example_stack_addr(stack)
                    ))
                }
                (Some(stack), Some(host)) if !host.contains(stack) => {
                    return Err(format!(
                        "--addr {stack} is outside --host-addr {host}: the kernel would not route it to {iface}"
                    ))
                }
                (Some(stack), None) => {
                    return Err(format!(
                        "--addr {stack} needs a --host-addr of its family around it, e.g. {}, \
                         or the kernel would not route it to {iface}",
                        default_host(stack)
                    ))
                }
                (None, Some(host)) => {
                    return Err(format!(
                        "--host-addr {host} has no stack address of its family to answer in it: add one, e.g. --addr {}",
                        example_stack_addr(host.addr)
                    ))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Splits `items` by family, refusing a second one of either.
fn one_of_each<T: fmt::Display + Copy>(
    option: &str,
    items: &[T],
    ip: impl Fn(&T) -> IpAddr,
) -> Result<(Option<T>, Option<T>), String> {
    let (mut v4, mut v6) = (None, None);
    for item in items {
        let (slot, family) = if ip(item).is_ipv4() {
            (&mut v4, "IPv4")
        } else {
            (&mut v6, "IPv6")
        };
        if let Some(first) = slot.replace(*item) {
            return Err(format!(
                "{option} is given twice for {family} ({first} and {item}): one address of each family at most"
            ));
        }
    }
    Ok((v4, v6))
}

fn example_stack_addr(of_family: IpAddr) -> IpAddr {
    match of_family {
        IpAddr::V4(_) => IpAddr::V4(DEFAULT_STACK_V4),
        IpAddr::V6(_) => IpAddr::V6(DEFAULT_STACK_V6),
    }
}

fn default_host(of_family: IpAddr) -> Cidr {
    match of_family {
        IpAddr::V4(_) => DEFAULT_HOST_V4,
        IpAddr::V6(_) => DEFAULT_HOST_V6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn cidr(text: &str) -> Cidr {
        text.parse().unwrap()
    }

    fn resolve(stack: &[&str], host: &[&str]) -> Result<Addresses, String> {
        let stack: Vec<IpAddr> = stack.iter().map(|s| ip(s)).collect();
        let host: Vec<Cidr> = host.iter().map(|h| cidr(h)).collect();
        Addresses::resolve(&stack, &host, true, "tun0")
    }

    #[test]
    fn cidr_parses_both_families_and_rejects_with_reasons() {
        let v4 = cidr("192.0.2.1/24");
        assert_eq!((v4.addr, v4.prefix_len), (ip("192.0.2.1"), 24));
        assert!(v4.contains(ip("192.0.2.2")));
        assert!(!v4.contains(ip("192.0.3.2")));
        assert!(!v4.contains(ip("2001:db8::2")), "another family");
        let v6 = cidr("2001:db8::1/64");
        assert!(v6.contains(ip("2001:db8::2")));
        assert!(v6.contains(ip("2001:db8::ffff:1")));
        assert!(!v6.contains(ip("2001:db9::2")));
        assert!(cidr("2001:db8::1/127").contains(ip("2001:db8::")));
        let err = |text: &str| text.parse::<Cidr>().unwrap_err();
        assert!(err("192.0.2.1").contains("ADDRESS/PREFIX"));
        assert!(err("2001:db8::1").contains("2001:db8::1/64"));
        assert!(err("192.0.2.999/24").contains("not an IPv4 or IPv6"));
        assert!(err("192.0.2.1/33").contains("from 1 to 30 for IPv4"));
        assert!(err("2001:db8::1/129").contains("from 1 to 127 for IPv6"));
        assert!(err("2001:db8::1/300").contains("from 1 to 127 for IPv6"));
        assert_eq!(v6.to_string(), "2001:db8::1/64");
    }

    #[test]
    fn stack_address_is_plain_and_unicast() {
        assert_eq!(parse_stack_addr("2001:db8::2"), Ok(ip("2001:db8::2")));
        assert_eq!(parse_stack_addr("192.0.2.7"), Ok(ip("192.0.2.7")));
        let err = parse_stack_addr("2001:db8::2/64").unwrap_err();
        assert!(
            err.contains("plain address such as 2001:db8::2") && err.contains("--host-addr"),
            "{err}"
        );
        for bad in ["::", "0.0.0.0", "ff02::1", "224.0.0.1", "::1", "127.0.0.1"] {
            let err = parse_stack_addr(bad).unwrap_err();
            assert!(err.contains("unicast"), "{bad}: {err}");
        }
        assert!(parse_stack_addr("tun0")
            .unwrap_err()
            .contains("not an IPv4 or IPv6"));
    }

    #[test]
    fn defaults_serve_both_families() {
        let both = resolve(&[], &[]).unwrap();
        assert_eq!(both.stack(), [ip("192.0.2.2"), ip("2001:db8::2")]);
        assert_eq!(both.host(), [cidr("192.0.2.1/24"), cidr("2001:db8::1/64")]);
    }

    #[test]
    fn the_families_named_are_the_families_served() {
        let v4 = resolve(&["192.0.2.7"], &[]).unwrap();
        assert_eq!(v4.stack(), [ip("192.0.2.7")]);
        assert_eq!(v4.host(), [cidr("192.0.2.1/24")]);
        let v6 = resolve(&["2001:db8::7"], &[]).unwrap();
        assert_eq!(v6.stack(), [ip("2001:db8::7")]);
        assert_eq!(v6.host(), [cidr("2001:db8::1/64")]);
        let host_v4 = resolve(&[], &["192.0.2.1/24"]).unwrap();
        assert_eq!(host_v4.stack(), [ip("192.0.2.2")]);
        let both = resolve(
            &["2001:db8:5::2", "10.0.0.2"],
            &["10.0.0.1/8", "2001:db8:5::1/48"],
        );
        let both = both.unwrap();
        assert_eq!(both.stack(), [ip("10.0.0.2"), ip("2001:db8:5::2")]);
        assert_eq!(both.host(), [cidr("10.0.0.1/8"), cidr("2001:db8:5::1/48")]);
    }

    #[test]
    fn bad_combinations_are_refused_in_words() {
        let err = resolve(&["192.0.2.2", "192.0.2.3"], &[]).unwrap_err();
        assert!(err.contains("--addr is given twice for IPv4"), "{err}");
        let err = resolve(&[], &["2001:db8::1/64", "2001:db8:1::1/64"]).unwrap_err();
        assert!(err.contains("--host-addr is given twice for IPv6"), "{err}");
        let err = resolve(&["2001:db8::1"], &[]).unwrap_err();
        assert!(
            err.contains("the address given to the kernel's side"),
            "{err}"
        );
        assert!(err.contains("e.g. 2001:db8::2"), "{err}");
        let err = resolve(&["2001:db9::2"], &[]).unwrap_err();
        assert!(err.contains("outside --host-addr 2001:db8::1/64"), "{err}");
        let err = resolve(&["192.0.2.2", "2001:db8::2"], &["192.0.2.1/24"]).unwrap_err();
        assert!(
            err.contains("--addr 2001:db8::2 needs a --host-addr"),
            "{err}"
        );
        let err = resolve(&["192.0.2.2"], &["192.0.2.1/24", "2001:db8::1/64"]).unwrap_err();
        assert!(err.contains("add one, e.g. --addr 2001:db8::2"), "{err}");
    }

    #[test]
    fn no_configure_leaves_the_kernel_side_alone() {
        let addresses = Addresses::resolve(&[ip("2001:db9::2")], &[], false, "tun0").unwrap();
        assert_eq!(addresses.stack(), [ip("2001:db9::2")]);
        assert!(addresses.host().is_empty());
    }
}

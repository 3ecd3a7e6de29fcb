//! `tuntcp connect`'s destination: `192.0.2.1:9000`, `[2001:db8::1]:9000`
//! or `host:port`, of a family the stack has an address of.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

use super::args::Addresses;

/// The address to connect to, or a sentence saying what is wrong.
pub fn resolve(text: &str, addrs: &Addresses) -> Result<SocketAddr, String> {
    let candidates: Vec<SocketAddr> = match text.parse::<SocketAddr>() {
        Ok(addr) => vec![addr],
        Err(_) => resolve_name(text)?,
    };
    let stack = addrs.stack();
    let servable = |remote: &SocketAddr| stack.iter().any(|ip| ip.is_ipv4() == remote.is_ipv4());
    match candidates.iter().find(|remote| servable(remote)) {
        Some(remote) => Ok(*remote),
        None => {
            let family = if candidates[0].is_ipv4() {
                "IPv4"
            } else {
                "IPv6"
            };
            Err(format!(
                "{text} is {family} and the stack has no {family} address (--addr): \
                 add one, e.g. --addr {}",
                if candidates[0].is_ipv4() {
                    "192.0.2.2"
                } else {
                    "2001:db8::2"
                }
            ))
        }
    }
}

/// A name (or a malformed address), through the host's resolver, as `nc`.
fn resolve_name(text: &str) -> Result<Vec<SocketAddr>, String> {
    // A bare IPv6 address with a port looks like one more group.
    if text.parse::<IpAddr>().is_ok() {
        let hint = if text.contains(':') {
            "an IPv6 address goes in brackets before its port, e.g. [2001:db8::1]:9000"
        } else {
            "a port is needed, e.g. 192.0.2.1:9000"
        };
        return Err(format!("'{text}' is an address without a port: {hint}"));
    }
    if !text.contains(':') {
        return Err(format!(
            "'{text}' has no port: give ADDRESS:PORT, e.g. 192.0.2.1:9000 or [2001:db8::1]:9000"
        ));
    }
    let found: Vec<SocketAddr> = text
        .to_socket_addrs()
        .map_err(|err| format!("cannot resolve '{text}': {err}"))?
        .collect();
    if found.is_empty() {
        return Err(format!("'{text}' resolves to no address"));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addresses(stack: &[&str]) -> Addresses {
        let stack: Vec<IpAddr> = stack.iter().map(|s| s.parse().unwrap()).collect();
        Addresses::resolve(&stack, &[], true, "tun0").unwrap()
    }

    #[test]
    fn both_families_and_names_are_taken() {
        let both = addresses(&["192.0.2.2", "2001:db8::2"]);
        assert_eq!(
            resolve("192.0.2.1:9000", &both),
            Ok("192.0.2.1:9000".parse().unwrap())
        );
        assert_eq!(
            resolve("[2001:db8::1]:9000", &both),
            Ok("[2001:db8::1]:9000".parse().unwrap())
        );
        // /etc/hosts, no network: localhost is ::1 or 127.0.0.1.
        let local = resolve("localhost:9000", &both).unwrap();
        assert!(local.ip().is_loopback() && local.port() == 9000, "{local}");
    }

    #[test]
    fn mistakes_are_explained() {
        let both = addresses(&["192.0.2.2", "2001:db8::2"]);
        let err = resolve("2001:db8::1:9000", &both).unwrap_err();
        assert!(err.contains("in brackets"), "{err}");
        let err = resolve("192.0.2.1", &both).unwrap_err();
        assert!(err.contains("a port is needed"), "{err}");
        let err = resolve("nosuchhost", &both).unwrap_err();
        assert!(err.contains("has no port"), "{err}");
        let v4 = addresses(&["192.0.2.2"]);
        let err = resolve("[2001:db8::1]:9000", &v4).unwrap_err();
        assert!(
            err.contains("is IPv6 and the stack has no IPv6 address")
                && err.contains("2001:db8::2"),
            "{err}"
        );
    }
}

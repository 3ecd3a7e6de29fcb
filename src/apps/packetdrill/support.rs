//! What a script needs that the runner or the engine cannot do, found
//! before it runs: such a script is SKIPPED with the first reason, whatever
//! engine runs it, so both engines' counts cover the same scripts.

use super::script::{EventKind, Script, TcpOptionSpec};
use super::syscalls::{option_name, CALLS, READABLE_OPTIONS, SETTABLE_OPTIONS};

/// The first thing `script` needs that is not there, as "line N: why".
pub fn unsupported(script: &Script) -> Option<String> {
    script.events.iter().find_map(|event| {
        let why = match &event.kind {
            EventKind::Unsupported(what) => Some(what.clone()),
            EventKind::Packet(packet) => {
                packet
                    .options
                    .iter()
                    .flatten()
                    .find_map(|option| match option {
                        TcpOptionSpec::Other(name) => {
                            Some(format!("TCP option `{name}` is not supported"))
                        }
                        _ => None,
                    })
            }
            EventKind::Syscall(call) => {
                let option = option_name(call);
                match call.name.as_str() {
                    name if !CALLS.contains(&name) => {
                        Some(format!("system call {name}() is not supported"))
                    }
                    "setsockopt" if !SETTABLE_OPTIONS.contains(&option.as_str()) => {
                        Some(format!("setsockopt {option} is not supported"))
                    }
                    "getsockopt" if !READABLE_OPTIONS.contains(&option.as_str()) => {
                        Some(format!("getsockopt {option} is not supported"))
                    }
                    _ => None,
                }
            }
            EventKind::Shell(_) | EventKind::StateAssert(_) | EventKind::Icmp(_) => None,
        };
        why.map(|why| format!("line {}: {why}", event.line))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apps::packetdrill::parser::parse_script;

    #[test]
    fn the_first_unsupported_line_is_the_reason() {
        let script = parse_script(
            "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
             +0 setsockopt(3, IPPROTO_IP, IP_TOS, [1], 4) = 0\n\
             +0 > SEW 0:0(0) <...>\n",
        )
        .unwrap();
        assert_eq!(
            unsupported(&script).unwrap(),
            "line 2: setsockopt IP_TOS is not supported"
        );
        let ecn = parse_script("0 < SEW 0:0(0) win 1\n+0 >[ect0] S.E 0:0(0) ack 1 <...>\n");
        assert_eq!(unsupported(&ecn.unwrap()), None, "ECN is there");
        let fine = parse_script("0 getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0\n").unwrap();
        assert_eq!(unsupported(&fine), None);
    }
}

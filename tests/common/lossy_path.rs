//! A path with real loss for live tests: the client in a namespace of its
//! own, a veth pair to the stack's namespace, which routes between the
//! veth and tun0 and drops packets at random in its nftables forward hook,
//! both ways. The Linux client's TCP and our engine both see true losses.
//! (A drop rule in the client's own output hook would not do: the kernel
//! sees its send fail and sends again, nothing is lost.)
//!
//! ```text
//!   client 192.0.2.66/26 [client ns] veth -- veth 192.0.2.65/26 [stack ns]
//!   [stack ns] 192.0.2.1/26 on tun0, our stack 192.0.2.2
//! ```
//!
//! The same layout as `scripts/bench.sh --loss`, where the server side
//! has a namespace of its own: here the stack's namespace is the router.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;

use super::netns::{run_ok, SHORT};

/// `--host-addr` for `tuntcp echo` on this path: tun0 gets a /26 of its
/// own, the client's /26 is reached through the veth.
pub const STACK_SIDE_HOST_ADDR: &str = "192.0.2.1/26";

/// The client's namespace, named (so a veth end can be moved into it) and
/// deleted on drop.
pub struct LossyPath {
    client_ns: String,
}

impl LossyPath {
    /// Builds the path from inside the stack's namespace (the calling
    /// thread's), dropping `per_mille` of the packets forwarded each way.
    pub fn new(per_mille: u32) -> LossyPath {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let id = format!("{}x{n}", std::process::id() % 1_000_000);
        let path = LossyPath {
            client_ns: format!("tuntcp-lossy-{id}"),
        };
        run_ok("ip", &["netns", "add", &path.client_ns], SHORT);
        let (router_end, client_end) = (format!("vr{id}"), format!("vc{id}"));
        let peer = ["peer", "name", &client_end, "netns", &path.client_ns];
        run_ok(
            "ip",
            &[&["link", "add", &router_end, "type", "veth"][..], &peer].concat(),
            SHORT,
        );
        path.configure_router(&router_end, per_mille);
        path.configure_client(&client_end);
        path
    }

    /// Forwarding on, the veth end up without offloads (the drop rule must
    /// see wire-sized packets), and the random drop in the forward hook.
    fn configure_router(&self, router_end: &str, per_mille: u32) {
        run_ok("sysctl", &["-qw", "net.ipv4.ip_forward=1"], SHORT);
        run_ok(
            "ip",
            &["addr", "add", "192.0.2.65/26", "dev", router_end],
            SHORT,
        );
        up_without_offloads(&[], router_end);
        let nft = |args: &[&str]| run_ok("nft", args, SHORT);
        nft(&["add", "table", "inet", "loss"]);
        let hook = "{ type filter hook forward priority 0; }";
        nft(&["add", "chain", "inet", "loss", "forward", hook]);
        let limit = per_mille.to_string();
        let rule = ["numgen", "random", "mod", "1000", "<", &limit, "drop"];
        nft(&[&["add", "rule", "inet", "loss", "forward"][..], &rule].concat());
    }

    fn configure_client(&self, client_end: &str) {
        let exec = ["netns", "exec", &self.client_ns];
        let ip = |args: &[&str]| run_ok("ip", &[&exec[..], &["ip"], args].concat(), SHORT);
        ip(&["link", "set", "lo", "up"]);
        ip(&["addr", "add", "192.0.2.66/26", "dev", client_end]);
        up_without_offloads(&exec, client_end);
        ip(&["route", "add", "default", "via", "192.0.2.65"]);
    }

    /// Runs `body` on a thread inside the client's namespace.
    pub fn run_client<T, F>(&self, body: F) -> T
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let ns = File::open(format!("/run/netns/{}", self.client_ns))
            .unwrap_or_else(|err| panic!("opening the client namespace: {err}"));
        let client = thread::spawn(move || {
            // SAFETY: setns(2) on an fd we own; it moves this thread only.
            if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                panic!("setns: {}", std::io::Error::last_os_error());
            }
            body()
        });
        client
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}

impl Drop for LossyPath {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "delete", &self.client_ns])
            .status();
    }
}

/// `ip [netns exec NS] link set DEV up` and `ethtool -K DEV tso off gso
/// off gro off`, in the namespace `exec` names (none: the caller's).
fn up_without_offloads(exec: &[&str], dev: &str) {
    let in_ns = |program: &str, args: &[&str]| {
        if exec.is_empty() {
            run_ok(program, args, SHORT);
        } else {
            run_ok("ip", &[exec, &[program], args].concat(), SHORT);
        }
    };
    in_ns("ip", &["link", "set", dev, "up"]);
    in_ns(
        "ethtool",
        &["-K", dev, "tso", "off", "gso", "off", "gro", "off"],
    );
}

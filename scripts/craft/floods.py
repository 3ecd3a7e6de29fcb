#!/usr/bin/python3
"""Floods against our engine, smoltcp and the Linux kernel's own TCP,
side by side, while real clients keep asking to be served. Called by
scripts/floods.sh (which builds the binaries and installs hping3); run
as root. Every server runs in network namespaces made here and removed
afterwards, with the project's addresses:

  ours, smoltcp  `tuntcp echo` on tun0 in one namespace; the kernel's
                 side of tun0 (192.0.2.1, 2001:db8::1) floods and probes
  linux          the kernel's echo server (`tuntcp-bench serve`) in a
                 server namespace (192.0.2.2, 2001:db8::2), a client
                 namespace across a veth pair (TSO, GSO, GRO off) floods
                 and probes; net.ipv4.tcp_syncookies=1, the default

Cases (each bounded by --seconds):

  syn      SYN flood at the machine's full rate from a spoofed source,
           every source port (IPv4: hping3 --flood; IPv6: `tuntcp-bench synflood`,
           which sends as hping3 does);
           real clients connect, echo a line and close, one after another
  syn100   5,000 spoofed SYNs from 100 sources at once, then the clients
  ack      ACK flood with random numbers on a live client's own 4-tuple
  rst      RST flood with random sequence numbers on that tuple
  churn    2,000 short connections (connect, 1 byte echoed, close), four
           at a time; TIME-WAIT and FIN handling under churn
  cve      hostile.py's malformed-packet classes of known TCP/IP CVEs
           (20 rounds) on a live client's tuple, IPv4 and IPv6
  storm, ooo, tinymss, zerowindow
           storms.py's segment storms into established connections,
           out-of-order floods, tiny-MSS and zero-window peers (IPv4),
           from 192.0.2.3, as tests/hostile_live.rs runs them

In every case but the SYN floods a live client echoes a line every 50 ms throughout.
Each row gives how the real clients fared, the flood's rate, the packets
the server sent per packet it got (a reflector sends many), and memory:
our process's RSS before / peak / after, or the Linux kernel's TCP memory
(/proc/net/sockstat) before / during / after.

  python3 floods.py run --bin DIR [--servers tuntcp,smoltcp,linux]
                        [--families 4,6] [--cases syn,syn100,ack,rst,churn,storm,...]
                        [--seconds 6] [--clients 10]
"""
import argparse
import ipaddress
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
STORMS = os.path.join(HERE, "storms.py")
HOSTILE = os.path.join(HERE, "hostile.py")
STORM_CLIENT = "192.0.2.3"
# storms.py's modes and arguments, as tests/hostile_live.rs runs them.
STORM_CASES = {
    "storm": ["storm", "--conns", "8", "--count", "5000"],
    "ooo": ["ooo", "--conns", "32", "--count", "5000"],
    "tinymss": ["tinymss", "--conns", "64", "--hold", "5"],
    "zerowindow": ["zerowindow", "--conns", "64", "--hold", "5"],
}
PYTHON = "/usr/bin/python3"
STACK = {4: "192.0.2.2", 6: "2001:db8::2"}
HOST = {4: "192.0.2.1", 6: "2001:db8::1"}
SPOOF = {4: "192.0.2.9", 6: "2001:db8::9"}
PORT = 7
SOURCES = 100  # spoofed sources of syn100, counting up from SPOOF
PATIENCE = 3.5  # a kernel client sends its SYN at 0, 1 and 3 s


def sh(*cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, capture_output=True, text=True, **kw)


class Namespace:
    """A network namespace of our own, removed by close()."""

    count = 0

    def __init__(self, role):
        Namespace.count += 1
        self.name = f"fl-{role}-{os.getpid()}-{Namespace.count}"
        sh("ip", "netns", "add", self.name)
        self.run("ip", "link", "set", "lo", "up")

    def run(self, *cmd, check=True):
        return sh("ip", "netns", "exec", self.name, *cmd, check=check)

    def spawn(self, *cmd, **kw):
        return subprocess.Popen(["ip", "netns", "exec", self.name, *cmd], **kw)

    def close(self):
        sh("ip", "netns", "delete", self.name, check=False)


# ---------------------------------------------------------------- probes


def connect_and_echo(family):
    """One real client: connect, a line echoed, close; seconds or None."""
    started = time.monotonic()
    try:
        with socket.create_connection((STACK[family], PORT), timeout=PATIENCE) as conn:
            conn.settimeout(PATIENCE)
            line = b"served under a flood\n"
            conn.sendall(line)
            got = b""
            while len(got) < len(line):
                chunk = conn.recv(64)
                if not chunk:
                    return None
                got += chunk
            return time.monotonic() - started if got == line else None
    except OSError:
        return None


def probe_fresh(args):
    times = [connect_and_echo(args.family) for _ in range(args.count)]
    print(" ".join("-" if t is None else f"{t * 1000:.1f}" for t in times), flush=True)


def probe_live(args):
    """A live client: prints its local port, then echoes a line every 50
    ms until stdin closes; then its echo times (ms), '-' for a failure."""
    conn = socket.create_connection((STACK[args.family], PORT), timeout=PATIENCE)
    conn.settimeout(PATIENCE)
    print(conn.getsockname()[1], flush=True)
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    times = []
    while not stop.is_set():
        started = time.monotonic()
        try:
            conn.sendall(b"still served?\n")
            got = b""
            while len(got) < 14:
                got += conn.recv(64) or b"!" * 14
            times.append(f"{(time.monotonic() - started) * 1000:.1f}" if got == b"still served?\n" else "-")
        except OSError:
            times.append("-")
            break
        time.sleep(0.05)
    print(" ".join(times), flush=True)


def probe_churn(args):
    failures = []

    def worker():
        for _ in range(args.count // 4):
            try:
                with socket.create_connection((STACK[args.family], PORT), timeout=PATIENCE) as conn:
                    conn.settimeout(PATIENCE)
                    conn.sendall(b"x")
                    if conn.recv(1) != b"x":
                        failures.append(1)
            except OSError:
                failures.append(1)

    workers = [threading.Thread(target=worker) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    print(f"{args.count - len(failures)} of {args.count} short connections served", flush=True)


# ---------------------------------------------------------------- servers


class Server:
    """A running echo server and the namespace its clients and floods use."""

    def __init__(self, kind, bin_dir):
        self.kind = kind
        self.namespaces = []
        self.synflood = [os.path.join(bin_dir, "tuntcp-bench"), "synflood"]
        if kind == "linux":
            self.start_linux(bin_dir)
        else:
            self.start_tun(kind, bin_dir)

    def start_tun(self, kind, bin_dir):
        ns = Namespace(kind)
        self.namespaces.append(ns)
        self.client_ns = self.server_ns = ns
        self.iface = self.client_iface = "tun0"
        self.server_mac = None
        self.process = ns.spawn(os.path.join(bin_dir, "tuntcp"), "echo", "--stack", kind,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if "serving echo" not in line:
            raise SystemExit(f"{kind} did not start: {line}{self.process.stderr.read()}")
        # `ip netns exec` execs the command: the child is the server.
        self.pid = self.process.pid

    def start_linux(self, bin_dir):
        srv, cli = Namespace("linux-srv"), Namespace("linux-cli")
        self.namespaces += [srv, cli]
        self.server_ns, self.client_ns, self.iface = srv, cli, "veth-s"
        self.client_iface = "veth-c"
        sh("ip", "link", "add", "veth-c", "netns", cli.name, "type", "veth",
           "peer", "name", "veth-s", "netns", srv.name)
        for ns, dev, family_addrs in ((cli, "veth-c", HOST), (srv, "veth-s", STACK)):
            ns.run("sysctl", "-qw", f"net.ipv6.conf.{dev}.accept_dad=0")
            ns.run("ip", "addr", "add", f"{family_addrs[4]}/24", "dev", dev)
            ns.run("ip", "addr", "add", f"{family_addrs[6]}/64", "dev", dev, "nodad")
            ns.run("ip", "link", "set", dev, "up")
            ns.run("ethtool", "-K", dev, "tso", "off", "gso", "off", "gro", "off")
        srv.run("sysctl", "-qw", "net.ipv4.tcp_syncookies=1")
        self.server_mac = srv.run("cat", "/sys/class/net/veth-s/address").stdout.strip()
        # SYN-ACKs to the spoofed sources go to the client namespace, which
        # drops them (not its address), as the kernel drops ours on tun0:
        # no ARP or neighbour discovery for addresses nobody has.
        mac = cli.run("cat", "/sys/class/net/veth-c/address").stdout.strip()
        batch = "".join(f"neigh replace {ipaddress.ip_address(SPOOF[family]) + n} lladdr {mac} "
                        f"dev veth-s nud permanent\n" for family in (4, 6) for n in range(SOURCES))
        # storms.py's clients (192.0.2.3) live in the client namespace
        # without being its address: it drops what the server sends them
        # after storms.py's packet socket has read it, as on tun0.
        batch += f"neigh replace {STORM_CLIENT} lladdr {mac} dev veth-s nud permanent\n"
        subprocess.run(["ip", "-n", srv.name, "-batch", "-"], input=batch, text=True, check=True)
        self.process = srv.spawn(os.path.join(bin_dir, "tuntcp-bench"), "serve", f"[::]:{PORT}",
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if "listening" not in line:
            raise SystemExit(f"the kernel's echo server did not start: {line}")
        self.pid = self.process.pid

    def memory(self, peak=False):
        """KiB: our RSS (or its peak), or the kernel's TCP memory."""
        if self.kind == "linux":
            for line in self.server_ns.run("cat", "/proc/net/sockstat").stdout.splitlines():
                if line.startswith("TCP:"):
                    fields = line.split()
                    return int(fields[fields.index("mem") + 1]) * 4
            return 0
        field = "VmHWM:" if peak else "VmRSS:"
        try:
            with open(f"/proc/{self.pid}/status") as status:
                for line in status:
                    if line.startswith(field):
                        return int(line.split()[1])
        except FileNotFoundError:
            pass  # it died: run() says so
        return 0

    def counters(self):
        """(packets into the server, packets out of it) on its interface."""
        def read(name):
            path = f"/sys/class/net/{self.iface}/statistics/{name}"
            return int(self.server_ns.run("cat", path).stdout)
        if self.kind == "linux":
            return read("rx_packets"), read("tx_packets")
        return read("tx_packets"), read("rx_packets")

    def probe(self, mode, family, count=0, **kw):
        return self.client_ns.spawn(PYTHON, __file__, "probe", mode, "--family", str(family),
                                    "--count", str(count), text=True, stdout=subprocess.PIPE, **kw)

    def stop(self):
        self.process.terminate()
        try:
            _, err = self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            err = ""
        for ns in self.namespaces:
            ns.close()
        return err


# ---------------------------------------------------------------- floods


def flood(server, case, family, seconds, sport=None):
    """Starts the case's flood in the client namespace; a Popen."""
    target = STACK[family]
    if case in STORM_CASES:
        cmd = [PYTHON, STORMS, *STORM_CASES[case], "--iface", server.client_iface]
    elif case == "cve":
        cmd = [PYTHON, HOSTILE, "--sport", str(sport), "--rounds", "20", "--iface", server.client_iface]
        cmd += ["--ipv6"] if family == 6 else []
        cmd += ["--mac", server.server_mac] if server.server_mac else []
    elif case == "syn100":
        cmd = [*server.synflood, "--to", target, "--sources", str(SOURCES), "--count", "5000"]
    elif case == "syn" and family == 6:
        cmd = [*server.synflood, "--to", target, "--seconds", str(seconds)]
    else:
        flags = {"syn": ["-S", "-a", SPOOF[4]],
                 "ack": ["-A", "-k", "-s", str(sport), "-a", HOST[4]],
                 "rst": ["-R", "-k", "-s", str(sport), "-a", HOST[4]]}[case]
        cmd = ["timeout", str(seconds), "hping3", "-q", "--flood", "-p", str(PORT), *flags, target]
    return server.client_ns.spawn(*cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def flood_rate(output, seconds):
    """Packets a second: hping3 says how many it sent (over `seconds`,
    timed here: it may be stopped early), tuntcp-bench synflood its rate."""
    for line in output.splitlines():
        if "packets transmitted" in line:
            return int(line.split()[0]) / seconds
        if line.startswith("sent ") and " SYNs in " in line:
            return float(line.split("(")[1].split("/")[0])
    return 0.0


def summarise(times):
    served = [float(t) for t in times.split() if t != "-"]
    if not served:
        return f"0 of {len(times.split())} served"
    under = sum(1 for t in served if t < 1000)
    return (f"{len(served)} of {len(times.split())} served ({under} in < 1 s), "
            f"median {statistics.median(served):.1f} ms, max {max(served):.1f} ms")


def run_case(server, case, family, args):
    before_mem, (in0, out0) = server.memory(), server.counters()
    started = time.monotonic()
    if case in ("syn", "syn100"):
        attack = flood(server, case, family, args.seconds)
        time.sleep(1.0 if case == "syn" else 0.0)
        if case == "syn100":
            attack.wait(timeout=60)
        during = server.memory()
        clients = server.probe("fresh", family, args.clients)
        times, _ = clients.communicate(timeout=120)
        during = max(during, server.memory())
        if case == "syn" and attack.poll() is None:
            attack.terminate()  # the clients are done: stop the flood
        output, _ = attack.communicate(timeout=60)
        flooded = time.monotonic() - started
        what = summarise(times)
    else:
        live = server.probe("live", family, stdin=subprocess.PIPE)
        sport = int(live.stdout.readline())
        if case == "churn":
            attack = server.probe("churn", family, 2000)
        else:
            attack = flood(server, case, family, args.seconds, sport)
        output, _ = attack.communicate(timeout=300)
        flooded = time.monotonic() - started
        during = server.memory()
        times, _ = live.communicate(input="", timeout=30)
        what = "live client " + summarise(times)
    time.sleep(1.0)
    (in1, out1) = server.counters()
    peak = server.memory(peak=True) if server.kind != "linux" else during
    rate = flood_rate(output, flooded)
    reflected = (out1 - out0) / max(1, in1 - in0)
    flood_what = f"{rate:,.0f}/s" if rate else output.strip().splitlines()[-1] if output.strip() else ""
    return (f"| {case} | IPv{family} | {server.kind} | {flood_what} | {what} | "
            f"{reflected:.2f} | {before_mem} / {peak} / {server.memory()} |")


def run(args):
    print("| case | family | server | flood | real clients | out/in | memory KiB: RSS, or Linux TCP; before / peak / after |")
    print("|---|---|---|---|---|---|---|")
    for case in args.cases.split(","):
        for family in map(int, args.families.split(",")):
            if case in ("ack", "rst", *STORM_CASES) and family == 6:
                continue  # hping3 and storms.py speak IPv4 only
            for kind in args.servers.split(","):
                server = Server(kind, args.bin)
                try:
                    row = run_case(server, case, family, args)
                finally:
                    died = server.process.poll() is not None
                    stderr = server.stop()
                if died:
                    last = (stderr.strip().splitlines() or ["(nothing on stderr)"])[-1]
                    row = f"| {case} | IPv{family} | {kind} | | the server DIED: {last} | | |"
                print(row, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    runner = sub.add_parser("run")
    runner.add_argument("--bin", required=True, help="the directory of tuntcp and tuntcp-bench")
    runner.add_argument("--servers", default="tuntcp,smoltcp,linux")
    runner.add_argument("--families", default="4,6")
    runner.add_argument("--cases", default="syn,syn100,ack,rst,churn,cve," + ",".join(STORM_CASES))
    runner.add_argument("--seconds", type=float, default=6.0)
    runner.add_argument("--clients", type=int, default=10)
    probe = sub.add_parser("probe")
    probe.add_argument("mode", choices=["fresh", "live", "churn"])
    probe.add_argument("--family", type=int, choices=[4, 6], required=True)
    probe.add_argument("--count", type=int, default=10)
    args = parser.parse_args()
    if args.command == "run":
        for kind in args.servers.split(","):
            if kind not in ("tuntcp", "smoltcp", "linux"):
                sys.exit(f"unknown server {kind}: tuntcp, smoltcp or linux")
        run(args)
    else:
        {"fresh": probe_fresh, "live": probe_live, "churn": probe_churn}[args.mode](args)


if __name__ == "__main__":
    main()

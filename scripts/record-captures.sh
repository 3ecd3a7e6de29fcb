#!/usr/bin/env bash
# Records the pcap captures in captures/ that tests/replay.rs replays: real
# sessions between the Linux kernel's TCP and `tuntcp`, each in a network
# namespace of its own, recorded by tuntcp's own `--pcap` tap (LINKTYPE_RAW,
# both directions, exactly what crossed the TUN device).
#
# Needs root (network namespaces, TUN), python3 and ip. Never run in CI: the
# captures are committed, and the tests only read them.
#
# Usage: sudo scripts/record-captures.sh [--stack tuntcp|smoltcp] [--families "4 6"] [OUT_DIR]
#   OUT_DIR defaults to captures/. --families picks the IPv4 sessions (4),
#   the IPv6 ones (6, files named *-ipv6.pcap) or both (the default).
#   Nothing in the host's network namespace is touched: every namespace is
#   created here, uniquely named, and deleted on exit, even on Ctrl-C or
#   failure.
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=scripts/find-cargo.sh
. scripts/find-cargo.sh

STACK=tuntcp
FAMILIES="4 6"
while [ "${1:-}" = "--stack" ] || [ "${1:-}" = "--families" ]; do
    case "$1" in
        --stack) STACK="$2" ;;
        --families) FAMILIES="$2" ;;
    esac
    shift 2
done
OUT_DIR="${1:-captures}"
mkdir -p "$OUT_DIR"

if [ "$(id -u)" -ne 0 ]; then
    echo "record-captures.sh creates network namespaces and TUN devices: run it as root" >&2
    exit 1
fi
for tool in ip python3; do
    command -v "$tool" >/dev/null || { echo "record-captures.sh needs '$tool'" >&2; exit 1; }
done

NAMESPACES=()
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    for ns in "${NAMESPACES[@]}"; do
        # Deleting the namespace also deletes the TUN device inside it.
        ip netns delete "$ns" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== building tuntcp (release)"
cargo build --release --quiet --bin tuntcp
BIN="$PWD/target/release/tuntcp"

SESSION=0
NS=""
# The family of the sessions recorded next (use_family), its addresses as
# the python scripts and `tuntcp connect` take them, and the stack's
# --addr (only that family, so nothing of the other is on tun0).
FAMILY=4
STACK_ADDR=192.0.2.2
HOST_ADDR=192.0.2.1
SUFFIX=""
use_family() {
    FAMILY="$1"
    if [ "$FAMILY" = 6 ]; then
        STACK_ADDR=2001:db8::2 HOST_ADDR=2001:db8::1 SUFFIX=-ipv6
    else
        STACK_ADDR=192.0.2.2 HOST_ADDR=192.0.2.1 SUFFIX=""
    fi
}

# new_namespace: a fresh namespace named tuntcp-rec-PID-N, loopback up.
new_namespace() {
    SESSION=$((SESSION + 1))
    NS="tuntcp-rec-$$-$SESSION"
    ip netns add "$NS"
    NAMESPACES+=("$NS")
    ip netns exec "$NS" ip link set lo up
    if [ "$FAMILY" = 6 ]; then
        # IPv6 on, but no router solicitations (nor DAD: tuntcp sets
        # accept_dad=0) from the kernel into the TUN device: the captures
        # hold the session's packets only.
        ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 \
            net.ipv6.conf.default.disable_ipv6=0 net.ipv6.conf.default.router_solicitations=0
    else
        # No IPv6: otherwise the kernel sends router solicitations into the
        # TUN device, and the captures would hold packets unrelated to the session.
        ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    fi
}

# wait_for_tun: until the kernel's side of tun0 has its address (tuntcp
# configures it when it starts), at most 10 s.
wait_for_tun() {
    for _ in $(seq 100); do
        if ip netns exec "$NS" ip -"$FAMILY" addr show dev tun0 2>/dev/null | grep -q "$HOST_ADDR/"; then
            return 0
        fi
        sleep 0.1
    done
    echo "tun0 did not come up in $NS" >&2
    exit 1
}

# stop: SIGTERM the stack (it flushes its pcap file), wait for it to exit.
stop() {
    local pid="$1"
    # Let the last ACKs cross the TUN device before stopping.
    sleep 0.5
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# record_echo NAME PYTHON: tuntcp echo on port 7 of STACK_ADDR, then the
# kernel-side python client PYTHON (STACK in its environment) in the same
# namespace. Writes NAME.pcap, or NAME-ipv6.pcap over IPv6.
record_echo() {
    local name="$1$SUFFIX" client="$2"
    new_namespace
    echo "== $name (namespace $NS)"
    ip netns exec "$NS" "$BIN" echo --stack "$STACK" --addr "$STACK_ADDR" --pcap "$OUT_DIR/$name.pcap" >/dev/null &
    local pid=$!
    PIDS+=("$pid")
    wait_for_tun
    ip netns exec "$NS" env STACK="$STACK_ADDR" python3 -c "$client"
    stop "$pid"
}

# record_connect NAME SERVER STDIN_CMD: a kernel-side python server on port
# 9000 (bound before the TUN exists, to the unspecified address; ANY in its
# environment), then `STDIN_CMD | tuntcp connect HOST_ADDR:9000`.
record_connect() {
    local name="$1$SUFFIX" server="$2" stdin_cmd="$3"
    local any=0.0.0.0 server_end="$HOST_ADDR:9000"
    if [ "$FAMILY" = 6 ]; then
        any=:: server_end="[$HOST_ADDR]:9000"
    fi
    new_namespace
    echo "== $name (namespace $NS)"
    ip netns exec "$NS" env ANY="$any" python3 -c "$server" &
    local server_pid=$!
    PIDS+=("$server_pid")
    # Until the server listens (python may take a second to start on a
    # busy machine), at most 10 s.
    for _ in $(seq 100); do
        ip netns exec "$NS" ss -Hltn 'sport = :9000' | grep -q LISTEN && break
        sleep 0.1
    done
    ip netns exec "$NS" bash -c "$stdin_cmd | '$BIN' connect '$server_end' --addr '$STACK_ADDR' --stack '$STACK' --pcap '$OUT_DIR/$name.pcap' >/dev/null"
    wait "$server_pid"
}

PY_PRELUDE='
import os, socket, threading, sys
STACK = os.environ["STACK"]
def connect():
    s = socket.create_connection((STACK, 7), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s
def read_exactly(s, n):
    got = bytearray()
    while len(got) < n:
        chunk = s.recv(65536)
        assert chunk, "EOF after %d of %d bytes" % (len(got), n)
        got += chunk
    return bytes(got)
def pattern(n):
    return bytes((i * 7 + i // 251) % 256 for i in range(n))
'

PY_SERVER='
import os, socket
ANY = os.environ["ANY"]
srv = socket.socket(socket.AF_INET6 if ":" in ANY else socket.AF_INET)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((ANY, 9000)); srv.listen(1); srv.settimeout(10)
c, _ = srv.accept()
'

for family in $FAMILIES; do
use_family "$family"

# 1. One line, echoed; the client closes first (4-way close, the kernel
#    ends in TIME-WAIT, the stack goes CLOSE-WAIT -> LAST-ACK -> CLOSED).
record_echo echo-line "$PY_PRELUDE
s = connect()
s.sendall(b'hello, tuntcp\n')
assert read_exactly(s, 14) == b'hello, tuntcp\n'
s.close()
"

# 2. 200 KB each way: the client writes from one thread and reads the echo
#    in another, then closes once every byte came back.
record_echo bulk-200k "$PY_PRELUDE
s = connect()
data = pattern(200 * 1024)
writer = threading.Thread(target=lambda: s.sendall(data))
writer.start()
echoed = read_exactly(s, len(data))
writer.join()
assert echoed == data, 'echo differs'
s.close()
"

# 3. Half-close: the client writes 20 KB and shuts down its sending side
#    at once (FIN right after the data); the stack keeps echoing into the
#    half-open connection, then closes once it has sent everything.
record_echo half-close "$PY_PRELUDE
s = connect()
data = pattern(20 * 1024)
s.sendall(data)
s.shutdown(socket.SHUT_WR)
echoed = bytearray()
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    echoed += chunk
assert bytes(echoed) == data, 'echo differs: %d bytes' % len(echoed)
s.close()
"

# 4. A SYN to a port nobody listens on (9): the stack answers RST, the
#    client sees ECONNREFUSED.
record_echo refused "$PY_PRELUDE
try:
    socket.create_connection((STACK, 9), timeout=5)
    sys.exit('connected to a closed port?')
except ConnectionRefusedError:
    pass
"

# 5. The stack is the client and closes first: it sends a line and its FIN
#    as stdin ends; the kernel server answers and closes after reading EOF.
#    The stack ends in TIME-WAIT.
record_connect client-closes-first "$PY_SERVER
got = b''
while True:
    chunk = c.recv(4096)
    if not chunk: break
    got += chunk
assert got == b'hello from the stack\n', got
c.sendall(b'goodbye from the kernel\n')
c.close()
" "printf 'hello from the stack\n'"

# 6. The stack is the client, the kernel server closes first: it sends a
#    greeting and closes; the stack (stdin still open) reads EOF and closes
#    its side in turn.
record_connect server-closes-first "$PY_SERVER
c.sendall(b'greetings from the kernel, bye\n')
c.close()
" "sleep 3"

done

echo "== done"
ls -l "$OUT_DIR"/*.pcap

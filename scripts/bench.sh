#!/usr/bin/env bash
# Measures echo over our engine (plain, and with --offload), over smoltcp
# and over the kernel's own loopback, in one run, inside a private network
# namespace:
#   bulk echo MB/s, 1-byte transactions/s, connections/s, with ratios.
#
# Usage: sudo scripts/bench.sh [--bulk-mb N] [--seconds S]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/find-cargo.sh
. scripts/find-cargo.sh

[ "$(id -u)" -eq 0 ] || { echo "scripts/bench.sh needs root (TUN devices, namespaces): run it with sudo" >&2; exit 1; }

cargo build --release --quiet
bin=target/release
ns="tuntcp-bench-$$"
pids=()

cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    ip netns delete "$ns" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

ip netns add "$ns"
ip -n "$ns" link set lo up

# Starts a server in the namespace and waits for its first line (it prints
# one when it listens), at most 10 seconds.
start() {
    local fifo
    fifo=$(mktemp -u)
    mkfifo "$fifo"
    ip netns exec "$ns" "$@" >"$fifo" &
    pids+=($!)
    if ! timeout 10 head -n 1 "$fifo" >/dev/null; then
        echo "server did not start: $*" >&2
        exit 1
    fi
    # Keep draining its stdout so it never blocks on a full pipe.
    cat "$fifo" >/dev/null &
    rm -f "$fifo"
}

start "$bin/tuntcp-bench" serve 127.0.0.1:7
start "$bin/tuntcp" echo --stack tuntcp --iface tun0 --host-addr 192.0.2.1/24 --addr 192.0.2.2
start "$bin/tuntcp" echo --stack smoltcp --iface tun1 --host-addr 198.51.100.1/24 --addr 198.51.100.2
start "$bin/tuntcp" echo --stack tuntcp --offload --iface tun2 --host-addr 203.0.113.1/24 --addr 203.0.113.2

ip netns exec "$ns" "$bin/tuntcp-bench" run "$@" \
    kernel=127.0.0.1:7 tuntcp=192.0.2.2:7 smoltcp=198.51.100.2:7 tuntcp+tso=203.0.113.2:7

#!/usr/bin/env bash
# A one-minute demo of tuntcp: an echo server on our own TCP/IP stack,
# talked to by the Linux kernel's TCP through netcat.
#
# Everything happens in a network namespace made for this run (your own
# network is never touched) and removed on exit, even on Ctrl-C.
#
# On a fresh Debian/Ubuntu machine with only Rust it installs what it uses
# (iproute2, netcat-openbsd) with apt-get, as scripts/test.sh does.
#
# Usage: sudo scripts/demo.sh [--stack tuntcp|smoltcp] [other tuntcp echo options]
#        (e.g. --addr 2001:db8::2: IPv6 only; each family served is tried)
#        TUNTCP_BIN=path/to/tuntcp uses that binary instead of building one
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=scripts/tools.sh
. scripts/tools.sh

STACK_ARGS=("$@")
NETNS="tuntcp-demo-$$"
SERVER_PID=""
SERVER_OUT=""

cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    # Deleting the namespace also deletes the tun0 inside it.
    ip netns delete "$NETNS" 2>/dev/null || true
    [ -n "$SERVER_OUT" ] && rm -f "$SERVER_OUT"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "$(id -u)" -ne 0 ]; then
    echo "demo.sh creates a network namespace and a TUN device: run it with sudo" >&2
    exit 1
fi
install_commands ip nc
ensure_tun_device

if [ -n "${TUNTCP_BIN:-}" ]; then
    BIN="$TUNTCP_BIN"
else
    # shellcheck source=scripts/find-cargo.sh
    . scripts/find-cargo.sh
    echo "== building tuntcp (release)"
    cargo build --release --quiet
    # cargo puts it under CARGO_TARGET_DIR when that is set.
    BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/tuntcp"
fi

echo "== creating network namespace $NETNS"
ip netns add "$NETNS"
ip netns exec "$NETNS" ip link set lo up

echo "== starting: tuntcp echo ${STACK_ARGS[*]}"
SERVER_OUT="$(mktemp)"
ip netns exec "$NETNS" "$BIN" echo "${STACK_ARGS[@]}" >"$SERVER_OUT" &
SERVER_PID=$!

# Wait for the server's first line ("serving echo on 192.0.2.2:7 ..."),
# at most 20 seconds, failing at once if the server dies.
for _ in $(seq 200); do
    [ -s "$SERVER_OUT" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "tuntcp echo exited before listening" >&2; exit 1; }
    sleep 0.1
done
[ -s "$SERVER_OUT" ] || { echo "tuntcp echo did not start listening within 20 s" >&2; exit 1; }
echo "   server says: $(head -n 1 "$SERVER_OUT")"

LINE="hello from the kernel's TCP, echoed by tuntcp"
# echo_with_nc NC_ARGS...: sends LINE with `nc -N NC_ARGS`, fails unless it
# comes back unchanged.
echo_with_nc() {
    echo "== sending with nc $*: $LINE"
    local reply
    reply="$(echo "$LINE" | ip netns exec "$NETNS" nc -N -w 5 "$@")"
    echo "   came back:       $reply"
    if [ "$reply" != "$LINE" ]; then
        echo "== the echo did not match" >&2
        exit 1
    fi
}
# Every command the server suggests ("try: nc 192.0.2.2 7 or nc -6
# 2001:db8::2 7"), so that the families, addresses and port it serves
# (--addr, --port) are the ones tried: IPv4 and IPv6 by default.
suggested="$(head -n 1 "$SERVER_OUT")"
case "$suggested" in
    *"try: nc "*) suggested="${suggested##*try: }" ;;
    *) echo "== the server suggested no nc command to try" >&2; exit 1 ;;
esac
while [ -n "$suggested" ]; do
    command="${suggested%% or *}"
    # shellcheck disable=SC2086 # "nc -6 ADDR PORT": its words are the arguments
    echo_with_nc ${command#nc }
    [ "$command" = "$suggested" ] && break
    suggested="${suggested#* or }"
done
echo "== it works"

#!/usr/bin/env bash
# Measures echo servers side by side in one run and prints ratios to
# smoltcp and to the Linux kernel's own TCP.
#
# Every server runs alone in a network namespace made for it (removed
# afterwards), with the project's addresses (kernel side 192.0.2.1 and
# 2001:db8::1, stack 192.0.2.2 and 2001:db8::2); the client, tuntcp-bench,
# runs in the same namespace and checks every byte it gets back.
#
# Usage:
#   sudo scripts/bench.sh [--family 4|6|both] [--quick | --smoke] [--idle N]
#       bulk echo on 1 and 64 connections at MTU 1500 and 65535 (each
#       server mode of ours), 1-byte request/response per second with p50
#       and p99 latency, connections per second, the server's CPU seconds
#       per GB echoed and its resident memory per idle connection with N
#       (default 10000) open.
#       --family: over IPv4 (the kernel on 127.0.0.1, the stacks on
#       192.0.2.2), IPv6 (::1, 2001:db8::2) or both (the default: each
#       server over IPv4 then IPv6, a family column, ratios within a family
#       and a last table of each server's IPv6 figures over its IPv4 ones).
#       --quick: shorter loads, 1000 idle connections. --smoke: tiny loads
#       (8 connections instead of 64, 20 idle) that only show every server
#       answers; the figures mean nothing (tests/scripts.rs runs it).
#   sudo scripts/bench.sh --loss [--rates "1 5 10 20"] [--mb 5] [--runs 5]
#                            [--servers "linux tuntcp smoltcp"] [--linux-cc "cubic bbr"]
#                            [--echo-args "..."] [--log FILE]
#       goodput of a one-connection echo under random loss both ways, made
#       by the kernel's nftables in a router namespace between the client
#       and the server (not by our code): Linux to Linux over veth pairs
#       (offloads off), our engine and smoltcp behind tun0, the median of
#       --runs, and the RTOs per MB of the server and of the Linux client.
#       IPv4 only (--family 6 is refused with it).
#       --servers picks which servers run (tuntcp-bbr: ours with --cc bbr);
#       --echo-args adds options to our
#       echo servers (for example "--cc newreno" or "--trace /tmp/t.jsonl");
#       --log keeps the log (stderr) of our last echo server in FILE.
#       The Linux server runs once per congestion control of --linux-cc
#       (rows linux-cubic, linux-bbr); ratios compare with the first.
#
#   TUNTCP_BIN_DIR=DIR takes tuntcp and tuntcp-bench from DIR instead of
#   building them (cargo build --release).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/find-cargo.sh
. scripts/find-cargo.sh

mode=speed
idle=10000
load=full
family=both
family_given=0
rates="1 5 10 20"
loss_mb=5
runs=5
servers="linux tuntcp smoltcp"
echo_args=""
log_file=""
# CUBIC first: "x kern" compares with the first Linux row, and CUBIC is
# our default too. BBR is the kernel's default on some machines (this
# project's among them) and does not take random loss for congestion.
linux_ccs="cubic bbr"
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) load=quick ;;
        --smoke) load=smoke ;;
        --family) family="${2:-}"; family_given=1; shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
        --idle) idle="$2"; shift ;;
        --loss) mode=loss ;;
        --rates) rates="$2"; shift ;;
        --mb) loss_mb="$2"; shift ;;
        --runs) runs="$2"; shift ;;
        --servers) servers="$2"; shift ;;
        --echo-args) echo_args="$2"; shift ;;
        --log) log_file="$2"; shift ;;
        --linux-cc) linux_ccs="$2"; shift ;;
        *) echo "scripts/bench.sh: unknown option $1 (see the usage at the top of the script)" >&2; exit 2 ;;
    esac
    shift
done

case "$family" in
    4) families=(4) ;;
    6) families=(6) ;;
    both) families=(4 6) ;;
    *) echo "scripts/bench.sh: --family takes 4, 6 or both, not '$family'" >&2; exit 2 ;;
esac
if [ "$mode" = loss ] && [ "$family_given" = 1 ] && [ "$family" != 4 ]; then
    echo "scripts/bench.sh: --loss measures over IPv4 only (--family 4)" >&2
    exit 2
fi

[ "$(id -u)" -eq 0 ] || { echo "scripts/bench.sh needs root (TUN devices, namespaces): run it with sudo" >&2; exit 1; }

if [ -n "${TUNTCP_BIN_DIR:-}" ]; then
    bin="$TUNTCP_BIN_DIR"
else
    cargo build --release --quiet
    # cargo puts it under CARGO_TARGET_DIR when that is set.
    bin="${CARGO_TARGET_DIR:-target}/release"
fi
results=$(mktemp)
namespaces=()
pids=()

cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    for ns in "${namespaces[@]}"; do ip netns delete "$ns" 2>/dev/null || true; done
    rm -f "$results"
}
trap cleanup EXIT INT TERM

# Makes a fresh namespace and names it in $ns (not printed: a $(...)
# subshell would lose it from the list cleanup() removes).
new_namespace() {
    ns="tuntcp-bench-$$-${#namespaces[@]}"
    ip netns add "$ns"
    namespaces+=("$ns")
    ip -n "$ns" link set lo up
    # Linux's default ephemeral range (28,232 ports) holds 10,000 idle
    # connections; a wider one slows the kernel's port search for connect,
    # so it is taken only when more are asked for.
    if [ "$idle" -gt 28000 ]; then
        ip netns exec "$ns" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
    fi
}

# Starts a server in namespace $1 and waits for its first line (it prints
# one when it listens), at most 10 seconds. Sets $server_pid.
start_server() {
    local ns="$1" fifo
    shift
    fifo=$(mktemp -u)
    mkfifo "$fifo"
    ip netns exec "$ns" "$@" >"$fifo" &
    server_pid=$!
    pids+=("$server_pid")
    if ! timeout 10 head -n 1 "$fifo" >/dev/null; then
        echo "server did not start: $*" >&2
        exit 1
    fi
    cat "$fifo" >/dev/null &
    rm -f "$fifo"
}

stop_server() {
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
}

supports() { "$bin/tuntcp" echo --help | grep -q -- "$1"; }

# measure NAME ADDR CLIENT-OPTIONS -- SERVER-COMMAND...
measure() {
    local name="$1" addr="$2"
    shift 2
    local client=()
    while [ "$1" != "--" ]; do client+=("$1"); shift; done
    shift
    new_namespace
    start_server "$ns" "$@"
    echo "== $name" >&2
    ip netns exec "$ns" "$bin/tuntcp-bench" run --name "$name" --pid "$server_pid" \
        --out "$results" "${client[@]}" "$addr" ||
        echo "   $name: the run failed; its row shows what was measured before" >&2
    stop_server
}

# The addresses of family $1 (4 or 6): the kernel's echo server on lo, and
# our stacks' on tun0 with the kernel's side of it.
kernel_addr() { if [ "$1" = 4 ]; then echo 127.0.0.1:7; else echo "[::1]:7"; fi; }
stack_addr() { if [ "$1" = 4 ]; then echo 192.0.2.2:7; else echo "[2001:db8::2]:7"; fi; }
stack_side() {
    if [ "$1" = 4 ]; then
        echo --host-addr 192.0.2.1/24 --addr 192.0.2.2
    else
        echo --host-addr 2001:db8::1/64 --addr 2001:db8::2
    fi
}

# each_family NAME kernel|stack [ECHO-OPTIONS...]: measures the server
# NAME over each family asked for, one after the other, so that its IPv4
# and IPv6 rows are measured close in time. $client holds the client's
# options.
each_family() {
    local name="$1" kind="$2" f addr
    shift 2
    for f in "${families[@]}"; do
        if [ "$kind" = kernel ]; then
            addr=$(kernel_addr "$f")
            measure "$name" "$addr" "${client[@]}" -- "$bin/tuntcp-bench" serve "$addr"
        else
            # shellcheck disable=SC2046
            measure "$name" "$(stack_addr "$f")" "${client[@]}" -- \
                "$bin/tuntcp" echo --iface tun0 $(stack_side "$f") "$@"
        fi
    done
}

speed_benchmark() {
    case "$load" in
        full) client=(--idle "$idle") ;;
        quick) client=(--bulk-mb 20 --seconds 1 --idle 1000) ;;
        smoke) client=(--bulk-mb 1 --flows 8 --seconds 0.2 --idle 20 --stall-seconds 10) ;;
    esac
    local mtus=(1500) modes=(threaded)
    supports --mtu && mtus+=(65535)
    supports event && modes+=(event)
    each_family kernel@lo kernel
    local mtu mode mtu_option
    for mtu in "${mtus[@]}"; do
        mtu_option=()
        [ "$mtu" != 1500 ] && mtu_option=(--mtu "$mtu")
        # smoltcp's MTU is fixed at 1500: the rows at 65535 compare with it.
        if [ "$mtu" = 1500 ]; then
            each_family "smoltcp@$mtu" stack --stack smoltcp
        fi
        for mode in "${modes[@]}"; do
            each_family "tuntcp-$mode@$mtu" stack --mode "$mode" "${mtu_option[@]}"
        done
    done
    each_family "tuntcp-no-offload@1500" stack --no-offload
    "$bin/tuntcp-bench" report "$results"
}

# The lossy path, the same for every server: client namespace -- veth --
# router namespace -- server side. The router forwards, and its nftables
# forward hook drops packets at random in both directions: real losses
# for both ends (a drop in a sender's own output hook is not one: the
# kernel sees its send fail and sends again, no retransmission needed).
#
#   client 192.0.2.66/26 [cli] veth -- veth 192.0.2.65/26 [router]
#   [router] 192.0.2.1/26 on tun0 (our stack 192.0.2.2), or on a veth to
#   [srv] 192.0.2.2/26 (Linux)
make_lossy_path() {
    local permille=$(( $1 * 10 ))
    new_namespace
    cli_ns="$ns"
    new_namespace
    router_ns="$ns"
    veth_link "$cli_ns" veth-c 192.0.2.66/26 "$router_ns" veth-rc 192.0.2.65/26
    ip netns exec "$router_ns" sysctl -qw net.ipv4.ip_forward=1
    ip netns exec "$router_ns" nft -f - <<EOF
table inet loss {
    chain forward { type filter hook forward priority 0; numgen random mod 1000 < $permille drop; }
}
EOF
}

# veth_link NS DEV ADDR/LEN PEER-NS PEER-DEV PEER-ADDR/LEN: a veth pair
# between two namespaces, both ends up with offloads off (wire-sized
# packets, as the nftables rules should see), and the first namespace's
# default route through the second.
veth_link() {
    ip link add "$2" netns "$1" type veth peer name "$5" netns "$4"
    ip -n "$1" addr add "$3" dev "$2"
    ip -n "$4" addr add "$6" dev "$5"
    up_without_offloads "$1" "$2"
    up_without_offloads "$4" "$5"
    ip -n "$1" route add default via "${6%/*}"
}

up_without_offloads() {
    ip -n "$1" link set "$2" up
    ip netns exec "$1" ethtool -K "$2" tso off gso off gro off >/dev/null
}

# Retransmission timeouts the kernel of namespace $1 has counted.
kernel_rtos() {
    ip netns exec "$1" nstat -asz TcpExtTCPTimeouts | awk '/TcpExtTCPTimeouts/ { print $2 }'
}

# Runs the client and records the RTOs its kernel counted meanwhile: how
# well the server's ACKs and SACKs help the client repair its losses.
run_lossy_client() {
    local name="$1" before after
    echo "== $name" >&2
    before=$(kernel_rtos "$cli_ns")
    ip netns exec "$cli_ns" "$bin/tuntcp-bench" run --name "$name" --out "$results" \
        --bulk-mb "$loss_mb" --repeat "$runs" --flows 0 --seconds 0 --stall-seconds 60 \
        192.0.2.2:7 || echo "   $name: failed" >&2
    after=$(kernel_rtos "$cli_ns")
    record_rtos "$name" client_rto_per_mb "$(( after - before ))"
}

# record_rtos NAME KEY COUNT: COUNT timeouts over the whole run, per MB.
record_rtos() {
    printf 'IPv4\t%s\t%s\t%s\n' "$1" "$2" "$(awk "BEGIN { print $3 / ($loss_mb * $runs) }")" >>"$results"
}

# linux_under_loss CC RATE: the Linux server with congestion control CC
# (on its listening socket; the client keeps the kernel's default).
linux_under_loss() {
    local cc="$1" rate="$2" before after name="linux-$1@$2%"
    make_lossy_path "$rate"
    new_namespace
    local srv_ns="$ns"
    veth_link "$srv_ns" veth-s 192.0.2.2/26 "$router_ns" veth-rs 192.0.2.1/26
    start_server "$srv_ns" "$bin/tuntcp-bench" serve --cc "$cc" 192.0.2.2:7
    before=$(kernel_rtos "$srv_ns")
    run_lossy_client "$name"
    after=$(kernel_rtos "$srv_ns")
    record_rtos "$name" rto_per_mb "$(( after - before ))"
    stop_server
}

# stack_under_loss NAME RATE: NAME is smoltcp, tuntcp, or tuntcp-CC (our
# engine with --cc CC: tuntcp-bbr, tuntcp-newreno).
stack_under_loss() {
    local name="$1" rate="$2" stack="$1" cc_args=() stats rtos
    if [ "${name#tuntcp-}" != "$name" ]; then
        stack=tuntcp
        cc_args=(--cc "${name#tuntcp-}")
    fi
    make_lossy_path "$rate"
    stats=$(mktemp)
    # Offloads off: the router must forward wire-sized packets, as between
    # the Linux hosts.
    start_server "$router_ns" "$bin/tuntcp" echo --iface tun0 --host-addr 192.0.2.1/26 \
        --addr 192.0.2.2 --stack "$stack" --no-offload "${cc_args[@]}" $echo_args 2>"$stats"
    run_lossy_client "$name@$rate%"
    stop_server
    # The echo command prints its counters when it stops.
    rtos=$(sed -n 's/.*retransmission timeouts \([0-9]*\).*/\1/p' "$stats" | tail -n 1)
    if [ -n "$rtos" ]; then record_rtos "$name@$rate%" rto_per_mb "$rtos"; fi
    grep stopped "$stats" >&2 || true
    if [ -n "$log_file" ]; then cp "$stats" "$log_file"; fi
    rm -f "$stats"
}

loss_benchmark() {
    local rate
    for rate in $rates; do
        for server in $servers; do
            case "$server" in
                linux) for cc in $linux_ccs; do linux_under_loss "$cc" "$rate"; done ;;
                tuntcp | tuntcp-* | smoltcp) stack_under_loss "$server" "$rate" ;;
                *) echo "scripts/bench.sh: unknown server $server (linux, tuntcp, tuntcp-CC, smoltcp)" >&2; exit 2 ;;
            esac
        done
    done
    "$bin/tuntcp-bench" report --loss "$results"
}

if [ "$mode" = loss ]; then
    for tool in nft ethtool nstat; do
        command -v "$tool" >/dev/null || { echo "scripts/bench.sh --loss needs '$tool': run scripts/test.sh --install" >&2; exit 1; }
    done
    loss_benchmark
else
    speed_benchmark
fi

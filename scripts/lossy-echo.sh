#!/usr/bin/env bash
# One lossy echo, measured: the Linux kernel's TCP (a Python client) sends
# MB megabytes to `tuntcp echo` and reads them back, while nftables rules on
# the kernel's side of tun0 drop PERMILLE/1000 of the packets in each
# direction (this kernel has no netem; the loss is not our own code).
# Prints the goodput, and the retransmission timeouts of both ends: ours
# from the engine's log, the kernel's from the capture (tshark).
#
# Everything happens in a network namespace made for this run and removed on
# exit. Bounded: the client gives up after 60 s.
#
# Usage: sudo scripts/lossy-echo.sh [--loss PERMILLE] [--mb N] [--pcap FILE] [--log FILE] [-- ECHO-ARGS...]
#   e.g. sudo scripts/lossy-echo.sh --loss 50 --mb 2 -- --stack smoltcp
set -euo pipefail

cd "$(dirname "$0")/.."

LOSS=50
MB=2
PCAP=""
LOG=""
while [ $# -gt 0 ]; do
    case "$1" in
        --loss) LOSS="$2"; shift 2 ;;
        --mb) MB="$2"; shift 2 ;;
        --pcap) PCAP="$2"; shift 2 ;;
        --log) LOG="$2"; shift 2 ;;
        --) shift; break ;;
        *) echo "lossy-echo.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
ECHO_ARGS=("$@")

if [ "$(id -u)" -ne 0 ]; then
    echo "lossy-echo.sh creates a network namespace and a TUN device: run it with sudo" >&2
    exit 1
fi
for tool in ip nft python3; do
    command -v "$tool" >/dev/null || { echo "lossy-echo.sh needs '$tool': run scripts/test.sh" >&2; exit 1; }
done

BIN="$PWD/target/release/tuntcp"
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 1; }
NETNS="tuntcp-lossy-$$"
WORK="$(mktemp -d)"
[ -n "$PCAP" ] || PCAP="$WORK/echo.pcap"
[ -n "$LOG" ] || LOG="$WORK/server.log"
SERVER_PID=""

cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    ip netns delete "$NETNS" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ip netns add "$NETNS"
in_ns() { ip netns exec "$NETNS" "$@"; }
in_ns ip link set lo up

RUST_LOG="${RUST_LOG:-tuntcp=debug}" in_ns "$BIN" echo --no-offload --pcap "$PCAP" "${ECHO_ARGS[@]}" \
    >"$WORK/server.out" 2>"$LOG" &
SERVER_PID=$!
for _ in $(seq 200); do
    [ -s "$WORK/server.out" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$LOG" >&2; exit 1; }
    sleep 0.1
done

# The kernel's side of tun0: drop LOSS per mille of what arrives and of
# what leaves.
in_ns nft add table inet loss
in_ns nft add chain inet loss in '{ type filter hook input priority 0; }'
in_ns nft add chain inet loss out '{ type filter hook output priority 0; }'
in_ns nft add rule inet loss in iifname tun0 numgen random mod 1000 '<' "$LOSS" counter drop
in_ns nft add rule inet loss out oifname tun0 numgen random mod 1000 '<' "$LOSS" counter drop

in_ns python3 - "$MB" <<'EOF'
import socket, sys, threading, time
total = int(float(sys.argv[1]) * 1_000_000)
data = bytes((i * 7 + i // 251) & 0xFF for i in range(total))
s = socket.create_connection(("192.0.2.2", 7), timeout=60)
s.settimeout(60)
start = time.monotonic()
def send():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
threading.Thread(target=send, daemon=True).start()
got = bytearray()
while len(got) < total:
    chunk = s.recv(1 << 16)
    if not chunk:
        break
    got += chunk
took = time.monotonic() - start
ok = bytes(got) == data
print(f"echoed {len(got)} of {total} bytes {'exactly' if ok else 'WRONG'} in {took:.2f} s: {total / took / 1e6:.2f} MB/s")
sys.exit(0 if ok else 1)
EOF

kill -TERM "$SERVER_PID" 2>/dev/null || true
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""
# The kernel's own view of the run (its TCP counters in this namespace).
in_ns nstat -az 2>/dev/null | awk '$2 > 0 && /^TcpExt|^Tcp/ {printf "  kernel %s %s\n", $1, $2}' || true
echo "dropped by nft (to the kernel, from the kernel): $(in_ns nft list table inet loss | grep -o 'packets [0-9]*' | cut -d' ' -f2 | tr '\n' ' ')"
echo "our retransmission timeouts: $(grep -c 'retransmission timeout' "$LOG" || true)"
if command -v tshark >/dev/null; then
    # The kernel's RTOs: its retransmissions that tshark does not call fast.
    kernel_rto=$(tshark -r "$PCAP" -Y 'ip.src==192.0.2.1 && tcp.analysis.retransmission && !tcp.analysis.fast_retransmission' 2>/dev/null | wc -l)
    echo "kernel retransmissions not fast (RTO or probe): $kernel_rto"
fi
grep 'recovery:' "$LOG" | tail -3 || true

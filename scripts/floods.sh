#!/usr/bin/env bash
# Floods against our engine, smoltcp and the Linux kernel's own TCP side by
# side, while real clients ask to be served: SYN floods (IPv4 and IPv6),
# 5,000 SYNs from 100 sources, ACK and RST floods on a live client's
# tuple, 2,000-connection churn. One table: how the real clients fared
# (served, in under 1 s, median and max), the flood's rate, the packets
# the server sent per packet it got, and memory (our RSS before / peak /
# after; for Linux the kernel's TCP memory from /proc/net/sockstat).
# Everything runs in network namespaces made for it (removed afterwards);
# see scripts/craft/floods.py for the layout and the cases.
#
# Usage: sudo scripts/floods.sh [--servers tuntcp,smoltcp,linux]
#            [--families 4,6] [--cases syn,syn100,ack,rst,churn]
#            [--seconds 6] [--clients 10]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/tools.sh
. scripts/tools.sh
# shellcheck source=scripts/find-cargo.sh
. scripts/find-cargo.sh

[ "$(id -u)" -eq 0 ] || { echo "scripts/floods.sh needs root (TUN devices, namespaces): run it with sudo" >&2; exit 1; }
mapfile -t missing < <(missing_packages hping3 ethtool ip)
install_packages "${missing[@]}"

cargo build --release --quiet --bins
exec /usr/bin/python3 scripts/craft/floods.py run --bin target/release "$@"

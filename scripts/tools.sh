# Sourced by test.sh and demo.sh: the commands they drive, the Debian
# packages that provide them, and installing the ones that are missing, so
# both work on a fresh Debian/Ubuntu machine that has only Rust.

# Debian package that provides each command the scripts and tests run.
declare -A PACKAGE_FOR=(
    [nc]=netcat-openbsd
    [tshark]=tshark
    [ip]=iproute2
    [tc]=iproute2
    [ping]=iputils-ping
    [tcpdump]=tcpdump
    [socat]=socat
    # The kernel-made loss of the lossy tests and of scripts/bench.sh --loss.
    [nft]=nftables
    [ethtool]=ethtool
    [nstat]=iproute2
    # The SYN flood of tests/hostile_live.rs.
    [hping3]=hping3
)

# Prints, one a line and each once, the packages providing whichever of
# the named commands are missing.
missing_packages() {
    local cmd
    for cmd in "$@"; do
        command -v "$cmd" >/dev/null 2>&1 || echo "${PACKAGE_FOR[$cmd]:?no package known for $cmd}"
    done | sort -u
}

# Installs the packages named (none: nothing to do) with apt-get; needs root.
install_packages() {
    [ "$#" -eq 0 ] && return 0
    echo "== installing missing tools: $*"
    if [ "$(id -u)" -ne 0 ]; then
        echo "installing $* needs root: run with sudo" >&2
        return 1
    fi
    command -v apt-get >/dev/null 2>&1 || {
        echo "no apt-get here: install $* with your package manager" >&2
        return 1
    }
    apt-get update
    # tshark asks whether non-root users may capture; preseed "no" so the
    # install never stops to ask.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

# Installs whatever provides the missing ones among the named commands.
install_commands() {
    local missing
    mapfile -t missing < <(missing_packages "$@")
    install_packages "${missing[@]}"
}

# TUN devices need /dev/net/tun; containers and minimal kernels may lack
# the node or the module.
ensure_tun_device() {
    [ -c /dev/net/tun ] && return 0
    echo "== /dev/net/tun missing: loading the tun module"
    modprobe tun 2>/dev/null || true
    if [ ! -c /dev/net/tun ]; then
        mkdir -p /dev/net
        mknod /dev/net/tun c 10 200 || {
            echo "no /dev/net/tun and could not create it (load the tun module: modprobe tun)" >&2
            return 1
        }
    fi
}

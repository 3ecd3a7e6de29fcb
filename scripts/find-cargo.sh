# Sourced by the other scripts: makes `cargo` reachable under sudo.
#
# sudo replaces PATH with its secure_path, which hides a rustup install in
# the invoking user's ~/.cargo/bin; look there (and use that user's rustup
# toolchains) when cargo is not on PATH.
if ! command -v cargo >/dev/null 2>&1 && [ -n "${SUDO_USER:-}" ]; then
    sudo_home=$(getent passwd "$SUDO_USER" | cut -d: -f6)
    if [ -x "$sudo_home/.cargo/bin/cargo" ]; then
        export PATH="$sudo_home/.cargo/bin:$PATH"
        export CARGO_HOME="${CARGO_HOME:-$sudo_home/.cargo}"
        export RUSTUP_HOME="${RUSTUP_HOME:-$sudo_home/.rustup}"
    fi
fi
command -v cargo >/dev/null 2>&1 || {
    echo "cargo not found: install Rust (https://rustup.rs) or put cargo on PATH" >&2
    exit 1
}

#!/usr/bin/env bash
# Build the Go and Tokio twins of weft's io examples (the echo and HTTP hello
# servers that bench/io_compare.py loads), offline.
#
#   bench/build_servers.sh <build_dir>
#
# produces <build_dir>/bench/go_server and <build_dir>/bench/tokio_server.
# Nothing is written to the source tree: the Go build cache and the Cargo
# sources copy, Cargo.lock and target directory all live under
# <build_dir>/bench/. Re-running with nothing changed is quick.
#
# Go uses the standard library only (no module downloads). Tokio and hyper
# build with `cargo --offline` against the Debian-packaged crates in
# /usr/share/cargo/registry (bench/servers/tokio/.cargo/config.toml); hyper
# comes from the Debian package librust-hyper-dev.
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 <build_dir>" >&2
    exit 2
fi

src_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/servers" && pwd)
mkdir -p "$1/bench"
out_dir=$(cd "$1/bench" && pwd)

# --- locate toolchains --------------------------------------------------------
find_tool() { # name, fallback paths...
    local name=$1
    shift
    if command -v "$name" >/dev/null 2>&1; then
        command -v "$name"
        return 0
    fi
    local p
    for p in "$@"; do
        if [[ -x $p ]]; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

missing=()
go_bin=$(find_tool go /usr/lib/go/bin/go /usr/local/go/bin/go) || missing+=("go (Debian package golang-go)")
cargo_bin=$(find_tool cargo "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" /root/.cargo/bin/cargo /usr/bin/cargo) ||
    missing+=("cargo (rustup, or Debian package cargo)")
registry=/usr/share/cargo/registry
for crate in tokio hyper; do
    if ! compgen -G "$registry/$crate-[0-9]*" >/dev/null; then
        missing+=("$crate crate in $registry (Debian package librust-$crate-dev)")
    fi
done
if ((${#missing[@]})); then
    echo "build_servers.sh: cannot build the server twins; missing:" >&2
    printf '  - %s\n' "${missing[@]}" >&2
    exit 1
fi
# rustc must sit next to cargo when cargo comes from rustup's directory and
# that directory is not on PATH.
PATH="$(dirname "$cargo_bin"):$PATH"
export PATH

# --- Go -------------------------------------------------------------------------
echo "build_servers.sh: go: $("$go_bin" version)"
(
    cd "$src_dir/go"
    export GOFLAGS=-mod=mod GOPROXY=off GOSUMDB=off GOTOOLCHAIN=local GO111MODULE=on
    export GOCACHE="$out_dir/go-cache" GOMODCACHE="$out_dir/go-modcache" GOPATH="$out_dir/go-path"
    "$go_bin" build -trimpath -o "$out_dir/go_server" .
)
echo "build_servers.sh: built $out_dir/go_server"

# --- Tokio + hyper ------------------------------------------------------------
# Cargo finds .cargo/config.toml from the working directory and writes
# Cargo.lock next to Cargo.toml, so build from a mirror of bench/servers/tokio
# under the build directory. Files are copied only when their content changed,
# so Cargo's mtime-based fingerprints stay valid and a no-op rebuild is quick.
echo "build_servers.sh: cargo: $("$cargo_bin" --version)"
mirror="$out_dir/tokio-server-src"
mkdir -p "$mirror/src" "$mirror/.cargo"
for f in Cargo.toml src/main.rs .cargo/config.toml; do
    if ! cmp -s "$src_dir/tokio/$f" "$mirror/$f"; then
        cp "$src_dir/tokio/$f" "$mirror/$f"
    fi
done
(
    cd "$mirror"
    # Cargo takes a lock in CARGO_HOME even offline; use the build dir if the
    # default one is not writable (e.g. a read-only HOME).
    cargo_home=${CARGO_HOME:-$HOME/.cargo}
    if ! { mkdir -p "$cargo_home" && [[ -w $cargo_home ]]; } 2>/dev/null; then
        export CARGO_HOME="$out_dir/cargo-home"
    fi
    CARGO_TARGET_DIR="$out_dir/tokio-server-target" "$cargo_bin" build --release --offline --quiet
)
built="$out_dir/tokio-server-target/release/tokio_server"
if ! cmp -s "$built" "$out_dir/tokio_server"; then
    cp "$built" "$out_dir/tokio_server"
fi
echo "build_servers.sh: built $out_dir/tokio_server"

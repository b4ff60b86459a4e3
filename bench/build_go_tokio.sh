#!/usr/bin/env bash
# The offline Go + Tokio build that bench/build_twins.sh (the benchmark twins) and
# bench/build_servers.sh (the echo/HTTP server twins) share.
#
#   bench/build_go_tokio.sh <label> <src_dir> <out_dir> <go_out> <tokio_out> <prefix> <crates>
#
#   label      how messages start (the calling script's name)
#   src_dir    holds go/ (a standard-library-only Go module) and tokio/ (a Cargo package whose
#              .cargo/config.toml points at the Debian registry)
#   out_dir    where everything goes: the binaries <go_out> and <tokio_out>, the Go caches, and
#              the Cargo mirror and target directories <prefix>-src and <prefix>-target
#   crates     space-separated crates that must be in /usr/share/cargo/registry
#
# Nothing is written to the source tree. Re-running with nothing changed is quick (both tools
# rebuild incrementally; the Cargo mirror is copied only where content changed, so Cargo's
# mtime-based fingerprints stay valid).
set -euo pipefail

if [[ $# -ne 7 ]]; then
    echo "usage: $0 <label> <src_dir> <out_dir> <go_out> <tokio_out> <prefix> <crates>" >&2
    exit 2
fi
label=$1 src_dir=$2 out_dir=$3 go_out=$4 tokio_out=$5 prefix=$6 crates=$7

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
for crate in $crates; do
    if ! compgen -G "$registry/$crate-[0-9]*" >/dev/null; then
        missing+=("$crate crate in $registry (Debian package librust-$crate-dev)")
    fi
done
if ((${#missing[@]})); then
    echo "$label: cannot build the Go and Tokio twins; missing:" >&2
    printf '  - %s\n' "${missing[@]}" >&2
    exit 1
fi
# rustc must sit next to cargo when cargo comes from rustup's directory and
# that directory is not on PATH.
PATH="$(dirname "$cargo_bin"):$PATH"
export PATH

# --- Go -------------------------------------------------------------------------
echo "$label: go: $("$go_bin" version)"
(
    cd "$src_dir/go"
    export GOFLAGS=-mod=mod GOPROXY=off GOSUMDB=off GOTOOLCHAIN=local GO111MODULE=on
    export GOCACHE="$out_dir/go-cache" GOMODCACHE="$out_dir/go-modcache" GOPATH="$out_dir/go-path"
    "$go_bin" build -trimpath -o "$out_dir/$go_out" .
)
echo "$label: built $out_dir/$go_out"

# --- Tokio --------------------------------------------------------------------
# Cargo finds .cargo/config.toml from the working directory and writes Cargo.lock next to
# Cargo.toml, so build from a mirror of <src_dir>/tokio under the build directory.
echo "$label: cargo: $("$cargo_bin" --version)"
mirror="$out_dir/$prefix-src"
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
    CARGO_TARGET_DIR="$out_dir/$prefix-target" "$cargo_bin" build --release --offline --quiet
)
built="$out_dir/$prefix-target/release/$tokio_out"
if ! cmp -s "$built" "$out_dir/$tokio_out"; then
    cp "$built" "$out_dir/$tokio_out"
fi
echo "$label: built $out_dir/$tokio_out"

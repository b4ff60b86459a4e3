#!/usr/bin/env bash
# Builds the Go and Tokio twins of weft's benchmarks, offline.
#
#   bench/twins/build.sh <build_dir> [workloads|servers|all]      (default: all)
#
#   workloads  bench/twins/workloads/{go,tokio}: the twins of weft_bench (bench/drivers/compare.py)
#              -> <build_dir>/bench/go_bench and <build_dir>/bench/tokio_bench
#   servers    bench/twins/servers/{go,tokio}: the twins of the io examples' echo and HTTP hello
#              servers (bench/drivers/io_compare.py)
#              -> <build_dir>/bench/go_server and <build_dir>/bench/tokio_server
#
# Go uses the standard library only (no module downloads). Tokio (and hyper, for the servers)
# builds with `cargo --offline` against the Debian-packaged crates in /usr/share/cargo/registry
# (each package's .cargo/config.toml points there).
#
# Nothing is written to the source tree: the Go caches, the Cargo mirror of each package (Cargo
# writes Cargo.lock next to Cargo.toml) and the Cargo target directories live under
# <build_dir>/bench/. Re-running with nothing changed is quick (both tools rebuild incrementally;
# the Cargo mirror is copied only where content changed, so Cargo's mtime-based fingerprints stay
# valid).
set -euo pipefail

usage() {
    echo "usage: $0 <build_dir> [workloads|servers|all]" >&2
    exit 2
}
[[ $# -ge 1 && $# -le 2 ]] || usage
what=${2:-all}
case $what in
workloads | servers | all) ;;
*) usage ;;
esac

twins_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$1/bench"
out_dir=$(cd "$1/bench" && pwd)
label=build.sh

crates="tokio"
[[ $what != servers ]] && crates+=" async-channel"
[[ $what != workloads ]] && crates+=" hyper"

# --- toolchains -------------------------------------------------------------------------------
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
# rustc must sit next to cargo when cargo comes from rustup's directory and that directory is not
# on PATH.
PATH="$(dirname "$cargo_bin"):$PATH"
export PATH

# --- one twin pair ----------------------------------------------------------------------------
# build_pair <src_dir> <go_out> <tokio_out> <prefix>
#   src_dir    holds go/ (a standard-library-only Go module) and tokio/ (a Cargo package)
#   go_out, tokio_out   the binaries written to out_dir
#   prefix     the Cargo mirror and target directories: out_dir/<prefix>-src, <prefix>-target
build_pair() {
    local src_dir=$1 go_out=$2 tokio_out=$3 prefix=$4
    # Go
    echo "$label: go: $("$go_bin" version)"
    (
        cd "$src_dir/go"
        export GOFLAGS=-mod=mod GOPROXY=off GOSUMDB=off GOTOOLCHAIN=local GO111MODULE=on
        export GOCACHE="$out_dir/go-cache" GOMODCACHE="$out_dir/go-modcache" GOPATH="$out_dir/go-path"
        "$go_bin" build -trimpath -o "$out_dir/$go_out" .
    )
    echo "$label: built $out_dir/$go_out"

    # Tokio. Cargo finds .cargo/config.toml from the working directory and writes Cargo.lock next to
    # Cargo.toml, so build from a mirror of <src_dir>/tokio under the build directory.
    echo "$label: cargo: $("$cargo_bin" --version)"
    local mirror="$out_dir/$prefix-src" built="$out_dir/$prefix-target/release/$tokio_out"
    mkdir -p "$mirror/src" "$mirror/.cargo"
    for f in Cargo.toml src/main.rs .cargo/config.toml; do
        if ! cmp -s "$src_dir/tokio/$f" "$mirror/$f"; then
            cp "$src_dir/tokio/$f" "$mirror/$f"
        fi
    done
    (
        cd "$mirror"
        # Cargo takes a lock in CARGO_HOME even offline; use the build dir if the default one is
        # not writable (e.g. a read-only HOME).
        cargo_home=${CARGO_HOME:-$HOME/.cargo}
        if ! { mkdir -p "$cargo_home" && [[ -w $cargo_home ]]; } 2>/dev/null; then
            export CARGO_HOME="$out_dir/cargo-home"
        fi
        CARGO_TARGET_DIR="$out_dir/$prefix-target" "$cargo_bin" build --release --offline --quiet
    )
    if ! cmp -s "$built" "$out_dir/$tokio_out"; then
        cp "$built" "$out_dir/$tokio_out"
    fi
    echo "$label: built $out_dir/$tokio_out"
}

if [[ $what != servers ]]; then
    build_pair "$twins_dir/workloads" go_bench tokio_bench tokio
fi
if [[ $what != workloads ]]; then
    build_pair "$twins_dir/servers" go_server tokio_server tokio-server
fi

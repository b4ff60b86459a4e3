#!/usr/bin/env bash
# Build the Go and Tokio twins of weft's benchmarks, offline.
#
#   bench/build_twins.sh <build_dir>
#
# produces <build_dir>/bench/go_bench and <build_dir>/bench/tokio_bench.
# Nothing is written to the source tree: the Go build cache and the Cargo
# sources copy, Cargo.lock and target directory all live under
# <build_dir>/bench/. Re-running with nothing changed is quick (both tools
# rebuild incrementally).
#
# Go uses the standard library only (no module downloads). Tokio builds with
# `cargo --offline` against the Debian-packaged crates in
# /usr/share/cargo/registry (bench/tokio/.cargo/config.toml).
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 <build_dir>" >&2
    exit 2
fi

src_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$1/bench"
out_dir=$(cd "$1/bench" && pwd)

# The toolchain checks and the offline builds are shared with its sibling script.
exec "$(dirname "${BASH_SOURCE[0]}")/build_go_tokio.sh" build_twins.sh "$src_dir" "$out_dir" go_bench tokio_bench tokio "tokio async-channel"

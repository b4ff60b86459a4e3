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

# The toolchain checks and the offline builds are shared with its sibling script.
exec "$(dirname "${BASH_SOURCE[0]}")/build_go_tokio.sh" build_servers.sh "$src_dir" "$out_dir" go_server tokio_server tokio-server "tokio hyper"

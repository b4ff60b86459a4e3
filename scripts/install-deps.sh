#!/usr/bin/env bash
# Installs what weft needs on a fresh Debian 12 machine, and nothing that is already there.
#   scripts/install-deps.sh          build + tests (compilers, clang-format, cmake, ninja, doxygen, liburing, concurrentqueue, catch2)
#   scripts/install-deps.sh bench    also matplotlib (the benchmark picture), Go, Tokio and async-channel sources, wrk,
#                                    redis-tools and redis-server (redis-benchmark and redis-cli against examples/kv_server)
# Runs apt-get as root (or through sudo when not root).
set -euo pipefail

want=(g++ clang clang-format cmake ninja-build make pkg-config doxygen liburing-dev libconcurrentqueue-dev catch2 libbenchmark-dev)
if [[ "${1:-}" == "bench" ]]; then
  want+=(python3 python3-matplotlib golang-go librust-tokio-dev librust-async-channel-dev librust-hyper-dev wrk redis-tools redis-server)
  # Rust: the image may carry a rustup toolchain in ~/.cargo/bin; otherwise Debian's cargo.
  if ! command -v cargo >/dev/null 2>&1 && [[ ! -x "$HOME/.cargo/bin/cargo" ]]; then
    want+=(cargo)
  fi
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "weft: installing ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

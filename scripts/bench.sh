#!/usr/bin/env bash
# Builds weft (Release) and its Go and Tokio benchmark twins, then prints the comparison table.
#
#   scripts/bench.sh [compare.py options]      e.g. --quick, --only skynet,fib, --workers 4, --runs 3
#
# Steps: scripts/install-deps.sh bench (installs only what is missing); configure and build
# weft_bench in build/bench-release (Release, Ninja); bench/build_twins.sh build/bench-release;
# bench/compare.py over the three programs; then weft's sleep_memory line (resident memory of a
# million sleeping tasks; weft only, so it is not in the table).
#
# Environment:
#   WEFT_BENCH_CXX     C++ compiler (default: $default_cxx below)
#   WEFT_BENCH_RUNS    runs per program and workload (default 5; --runs N overrides it)
#   WEFT_BENCH_BUILD   build directory (default build/bench-release)
#   WEFT_BENCH_MEMORY  0 to skip the sleep_memory line (also skipped with --only)
#   WEFT_BENCH_IO      0 to skip the I/O server table (also skipped with --only)
set -euo pipefail

# The compiler the published figures use: clang 14 (Debian's clang++). Measured with callgrind
# (instructions, repeatable on this noisy machine) on skynet 1M + fib: clang 14 runs 19% fewer
# instructions than g++ 12 and 10% fewer than clang 19 (see bench/README.md).
default_cxx=clang++

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cxx=${WEFT_BENCH_CXX:-$default_cxx}
runs=${WEFT_BENCH_RUNS:-5}
build=${WEFT_BENCH_BUILD:-$root/build/bench-release}

say() { echo "bench.sh: $*" >&2; }

# --- dependencies -----------------------------------------------------------------------------
"$root/scripts/install-deps.sh" bench
if ! command -v python3 >/dev/null 2>&1; then
    # compare.py needs it; Debian's minimal images do not always have it.
    say "installing python3"
    sudo=""
    [[ $(id -u) -ne 0 ]] && sudo=sudo
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends python3-minimal >/dev/null
fi

# --- weft -------------------------------------------------------------------------------------
cxx_path=$(command -v "$cxx") || {
    say "compiler '$cxx' (WEFT_BENCH_CXX) not found"
    exit 1
}
# A build directory configured with another compiler cannot be switched in place: start afresh.
if [[ -f $build/CMakeCache.txt ]]; then
    cached=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")
    if [[ -n $cached && $(readlink -f "$cached") != $(readlink -f "$cxx_path") ]]; then
        say "$build was configured with $cached; reconfiguring with $cxx_path"
        rm -rf "$build/CMakeCache.txt" "$build/CMakeFiles"
    fi
fi
extra_flags=()
say "configuring $build with $cxx_path"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$cxx_path" \
    -DWEFT_BUILD_TESTS=OFF -DWEFT_BUILD_EXAMPLES=ON "${extra_flags[@]}" >/dev/null
cmake --build "$build" --target weft_bench
io_targets=()
if [[ -d $root/io ]]; then
    io_targets=(weft_example_echo_server weft_example_http_hello weft_example_loadgen)
    cmake --build "$build" --target "${io_targets[@]}"
    # The no-runtime floor of the echo table (bench/floor_echo.cpp); its rows say n/a without it.
    cmake --build "$build" --target floor_echo || say "floor_echo not built: no floor rows"
fi
weft_bench=$build/bench/weft_bench

# --- twins ------------------------------------------------------------------------------------
"$root/bench/build_twins.sh" "$build"

# --- the table --------------------------------------------------------------------------------
echo
echo "weft built with $("$cxx_path" --version | head -n 1); $(nproc) CPUs ($(uname -m))"
python3 "$root/bench/compare.py" --weft "$weft_bench" --go "$build/bench/go_bench" \
    --tokio "$build/bench/tokio_bench" --runs "$runs" "$@"

# --- I/O: echo and HTTP servers (weft io_uring, weft epoll, Go, Tokio/hyper) -------------------
io=${WEFT_BENCH_IO:-1}
io_args=()
for a in "$@"; do
    case $a in
    --quick) io_args+=(--quick) ;;
    --only | --only=* | -h | --help) io=0 ;;
    esac
done
if [[ $io != 0 && ${#io_targets[@]} -gt 0 ]]; then
    "$root/bench/build_servers.sh" "$build"
    echo
    echo "I/O servers (server pinned to CPU 0, load generator to CPU 1; see bench/io_compare.py):"
    python3 "$root/bench/io_compare.py" --build "$build" --runs "$runs" "${io_args[@]}"
fi

# --- memory -----------------------------------------------------------------------------------
memory=${WEFT_BENCH_MEMORY:-1}
tasks=1000000
for a in "$@"; do
    case $a in
    --quick) tasks=100000 ;;
    --only | --only=* | -h | --help) memory=0 ;; # a chosen subset of rows, or just the usage
    esac
done
if [[ $memory != 0 ]]; then
    echo
    echo "memory of $tasks sleeping tasks (weft only; target for 1M: < 200 MB):"
    "$weft_bench" sleep_memory tasks="$tasks"
fi

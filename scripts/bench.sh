#!/usr/bin/env bash
# Builds weft (Release) and its Go and Tokio benchmark twins, then prints the comparison table.
#
#   scripts/bench.sh [compare.py options]      e.g. --quick, --only skynet,fib, --workers 4, --runs 3
#
# Steps (bench/README.md describes each piece):
#   1. scripts/install-deps.sh bench (installs only what is missing);
#   2. configure build/bench-release (Release, Ninja) and build weft_bench, weft_micro_bench and
#      the io examples;
#   3. bench/twins/build.sh build/bench-release workloads (the Go and Tokio twins);
#   4. bench/drivers/compare.py over the three programs: the table, also written as CSV and JSON
#      to build/bench-release/results/compare.{csv,json}, and drawn by bench/drivers/plot.py as
#      build/bench-release/results/compare.png (its path is printed);
#   5. weft_micro_bench (Google Benchmark: deque, injection queue, timers, channels, frame
#      allocator), JSON in build/bench-release/results/micro.json, summarised as a table;
#   6. the I/O servers: bench/twins/build.sh build/bench-release servers, bench/drivers/io_compare.py;
#   7. weft's timeout_fib lines (with_timeout(100ms, fib(40)): how far past its deadline the call
#      returns) and sleep_memory line (resident memory of a million sleeping tasks); weft only, so
#      they are not in the table.
#
# Environment:
#   WEFT_BENCH_CXX     C++ compiler (default: $default_cxx below)
#   WEFT_BENCH_RUNS    runs per program and workload (default 5; --runs N overrides it)
#   WEFT_BENCH_BUILD   build directory (default build/bench-release)
#   WEFT_BENCH_MEMORY  0 to skip the sleep_memory line (also skipped with --only)
#   WEFT_BENCH_TIMEOUT 0 to skip the timeout_fib lines (also skipped with --only)
#   WEFT_BENCH_IO      0 to skip the I/O server table (also skipped with --only)
#   WEFT_BENCH_MICRO   0 to skip the micro-benchmarks (also skipped with --only)
#   WEFT_BENCH_PLOT    0 to skip the picture
set -euo pipefail

# The compiler the published figures use: clang 14 (Debian's clang++). Measured with callgrind
# (instructions, repeatable on a noisy machine) on skynet 1M + fib: clang 14 runs 19% fewer
# instructions than g++ 12 and 10% fewer than clang 19 (bench/README.md).
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
micro_bench=$build/bench/weft_micro_bench
cmake --build "$build" --target weft_micro_bench || {
    say "weft_micro_bench not built (Google Benchmark: libbenchmark-dev): no micro-benchmarks"
    micro_bench=""
}
io_targets=()
if [[ -d $root/io ]]; then
    io_targets=(weft_example_echo_server weft_example_http_hello weft_example_loadgen
        weft_example_pipeline weft_example_kv_server)
    cmake --build "$build" --target "${io_targets[@]}"
    # The no-runtime floor of the echo table (bench/kernel/floor_echo.cpp); its rows say n/a
    # without it.
    cmake --build "$build" --target floor_echo || say "floor_echo not built: no floor rows"
fi
weft_bench=$build/bench/weft_bench
results=$build/results
mkdir -p "$results"

# Which of the options are for compare.py alone: --only (a chosen subset of rows) and --help skip
# the other sections; --quick shrinks them too.
quick=0 subset=0
for a in "$@"; do
    case $a in
    --quick) quick=1 ;;
    --only | --only=* | -h | --help) subset=1 ;;
    esac
done

# --- twins ------------------------------------------------------------------------------------
"$root/bench/twins/build.sh" "$build" workloads

# --- the table --------------------------------------------------------------------------------
rm -f "$results"/compare.{csv,json,png} # nothing stale after a failed run or --help
echo
echo "weft built with $("$cxx_path" --version | head -n 1); $(nproc) CPUs ($(uname -m))"
python3 "$root/bench/drivers/compare.py" --weft "$weft_bench" --go "$build/bench/go_bench" \
    --tokio "$build/bench/tokio_bench" --runs "$runs" \
    --csv "$results/compare.csv" --json "$results/compare.json" "$@"

# --- the picture ------------------------------------------------------------------------------
# matplotlib comes from Debian (python3-matplotlib), which the system's python3 sees; a python3
# earlier on PATH (pyenv, a virtual environment) may not.
if [[ ${WEFT_BENCH_PLOT:-1} != 0 && -f $results/compare.json ]]; then
    plot_python=""
    for py in python3 /usr/bin/python3; do
        if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import matplotlib' 2>/dev/null; then
            plot_python=$py
            break
        fi
    done
    if [[ -n $plot_python ]]; then
        echo
        echo "table as CSV: $results/compare.csv, JSON: $results/compare.json"
        echo "picture: $("$plot_python" "$root/bench/drivers/plot.py" "$results/compare.json" \
            "$results/compare.png")"
    else
        say "no python3 with matplotlib (Debian: python3-matplotlib): no picture"
    fi
fi

# --- micro-benchmarks -------------------------------------------------------------------------
if [[ ${WEFT_BENCH_MICRO:-1} != 0 && $subset == 0 && -n $micro_bench ]]; then
    min_time=0.1
    [[ $quick == 1 ]] && min_time=0.02
    echo
    # The console table and Google Benchmark's notes (context, the library's own build type) go
    # to micro.log; the figures come from the JSON.
    if ! "$micro_bench" --benchmark_min_time="$min_time" --benchmark_out="$results/micro.json" \
        --benchmark_out_format=json >"$results/micro.log" 2>&1; then
        tail -n 5 "$results/micro.log" >&2
        say "weft_micro_bench failed (log: $results/micro.log)"
        exit 1
    fi
    python3 "$root/bench/drivers/micro_table.py" "$results/micro.json"
    echo "(JSON: $results/micro.json; console output: $results/micro.log)"
fi

# --- I/O: echo and HTTP servers (weft io_uring, weft epoll, Go, Tokio/hyper) -------------------
io_args=()
[[ $quick == 1 ]] && io_args+=(--quick)
if [[ ${WEFT_BENCH_IO:-1} != 0 && $subset == 0 && ${#io_targets[@]} -gt 0 ]]; then
    "$root/bench/twins/build.sh" "$build" servers
    echo
    echo "I/O servers (server pinned to CPU 0, load generator to CPU 1; see bench/drivers/io_compare.py):"
    python3 "$root/bench/drivers/io_compare.py" --build "$build" --runs "$runs" "${io_args[@]}"
fi

# --- pipeline: files, hashing, channels (weft vs std::thread + mutex queue) -------------------
if [[ ${WEFT_BENCH_PIPELINE:-1} != 0 && $subset == 0 && ${#io_targets[@]} -gt 0 ]]; then
    echo
    echo "pipeline (examples/pipeline: weft vs the same job on std::thread; bench/drivers/pipeline_compare.py):"
    python3 "$root/bench/drivers/pipeline_compare.py" "$build/examples/pipeline" --runs "$runs" "${io_args[@]}"
fi

# --- kv_server vs redis-server (redis-benchmark; needs scripts/install-deps.sh bench) ----------
if [[ ${WEFT_BENCH_KV:-1} != 0 && $subset == 0 && ${#io_targets[@]} -gt 0 ]]; then
    echo
    python3 "$root/bench/drivers/kv_compare.py" --build "$build" --runs "$runs" "${io_args[@]}"
fi

# --- cancellation ---------------------------------------------------------------------------------
if [[ ${WEFT_BENCH_TIMEOUT:-1} != 0 && $subset == 0 ]]; then
    echo
    echo "with_timeout(100ms, fib(40)) (weft only; how soon a deadline stops fork-join work, $runs runs):"
    for ((i = 0; i < runs; i++)); do
        "$weft_bench" timeout_fib n=40 ms=100
    done
fi

# --- memory -----------------------------------------------------------------------------------
tasks=1000000
[[ $quick == 1 ]] && tasks=100000
if [[ ${WEFT_BENCH_MEMORY:-1} != 0 && $subset == 0 ]]; then
    echo
    echo "memory of $tasks sleeping tasks (weft only; target for 1M: < 200 MB):"
    "$weft_bench" sleep_memory tasks="$tasks"
fi

#!/usr/bin/env bash
# Builds weft's libFuzzer targets (tests/fuzz/, clang++ with ASan and UBSan) and runs each one for
# longer than the CTest entries do.
#
#   scripts/fuzz.sh [SECONDS [TARGET...]]   SECONDS per target (default 600); TARGET: address_fuzz,
#                                           names_fuzz, http_request_fuzz (default: all three)
#
# Build directory: build/fuzz (RelWithDebInfo, WEFT_BUILD_FUZZ=ON). What a run finds is kept in
# build/fuzz/corpus/<target>/, outside the source tree, and the next run starts from it (plus the
# seeds in tests/fuzz/corpus/<target>/, which it never writes to). A crash, a sanitizer report or
# a broken invariant stops that target with its input saved as build/fuzz/crash-<hash> (or leak-,
# timeout-); reproduce with `build/fuzz/tests/fuzz/<target> build/fuzz/crash-<hash>`.
#
# Adding interesting inputs to the seed corpus: minimise the grown corpus first, then copy the few
# files worth keeping (small, and covering something the seeds do not) with a descriptive name:
#   build/fuzz/tests/fuzz/<target> -merge=1 /tmp/min build/fuzz/corpus/<target>
#   cp /tmp/min/<file> tests/fuzz/corpus/<target>/<what_it_is>
# The CTest entries (label fuzz) run every seed, so a seed that crashes fails the suite.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

usage() { sed -n '5,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

seconds=${1:-600}
if ! [[ $seconds =~ ^[0-9]+$ ]] || ((seconds == 0)); then
  echo "fuzz.sh: SECONDS must be a positive number, not '$seconds'" >&2
  usage >&2
  exit 2
fi
shift $(($# > 0 ? 1 : 0))
targets=("$@")
if ((${#targets[@]} == 0)); then
  targets=(address_fuzz names_fuzz http_request_fuzz)
fi

if ! command -v clang++ >/dev/null 2>&1; then
  echo "fuzz.sh: clang++ not found (scripts/install-deps.sh installs it)" >&2
  exit 1
fi

build=$root/build/fuzz
# The asan preset's flags (CMakePresets.json says why -fno-sanitize=function).
cmake -S "$root" -B "$build" -G Ninja \
  -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-sanitize=function -fno-sanitize-recover=all -fno-omit-frame-pointer" \
  -DWEFT_BUILD_TESTS=ON -DWEFT_BUILD_FUZZ=ON -DWEFT_BUILD_BENCH=OFF -DWEFT_BUILD_EXAMPLES=OFF \
  >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"

status=0
for t in "${targets[@]}"; do
  corpus=$build/corpus/$t
  mkdir -p "$corpus"
  extra=()
  if [[ $t == http_request_fuzz ]]; then
    extra=(-max_len=12000) # as in tests/fuzz/CMakeLists.txt: beyond the server's 8 KiB buffer
  fi
  echo "== $t: ${seconds}s, corpus $corpus"
  if ! (cd "$build" && "$build/tests/fuzz/$t" -max_total_time="$seconds" -rss_limit_mb=2048 \
    -timeout=30 -print_final_stats=1 "${extra[@]}" "$corpus" "$root/tests/fuzz/corpus/$t"); then
    echo "fuzz.sh: $t failed; its input is in $build (crash-*, leak-* or timeout-*)" >&2
    status=1
  fi
done
exit $status

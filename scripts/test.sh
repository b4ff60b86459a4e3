#!/usr/bin/env bash
# Builds and runs weft's whole test suite, three ways, each in its own build directory
# (build/test-<flavor>), configured, built and tested with the CMake preset of the same name
# (CMakePresets.json holds each flavor's compiler and flags):
#   opt    g++, RelWithDebInfo, warnings as errors; then the install checks (install_check below)
#   tsan   clang++, ThreadSanitizer, warnings as errors
#   asan   clang++, AddressSanitizer + UndefinedBehaviorSanitizer, warnings as errors
# Before the builds, every C++ file must be clang-format clean (clang-format 14, .clang-format at
# the root): an unformatted file fails the run, listed with the command that fixes it.
# Every flavor runs the hidden [stress] tests too, with WEFT_STRESS_ITERS iterations (smaller
# under the sanitizers, so that the whole run fits in CI's 20 minutes on 2 cores).
#
#   scripts/test.sh                    all flavors
#   scripts/test.sh --only tsan        one flavor (opt | tsan | asan); may be repeated
#   WEFT_STRESS_ITERS=1000 scripts/test.sh --only opt    more stress iterations
#
# Ends with a line "N passed, N failed" (CTest tests of every flavor, plus the format and install
# checks) and exits non-zero if anything failed, including a build.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

usage() { sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

flavors=()
while (($#)); do
  case "$1" in
    --only) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; flavors+=("$2"); shift 2 ;;
    --only=*) flavors+=("${1#--only=}"); shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "test.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
((${#flavors[@]})) || flavors=(opt tsan asan)
for f in "${flavors[@]}"; do
  case "$f" in opt|tsan|asan) ;; *) echo "test.sh: unknown flavor '$f' (opt, tsan, asan)" >&2; exit 2 ;; esac
done

bash scripts/install-deps.sh || { echo "test.sh: scripts/install-deps.sh failed" >&2; exit 1; }

jobs=$(nproc)
total_passed=0
total_failed=0
timings=()
failures=()

log() { printf '\n=== %s\n' "$*"; }

# cpu_now: sets $cpu to the CPU seconds (user + system) used so far by this script's finished
# children. Wall time on a shared machine says little; CPU time says what CI's two cores must do.
# (`times` has to run in this shell: in a pipeline or $(...) it would see a fresh subshell.)
times_file=$(mktemp "${TMPDIR:-/tmp}/weft-times.XXXXXX")
trap 'rm -f "$times_file"' EXIT
cpu=0
cpu_now() {
  times >"$times_file"
  cpu=$(awk 'NR == 2 {
    split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%d", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' \
    "$times_file")
}

# count_ctest <log>: adds the "N tests failed out of M" figures of a CTest log to the totals.
count_ctest() {
  local line failed out_of
  line=$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$1" | tail -n 1)
  if [[ -z "$line" ]]; then
    echo "test.sh: no CTest summary in $1" >&2
    return 1
  fi
  failed=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
  out_of=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$line")
  total_passed=$((total_passed + out_of - failed))
  total_failed=$((total_failed + failed))
  ((failed == 0))
}

# failed_details <flavor> <log>: the names of the failed tests and the lines where Catch2 says what
# failed, kept for the summary: CI shows only the end of the output, and a flaky failure may not
# come back in a rerun.
failed_details() {
  local t
  while read -r t; do
    [[ -n "$t" ]] && failures+=("$1: $t")
  done < <(sed -n '/The following tests FAILED:/,$p' "$2" | grep -E '^[[:space:]]+[0-9]+ - ' |
    sed -E 's/^[[:space:]]+//' | head -n 20)
  while IFS= read -r t; do
    [[ -n "$t" ]] && failures+=("$1:   $t")
  done < <(grep -E -A4 ': FAILED:|has failed|Timeout|Subprocess aborted' "$2" | grep -v '^--$' |
    cut -c1-200 | head -n 24)
}

fail() {
  total_failed=$((total_failed + 1))
  failures+=("$1")
}

# run_flavor <name> <stress iterations>: configure, build and test with the presets <name>.
run_flavor() {
  local name=$1 iters=$2
  local dir="build/test-$name"
  local start=$SECONDS cpu_start
  cpu_now
  cpu_start=$cpu

  log "$name: configure ($dir)"
  if ! cmake --preset "$name"; then
    fail "$name: configure"
    timings+=("$name: configure failed after $((SECONDS - start)) s")
    return 1
  fi
  local build_start=$SECONDS
  log "$name: build"
  if ! cmake --build --preset "$name" -j "$jobs"; then
    fail "$name: build"
    timings+=("$name: build failed after $((SECONDS - start)) s")
    return 1
  fi
  local build_s=$((SECONDS - build_start))

  log "$name: test (WEFT_STRESS_ITERS=$iters)"
  local test_start=$SECONDS
  WEFT_STRESS_ITERS=$iters ctest --preset "$name" -j "$jobs" 2>&1 | tee "$dir/ctest.log"
  if ! count_ctest "$dir/ctest.log"; then
    failures+=("$name: tests (see $dir/ctest.log)")
    grep -q '% tests passed' "$dir/ctest.log" || total_failed=$((total_failed + 1))
    failed_details "$name" "$dir/ctest.log"
  fi
  cpu_now
  timings+=("$name: $((SECONDS - start)) s (build ${build_s} s, tests $((SECONDS - test_start)) s; CPU $((cpu - cpu_start)) s)")
}

# install_check: weft as a user gets it. cmake --install the opt build into a temporary prefix, then
#   - tests/install (find_package(weft COMPONENTS runtime sync io) and weft::weft / weft::runtime
#     consumers; configuring it also checks that an unknown component and a missing liburing fail)
#     configured, built and run once with g++ and once with clang++ (a plain clang++: using weft's
#     headers must need no flag of weft's own build);
#   - tests/install/Makefile: the same programs built with make and pkg-config alone (weft.pc,
#     weft-runtime.pc), and run;
#   - a shared build (preset shared: the three libraries only), installed: each .so must have the
#     SONAME libweft_<name>.so.<major version>, and tests/install built against it (g++) must run
#     on those .so files.
install_check() {
  local start=$SECONDS prefix logfile cxx dir
  prefix=$(mktemp -d "${TMPDIR:-/tmp}/weft-install.XXXXXX")
  logfile=$prefix.log
  log "install: cmake --install build/test-opt --prefix $prefix; tests/install against it"
  if ! cmake --install build/test-opt --prefix "$prefix" >"$logfile" 2>&1; then
    cat "$logfile"
    fail "install: cmake --install"
  else
    for cxx in g++ clang++; do
      dir="build/test-install-$cxx"
      if consumer_check "$prefix" "$dir" "$cxx" "$logfile"; then
        total_passed=$((total_passed + 1))
        echo "install ($cxx): passed"
      else
        cat "$logfile"
        fail "install ($cxx): find_package(weft) consumer"
      fi
    done

    dir=build/test-install-pkg-config
    rm -rf "$dir" && mkdir -p "$dir"
    if PKG_CONFIG_PATH="$(dirname "$(find "$prefix" -name weft.pc)")" \
          make -C "$dir" -f "$PWD/tests/install/Makefile" weft_pc_test weft_pc_runtime_test \
          >"$logfile" 2>&1 &&
        "$dir/weft_pc_test" && "$dir/weft_pc_runtime_test"; then
      total_passed=$((total_passed + 1))
      echo "install (pkg-config): passed"
    else
      cat "$logfile"
      fail "install (pkg-config): make + pkg-config consumer"
    fi
  fi
  rm -rf "$prefix"

  log "install (shared): cmake --preset shared; weft_runtime, weft_sync, weft_io; install; SONAME"
  if shared_check "$prefix" "$logfile"; then
    total_passed=$((total_passed + 1))
    echo "install (shared): passed"
  else
    cat "$logfile"
    fail "install (shared): shared libraries, their SONAME and a consumer"
  fi
  rm -rf "$prefix" "$logfile"
  timings+=("install: $((SECONDS - start)) s")
}

# consumer_check <prefix> <build dir> <compiler> <log file>: tests/install against the weft in <prefix>.
consumer_check() {
  local prefix=$1 dir=$2 cxx=$3 logfile=$4
  rm -rf "$dir"
  cmake -G Ninja -S tests/install -B "$dir" -DCMAKE_CXX_COMPILER="$cxx" \
      -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_COMPILE_WARNING_AS_ERROR=ON >"$logfile" 2>&1 &&
    cmake --build "$dir" -j "$jobs" >>"$logfile" 2>&1 &&
    "$dir/weft_install_test" && "$dir/weft_install_runtime_test"
}

# shared_check <prefix> <log file>: the shared libraries, installed into <prefix>, checked.
shared_check() {
  local prefix=$1 logfile=$2 major lib so dir=build/test-install-shared
  major=$(sed -n 's/^project(weft VERSION \([0-9]*\)\..*/\1/p' CMakeLists.txt)
  cmake --preset shared >"$logfile" 2>&1 &&
    cmake --build --preset shared -j "$jobs" >>"$logfile" 2>&1 &&
    cmake --install build/test-shared --prefix "$prefix" >>"$logfile" 2>&1 || return 1
  for lib in runtime sync io; do
    so=$(find "$prefix" -name "libweft_$lib.so")
    if ! readelf -d "$so" | grep -q "(SONAME).*\[libweft_$lib\.so\.$major\]"; then
      echo "shared: ${so:-libweft_$lib.so not installed}: no SONAME libweft_$lib.so.$major" >>"$logfile"
      readelf -d "$so" >>"$logfile" 2>&1
      return 1
    fi
  done
  consumer_check "$prefix" "$dir" g++ "$logfile" || return 1
  # The consumer must have run on the installed .so files, not on a static copy.
  ldd "$dir/weft_install_test" | grep -q "libweft_runtime\.so\.$major => $prefix/" ||
    { echo "shared: weft_install_test does not load $prefix's libweft_runtime.so.$major" >>"$logfile"; return 1; }
}

# format_check: every tracked C++ file as clang-format leaves it.
format_check() {
  local unformatted=()
  local f
  while IFS= read -r f; do
    clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || unformatted+=("$f")
  done < <(git ls-files '*.hpp' '*.cpp' 2>/dev/null || find . -path ./build -prune -o \( -name '*.hpp' -o -name '*.cpp' \) -print)
  if ((${#unformatted[@]})); then
    log "format: ${#unformatted[@]} file(s) not clang-format clean (fix: clang-format -i FILE)"
    printf '  %s\n' "${unformatted[@]}"
    fail "format: ${#unformatted[@]} unformatted file(s)"
  else
    total_passed=$((total_passed + 1))
    log "format: every C++ file is clang-format clean"
  fi
}

overall=$SECONDS
format_check
for f in "${flavors[@]}"; do
  case "$f" in
    opt)
      if run_flavor opt "${WEFT_STRESS_ITERS:-200}"; then
        install_check
      fi
      ;;
    tsan)
      run_flavor tsan "${WEFT_STRESS_ITERS:-60}"
      ;;
    asan)
      run_flavor asan "${WEFT_STRESS_ITERS:-100}"
      ;;
  esac
done

log "summary"
for t in "${timings[@]}"; do echo "  $t"; done
cpu_now
echo "  total: $((SECONDS - overall)) s (CPU $cpu s)"
for f in "${failures[@]}"; do echo "  FAILED: $f"; done
echo "$total_passed passed, $total_failed failed"
((total_failed == 0))

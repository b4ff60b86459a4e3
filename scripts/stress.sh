#!/usr/bin/env bash
# Runs weft's tests at several worker counts, to find tests and races that only show at one count.
# Not part of scripts/test.sh (it takes far longer than CI's 20 minutes); run it before a release
# or after a change to the scheduler or a sync primitive. Two parts, each in the build directory
# of scripts/test.sh's flavor of the same name (configured and built with its CMake preset):
#   opt    the whole opt suite (the [stress] entries included), once at each of 1, 2, 4 and 8
#          workers
#   tsan   every "<executable>:[stress]" entry (CTest label stress) of the ThreadSanitizer build,
#          20 times at 2 and 20 times at 4 workers
# The worker count goes to the tests as WEFT_WORKERS (see tests/support/weft_test.hpp): tests
# that name a count use it instead, tests that need one particular count keep theirs.
#
#   scripts/stress.sh                  both parts
#   scripts/stress.sh --quick          fewer repeats and stress iterations (a smoke run)
#   scripts/stress.sh --only tsan      one part (opt | tsan)
#   scripts/stress.sh --repeats 50     repeats of each tsan stress entry (default 20, quick 3)
#   WEFT_STRESS_ITERS=500 scripts/stress.sh    iterations of each stress test (default: opt 200,
#                                      tsan 60; quick: opt 50, tsan 20)
#
# Ends with a table (test, workers, runs, failures) and exits non-zero on any failure, including
# a build. The CTest logs are in build/stress/.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

usage() { sed -n '2,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

quick=0
repeats=
parts=()
while (($#)); do
  case "$1" in
    --quick) quick=1; shift ;;
    --only) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; parts+=("$2"); shift 2 ;;
    --only=*) parts+=("${1#--only=}"); shift ;;
    --repeats) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; repeats=$2; shift 2 ;;
    --repeats=*) repeats=${1#--repeats=}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "stress.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
((${#parts[@]})) || parts=(opt tsan)
for p in "${parts[@]}"; do
  case "$p" in opt|tsan) ;; *) echo "stress.sh: unknown part '$p' (opt, tsan)" >&2; exit 2 ;; esac
done
if [[ -n "$repeats" && ! "$repeats" =~ ^[1-9][0-9]*$ ]]; then
  echo "stress.sh: --repeats wants a positive number, not '$repeats'" >&2
  exit 2
fi

if ((quick)); then
  opt_iters=${WEFT_STRESS_ITERS:-50}
  tsan_iters=${WEFT_STRESS_ITERS:-20}
  repeats=${repeats:-3}
else
  opt_iters=${WEFT_STRESS_ITERS:-200}
  tsan_iters=${WEFT_STRESS_ITERS:-60}
  repeats=${repeats:-20}
fi
opt_workers=(1 2 4 8)
tsan_workers=(2 4)

jobs=$(nproc)
logdir=build/stress
mkdir -p "$logdir"
rows=()     # "test|workers|runs|failures"
failed=0

log() { printf '\n=== %s\n' "$*"; }

# build <preset>: configure and build; false (and a table row) if either fails.
build() {
  local preset=$1
  log "$preset: configure and build (build/test-$preset)"
  if cmake --preset "$preset" >"$logdir/$preset-build.log" 2>&1 &&
      cmake --build --preset "$preset" -j "$jobs" >>"$logdir/$preset-build.log" 2>&1; then
    return 0
  fi
  tail -n 40 "$logdir/$preset-build.log"
  rows+=("$preset: build (see $logdir/$preset-build.log)|-|1|1")
  failed=$((failed + 1))
  return 1
}

# failed_tests <ctest log>: the names in its "The following tests FAILED:" list, one a line.
failed_tests() {
  sed -n '/^The following tests FAILED:/,$p' "$1" |
    sed -nE 's/^[[:space:]]+[0-9]+ - (.*) \([^()]*\)$/\1/p'
}

# ctest_ok <ctest log>: the run reached its summary line.
ctest_ok() { grep -qE '[0-9]+% tests passed' "$1"; }

run_opt() {
  build opt || return
  local n logfile total bad
  for n in "${opt_workers[@]}"; do
    logfile="$logdir/opt-workers$n.log"
    log "opt: whole suite at WEFT_WORKERS=$n (WEFT_STRESS_ITERS=$opt_iters)"
    WEFT_WORKERS=$n WEFT_STRESS_ITERS=$opt_iters ctest --preset opt -j "$jobs" >"$logfile" 2>&1
    if ! ctest_ok "$logfile"; then
      tail -n 20 "$logfile"
      rows+=("opt: suite did not finish (see $logfile)|$n|1|1")
      failed=$((failed + 1))
      continue
    fi
    grep -E '[0-9]+% tests passed' "$logfile"
    total=$(sed -nE 's/.* failed out of ([0-9]+).*/\1/p' "$logfile" | tail -n 1)
    bad=0
    while IFS= read -r t; do
      [[ -n "$t" ]] || continue
      rows+=("$t|$n|1|1")
      bad=$((bad + 1))
    done < <(failed_tests "$logfile")
    rows+=("opt: whole suite ($total tests), failed|$n|1|$bad")
    failed=$((failed + bad))
  done
}

run_tsan() {
  build tsan || return
  local n r logfile t names=() k
  while IFS= read -r t; do names+=("$t"); done < <(
    ctest --preset tsan -N -L stress | sed -nE 's/^[[:space:]]*Test[[:space:]]+#[0-9]+: (.*)$/\1/p')
  if ((${#names[@]} == 0)); then
    rows+=("tsan: no [stress] entries found|-|0|1")
    failed=$((failed + 1))
    return
  fi
  for n in "${tsan_workers[@]}"; do
    declare -A fails=()
    log "tsan: ${#names[@]} [stress] entries, $repeats runs at WEFT_WORKERS=$n (WEFT_STRESS_ITERS=$tsan_iters)"
    for ((r = 1; r <= repeats; ++r)); do
      logfile="$logdir/tsan-workers$n-run$r.log"
      WEFT_WORKERS=$n WEFT_STRESS_ITERS=$tsan_iters ctest --preset tsan -L stress -j "$jobs" \
        >"$logfile" 2>&1
      if ! ctest_ok "$logfile"; then
        tail -n 20 "$logfile"
        k="tsan: ctest did not finish (see $logdir/tsan-workers$n-run*.log)"
        fails["$k"]=$((${fails["$k"]:-0} + 1))
        continue
      fi
      local line
      line=$(grep -E '[0-9]+% tests passed' "$logfile")
      echo "  run $r: $line"
      while IFS= read -r t; do
        [[ -n "$t" ]] || continue
        fails["$t"]=$((${fails["$t"]:-0} + 1))
        echo "    FAILED: $t (log: $logfile)"
      done < <(failed_tests "$logfile")
    done
    declare -A known=()
    for t in "${names[@]}"; do
      known["$t"]=1
      rows+=("$t|$n|$repeats|${fails["$t"]:-0}")
      failed=$((failed + ${fails["$t"]:-0}))
    done
    for k in "${!fails[@]}"; do # a run that did not finish, or a name CTest did not list
      [[ -n "${known["$k"]:-}" ]] && continue
      rows+=("$k|$n|$repeats|${fails["$k"]}")
      failed=$((failed + ${fails["$k"]}))
    done
    unset fails known
  done
}

start=$SECONDS
for p in "${parts[@]}"; do
  case "$p" in
    opt) run_opt ;;
    tsan) run_tsan ;;
  esac
done

log "summary ($((SECONDS - start)) s; logs in $logdir)"
{
  echo "test|workers|runs|failures"
  printf '%s\n' "${rows[@]}"
} | column -t -s '|'
if ((failed)); then
  echo "stress.sh: $failed failure(s)"
  exit 1
fi
echo "stress.sh: no failures"

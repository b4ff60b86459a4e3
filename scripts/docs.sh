#!/usr/bin/env bash
# Builds weft's API reference with Doxygen (docs/Doxyfile): the `///` comments of the public headers
# (runtime/include, sync/include, io/include, the umbrella include/) and the guide pages docs/*.md.
# Any Doxygen warning fails the build: the warnings are printed and the script exits 1.
#
#   scripts/docs.sh                  builds build/docs/html and prints the path of its index.html
#   scripts/docs.sh --check OUTDIR   builds into OUTDIR (the CTest test docs:doxygen does this);
#                                    installs nothing, prints only the warnings
#
# Needs doxygen (Debian's, installed by scripts/install-deps.sh; the plain form runs it first).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

usage() { sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

check=0
out="$root/build/docs"
case "${1:-}" in
  "") ;;
  --check)
    [[ $# -eq 2 ]] || { usage >&2; exit 2; }
    check=1
    out=$2
    ;;
  -h|--help) usage; exit 0 ;;
  *) echo "docs.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
esac

if ((!check)); then
  scripts/install-deps.sh || exit 1
fi
if ! command -v doxygen >/dev/null 2>&1; then
  echo "docs.sh: doxygen not found (scripts/install-deps.sh installs it)" >&2
  exit 1
fi

mkdir -p "$out" || exit 1
out=$(cd "$out" && pwd)
rm -rf "$out/html" "$out/warnings.log"

# Doxygen reads OUTPUT_DIRECTORY and WARN_LOGFILE from WEFT_DOCS_OUT (see docs/Doxyfile).
WEFT_DOCS_OUT=$out doxygen docs/Doxyfile >"$out/doxygen.log" 2>&1
rc=$?

# FAIL_ON_WARNINGS makes doxygen exit non-zero on a warning; the log is checked as well, so that a
# warning printed to the console rather than the log file (an unreadable input, a bad option) or a
# Doxygen that ignores the setting still fails the build.
if ((rc != 0)) || [[ -s "$out/warnings.log" ]] || grep -qiE 'warning|error' "$out/doxygen.log"; then
  echo "docs.sh: doxygen reported problems (exit status $rc):" >&2
  cat "$out/warnings.log" "$out/doxygen.log" 2>/dev/null | sed 's/^/  /' >&2
  exit 1
fi
if [[ ! -f "$out/html/index.html" ]]; then
  echo "docs.sh: doxygen wrote no $out/html/index.html" >&2
  exit 1
fi
if ((!check)); then
  echo "$out/html/index.html"
fi

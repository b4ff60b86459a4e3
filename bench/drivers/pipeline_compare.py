#!/usr/bin/env python3
"""The pipeline rows of the main job: examples/pipeline (read files, hash chunks on every worker,
aggregate through a channel, at most L files open) on weft and as a std::thread program with a
mutex-protected queue, in the same process, at 1 and 2 workers, runs interleaved.

    pipeline_compare.py PIPELINE [--runs N] [--quick] [-- extra pipeline options]

Prints the median wall time of each (ms), thread time / weft time (above 1: weft is faster), and
each side's speed-up from 1 to 2 workers. The files are written to /tmp once per run by the
program itself, so they are in the page cache: this measures the runtime, not the disk.
"""

import argparse
import re
import statistics
import subprocess
import sys


def one(binary, workers, extra):
    out = subprocess.run([binary, "-w", str(workers), *extra], capture_output=True, text=True,
                         timeout=600)
    if out.returncode != 0:
        sys.exit(f"pipeline -w {workers} failed ({out.returncode}): {out.stderr.strip()}")
    params = out.stdout.splitlines()[0]
    weft = float(re.search(r"^weft: +wall_ms=([\d.]+)", out.stdout, re.M).group(1))
    threads = float(re.search(r"^threads: +wall_ms=([\d.]+)", out.stdout, re.M).group(1))
    return params, weft, threads


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("extra", nargs="*")
    a = ap.parse_args()
    extra = a.extra or (["-n", "16", "-s", "1048576"] if a.quick else ["-n", "128", "-s", "1048576"])
    times = {1: ([], []), 2: ([], [])}
    params = {}
    for _ in range(a.runs):
        for w in (1, 2):
            p, weft, threads = one(a.binary, w, extra)
            params[w] = p
            times[w][0].append(weft)
            times[w][1].append(threads)
    med = {w: (statistics.median(t[0]), statistics.median(t[1])) for w, t in times.items()}
    print(params[2].replace("workers=2", "workers=1,2") + f" (medians of {a.runs})")
    print(f"{'workers':>8} {'weft ms':>9} {'threads ms':>11} {'threads/weft':>13}")
    for w in (1, 2):
        print(f"{w:>8} {med[w][0]:>9.1f} {med[w][1]:>11.1f} {med[w][1] / med[w][0]:>13.2f}")
    print(f"speed-up 1->2 workers: weft {med[1][0] / med[2][0]:.2f}x, "
          f"threads {med[1][1] / med[2][1]:.2f}x")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Print the micro-benchmarks' Google Benchmark JSON as a table.

    bench/drivers/micro_table.py MICRO.json

MICRO.json is what `weft_micro_bench --benchmark_out=MICRO.json
--benchmark_out_format=json` (or --benchmark_format=json on stdout) writes. One
line per benchmark: its name (with its argument: workers for the benchmarks on
a running runtime, a size or count for the others), the time per operation in
nanoseconds (per item for the benchmarks that move several items per
iteration; wall clock for the benchmarks marked real_time, whose loop runs on a
worker thread, CPU time otherwise) and the iterations measured. Standard
library only.
"""

import argparse
import json
import sys

TO_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("json", help="Google Benchmark JSON output")
    args = ap.parse_args()
    with open(args.json) as f:
        data = json.load(f)
    ctx = data.get("context", {})
    rows = []
    for b in data.get("benchmarks", []):
        if b.get("run_type", "iteration") != "iteration":
            continue  # aggregates (--benchmark_repetitions): the iterations are enough here
        unit = TO_NS.get(b.get("time_unit", "ns"), 1.0)
        real = "/real_time" in b["name"]
        ns = (b["real_time"] if real else b["cpu_time"]) * unit
        # A benchmark that moves several items per iteration reports items_per_second (over CPU
        # time): the figure is then per item.
        if b.get("items_per_second") and b.get("cpu_time"):
            per_iter = b["items_per_second"] * b["cpu_time"] * unit * 1e-9
            if per_iter > 0:
                ns /= per_iter
        name = b["name"].replace("/real_time", "")
        error = b.get("error_message")
        rows.append([name, "error: %s" % error if error else "%.1f" % ns,
                     "wall" if real else "cpu", str(b.get("iterations", ""))])
    if not rows:
        print("micro_table.py: no benchmarks in %s" % args.json, file=sys.stderr)
        return 1
    print("weft micro-benchmarks (Google Benchmark, %s, %s CPUs at %s MHz):" % (
        ctx.get("date", "?"), ctx.get("num_cpus", "?"), ctx.get("mhz_per_cpu", "?")))
    header = ["benchmark", "ns/op", "clock", "iterations"]
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]

    def fmt(r):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(r, widths))).rstrip()

    print(fmt(header))
    print(fmt(["-" * w for w in widths]))
    for r in rows:
        print(fmt(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())

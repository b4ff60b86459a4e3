#!/usr/bin/env python3
"""Compare weft's scheduler/sync benchmarks with their Go and Tokio twins.

    bench/drivers/compare.py --weft PATH --go PATH --tokio PATH
                     [--runs 5] [--workers N] [--only name,name] [--quick]
                     [--raw FILE] [--csv FILE] [--json FILE] [--timeout SECONDS]

Every program takes `<name> key=value ... workers=N` and prints one line
`<name> key=value ... workers=N seconds=S ops_per_sec=O ns_per_op=N [result=R]`.
Each workload is run `--runs` times per program, the programs interleaved run
by run (and their order rotated) so that machine noise hits all of them alike;
the table shows the median per program and the ratios Go/weft and Tokio/weft
of the median seconds, i.e. how many times faster weft is (>1: weft faster).

A program that is missing, fails, or does not know a workload shows "n/a"
(after its first failure on a workload it is not run again for that workload);
the reasons are listed under the table. --csv and --json also write the table
(unrounded medians, empty/null for n/a) for bench/drivers/plot.py and other
tools. Standard library only.
"""

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import time

# One row per workload: (name, default parameters, --quick parameters).
# Parameters are passed as key=value in this order. Add rows (echo, http, ...)
# here; every program must accept the same name and keys.
WORKLOADS = [
    ("skynet",       {"size": 1000000, "div": 10},  {"size": 100000, "div": 10}),
    ("skynet_when_all", {"size": 1000000, "div": 10}, {"size": 100000, "div": 10}),
    ("spawn_join",   {"n": 1000000},                {"n": 100000}),
    ("when_all_wide", {"n": 1000000},               {"n": 100000}),
    ("scope_wide",   {"n": 1000000},                {"n": 100000}),
    ("spawn_many_wide", {"n": 1000000},             {"n": 100000}),
    ("fib",          {"n": 30},                     {"n": 25}),
    ("yield",        {"tasks": 1000, "iters": 1000}, {"tasks": 100, "iters": 1000}),
    ("sleep_timers", {"tasks": 100000, "ms": 1},    {"tasks": 10000, "ms": 1}),
    ("pingpong",     {"n": 1000000},                {"n": 100000}),
    ("mpmc",         {"producers": 4, "consumers": 4, "cap": 1024, "items": 10000000},
                     {"producers": 4, "consumers": 4, "cap": 1024, "items": 1000000}),
    ("mutex",        {"tasks": 1000, "iters": 1000}, {"tasks": 100, "iters": 1000}),
    ("select",       {"n": 1000000},                {"n": 100000}),
]

# weft-only variants of a twin workload: in their rows, Go and Tokio run (or, when the twin's row
# already ran with the same parameters, reuse) the twin workload, so weft's variant is compared
# with the same Go and Tokio figures.
TWIN_OF = {"skynet_when_all": "skynet", "when_all_wide": "spawn_join", "scope_wide": "spawn_join",
           "spawn_many_wide": "spawn_join"}

PROGRAMS = ("weft", "go", "tokio")  # weft first: the ratios are against it
NA = "n/a"


def parse_line(name, stdout):
    """Return the key=value fields of the line for `name`, or None."""
    for line in stdout.splitlines():
        tokens = line.split()
        if tokens and tokens[0] == name:
            fields = dict(t.split("=", 1) for t in tokens[1:] if "=" in t)
            try:
                fields["seconds"] = float(fields["seconds"])
                fields["ns_per_op"] = float(fields["ns_per_op"])
            except (KeyError, ValueError):
                return None, line
            return fields, line
    return None, None


def run_once(path, name, params, workers, timeout):
    """Run one benchmark; return (fields, raw_line, error)."""
    argv = [path, name] + ["%s=%s" % kv for kv in params.items()] + ["workers=%d" % workers]
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, None, "timed out after %ss" % timeout
    except OSError as e:
        return None, None, "cannot run: %s" % e.strerror
    if proc.returncode != 0:
        msg = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
        return None, None, "exit %d: %s" % (proc.returncode, msg)
    fields, line = parse_line(name, proc.stdout)
    if fields is None:
        return None, line, "no parsable '%s ... seconds=... ns_per_op=...' line" % name
    return fields, line, None


def fmt_ns(v):
    if v is None:
        return NA
    if v < 10:
        return "%.2f" % v
    if v < 1000:
        return "%.1f" % v
    return "%.0f" % v


def fmt_s(v):
    return NA if v is None else "%.4f" % v


def ratio(other, weft):
    if other is None or weft is None or weft <= 0:
        return None
    return other / weft


def fmt_ratio(other, weft):
    r = ratio(other, weft)
    return NA if r is None else "%.2fx" % r


def write_csv(path, records):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(records[0].keys()) if records else ["workload"])
        w.writeheader()
        for r in records:
            w.writerow({k: "" if v is None else v for k, v in r.items()})


def write_json(path, conditions, records, notes):
    with open(path, "w") as f:
        json.dump({"conditions": conditions, "rows": records, "notes": notes}, f, indent=2)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weft", metavar="PATH", help="weft benchmark program")
    ap.add_argument("--go", metavar="PATH", help="Go twin (go_bench)")
    ap.add_argument("--tokio", metavar="PATH", help="Tokio twin (tokio_bench)")
    ap.add_argument("--runs", type=int, default=5, help="runs per program and workload (default 5)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                    help="worker threads for every program (default: number of CPUs)")
    ap.add_argument("--only", metavar="NAMES", help="comma-separated workloads to run")
    ap.add_argument("--quick", action="store_true", help="small sizes, for smoke tests")
    ap.add_argument("--raw", metavar="FILE", help="also write every raw result line to FILE")
    ap.add_argument("--csv", metavar="FILE", help="also write the table as CSV to FILE")
    ap.add_argument("--json", metavar="FILE", help="also write the table and the conditions as JSON to FILE")
    ap.add_argument("--timeout", type=float, default=300, help="seconds per single run (default 300)")
    args = ap.parse_args()
    if args.runs < 1 or args.workers < 1:
        ap.error("--runs and --workers must be >= 1")

    known = [w[0] for w in WORKLOADS]
    selected = WORKLOADS
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in known]
        if unknown:
            ap.error("unknown workload(s) %s; known: %s" % (", ".join(unknown), ", ".join(known)))
        selected = [w for w in WORKLOADS if w[0] in names]

    paths = {"weft": args.weft, "go": args.go, "tokio": args.tokio}
    notes = []     # reasons for n/a cells, printed under the table
    broken = {}    # program -> reason it cannot run at all
    for prog in PROGRAMS:
        p = paths[prog]
        if not p:
            broken[prog] = "no --%s given" % prog
        elif not (os.path.isfile(p) and os.access(p, os.X_OK)):
            broken[prog] = "%s is missing or not executable" % p
        if prog in broken:
            notes.append("%s: %s" % (prog, broken[prog]))

    raw = open(args.raw, "w") if args.raw else None
    if raw:
        raw.write("# compare.py runs=%d workers=%d quick=%s %s\n" % (
            args.runs, args.workers, args.quick,
            " ".join("%s=%s" % (p, paths[p]) for p in PROGRAMS)))

    load_start = os.getloadavg()
    rows = []
    records = []  # the same rows, unrounded, for --csv and --json
    done = {}  # (program, workload run, parameters) -> (secs, nsop, result or None, failed)
    for name, default_params, quick_params in selected:
        params = quick_params if args.quick else default_params
        secs = {p: [] for p in PROGRAMS}
        nsop = {p: [] for p in PROGRAMS}
        results = {}
        failed = {}
        # What each program runs for this row, and the measurements it can reuse.
        runs_as = {p: name if p == "weft" else TWIN_OF.get(name, name) for p in PROGRAMS}
        keys = {p: (p, runs_as[p], tuple(sorted(params.items()))) for p in PROGRAMS}
        reused = [p for p in PROGRAMS if keys[p] in done]
        for p in reused:
            secs[p], nsop[p], result, err = done[keys[p]]
            if result is not None:
                results[p] = result
            if err is not None:
                failed[p] = err
        if any(runs_as[p] != name for p in PROGRAMS if p not in broken):
            notes.append("%s: weft only; the Go and Tokio columns are their %s" % (name, TWIN_OF[name]))
        for run in range(args.runs):
            # Rotate the order each run so no program always goes first.
            order = PROGRAMS[run % len(PROGRAMS):] + PROGRAMS[:run % len(PROGRAMS)]
            for prog in order:
                if prog in broken or prog in failed or prog in reused:
                    continue
                wname = runs_as[prog]
                print("[%s run %d/%d] %s" % (name, run + 1, args.runs, prog), file=sys.stderr, flush=True)
                fields, line, err = run_once(paths[prog], wname, params, args.workers, args.timeout)
                if err:
                    failed[prog] = err
                    secs[prog], nsop[prog] = [], []
                    results.pop(prog, None)
                    notes.append("%s %s: %s" % (prog, wname, err))
                    if raw:
                        raw.write("# %s %s run=%d failed: %s\n" % (prog, wname, run + 1, err))
                    continue
                secs[prog].append(fields["seconds"])
                nsop[prog].append(fields["ns_per_op"])
                if "result" in fields:
                    results[prog] = fields["result"]
                if raw:
                    raw.write("%s\t%s\n" % (prog, line))
                    raw.flush()
        for p in PROGRAMS:
            if p not in broken and p not in reused:
                done[keys[p]] = (secs[p], nsop[p], results.get(p), failed.get(p))
        if len(set(results.values())) > 1:
            notes.append("%s: results differ: %s" % (
                name, ", ".join("%s=%s" % kv for kv in sorted(results.items()))))
        med_s = {p: statistics.median(secs[p]) if secs[p] else None for p in PROGRAMS}
        med_ns = {p: statistics.median(nsop[p]) if nsop[p] else None for p in PROGRAMS}
        records.append({
            "workload": name,
            "parameters": " ".join("%s=%s" % kv for kv in params.items()),
            "weft_ns_per_op": med_ns["weft"], "weft_s": med_s["weft"],
            "go_ns_per_op": med_ns["go"], "go_s": med_s["go"],
            "tokio_ns_per_op": med_ns["tokio"], "tokio_s": med_s["tokio"],
            "go_over_weft": ratio(med_s["go"], med_s["weft"]),
            "tokio_over_weft": ratio(med_s["tokio"], med_s["weft"]),
            "twin_of": TWIN_OF.get(name),
        })
        rows.append([
            name,
            " ".join("%s=%s" % kv for kv in params.items()),
            fmt_ns(med_ns["weft"]), fmt_s(med_s["weft"]),
            fmt_ns(med_ns["go"]), fmt_s(med_s["go"]),
            fmt_ns(med_ns["tokio"]), fmt_s(med_s["tokio"]),
            fmt_ratio(med_s["go"], med_s["weft"]),
            fmt_ratio(med_s["tokio"], med_s["weft"]),
        ])
    if raw:
        raw.close()

    header = ["workload", "parameters",
              "weft ns/op", "weft s", "Go ns/op", "Go s", "Tokio ns/op", "Tokio s",
              "Go/weft", "Tokio/weft"]
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    left = {0, 1}  # text columns; the rest are right-aligned numbers

    def fmt_row(r):
        return "  ".join(c.ljust(w) if i in left else c.rjust(w)
                         for i, (c, w) in enumerate(zip(r, widths))).rstrip()

    when = time.strftime("%Y-%m-%d %H:%M")
    print("weft vs Go vs Tokio: median of %d run%s per program, workers=%d%s, %s" % (
        args.runs, "" if args.runs == 1 else "s", args.workers,
        ", quick sizes" if args.quick else "", when))
    print("ratios = other median seconds / weft median seconds (>1: weft is faster)")
    print()
    print(fmt_row(header))
    print(fmt_row(["-" * w for w in widths]))
    for r in rows:
        print(fmt_row(r))
    if notes:
        print()
        print("notes:")
        for n in notes:
            print("  " + n)
    conditions = {"date": when, "runs": args.runs, "workers": args.workers, "quick": args.quick,
                  "cpus": os.cpu_count(), "load_average_before": list(load_start),
                  "load_average_after": list(os.getloadavg()),
                  "programs": {p: paths[p] for p in PROGRAMS}}
    if args.csv:
        write_csv(args.csv, records)
    if args.json:
        write_json(args.json, conditions, records, notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())

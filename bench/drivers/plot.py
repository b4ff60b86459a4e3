#!/usr/bin/env python3
"""Draw bench/drivers/compare.py's table as one PNG.

    bench/drivers/plot.py TABLE.json OUT.png

TABLE.json is what `compare.py --json` writes. One group of horizontal bars per
workload (weft, Go, Tokio), ns/op on a log scale, each bar labelled with its
ns/op and each Go and Tokio bar with its ratio to weft (other / weft median
seconds: >1 means weft is faster). A workload that is a weft-only variant of a
twin workload (skynet_when_all) shows the twin's Go and Tokio figures, as the
table does. Cells that are n/a in the table have no bar. Needs matplotlib
(Debian: python3-matplotlib).
"""

import argparse
import json
import sys

import matplotlib

matplotlib.use("Agg")  # no display: write the file only
import matplotlib.pyplot as plt  # noqa: E402

PROGRAMS = [  # (key in the JSON rows, label, colour)
    ("weft", "weft", "#1f77b4"),
    ("go", "Go", "#2ca02c"),
    ("tokio", "Tokio", "#ff7f0e"),
]


def fmt_ns(v):
    if v < 10:
        return "%.2f" % v
    if v < 1000:
        return "%.1f" % v
    return "%.0f" % v


def short(params):
    """"producers=4 ... items=10000000" -> "producers=4 ...\nitems=10M": short numbers, and at
    most two parameters a line."""
    out = []
    for kv in params.split():
        k, _, v = kv.partition("=")
        if v.isdigit():
            n = int(v)
            for div, suffix in ((1000000, "M"), (1000, "k")):
                if n >= div and n % div == 0:
                    v = "%d%s" % (n // div, suffix)
                    break
        out.append("%s=%s" % (k, v))
    return "\n".join(" ".join(out[i:i + 2]) for i in range(0, len(out), 2))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("table", help="JSON written by compare.py --json")
    ap.add_argument("out", help="PNG to write")
    args = ap.parse_args()
    with open(args.table) as f:
        data = json.load(f)
    rows = data["rows"]
    cond = data["conditions"]
    if not rows:
        print("plot.py: no rows in %s" % args.table, file=sys.stderr)
        return 1

    bar_h = 0.26
    fig_h = 1.0 + 0.75 * len(rows)
    fig, ax = plt.subplots(figsize=(9, fig_h), dpi=90)
    values = [r["%s_ns_per_op" % k] for r in rows for k, _, _ in PROGRAMS
              if r.get("%s_ns_per_op" % k)]
    lo, hi = min(values), max(values)
    for i, r in enumerate(rows):
        for j, (key, label, colour) in enumerate(PROGRAMS):
            v = r.get("%s_ns_per_op" % key)
            if not v:
                continue
            y = i + (j - 1) * bar_h
            ax.barh(y, v, height=bar_h * 0.9, color=colour, label=label if i == 0 else None)
            text = fmt_ns(v)
            ratio = r.get("%s_over_weft" % key)
            if key != "weft" and ratio is not None:
                text += "  (%.2fx)" % ratio
            ax.text(v * 1.08, y, text, va="center", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlim(lo / 2, hi * 8)  # room for the labels right of the longest bar
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(["%s\n%s" % (r["workload"] + (" *" if r.get("twin_of") else ""),
                                    short(r["parameters"])) for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("ns per op, median (log scale; lower is faster)  -  (Nx) = other / weft time")
    load = cond.get("load_average_before")
    title = "weft vs Go vs Tokio: %s, median of %d run%s, workers=%d, %s CPUs%s%s" % (
        cond["date"], cond["runs"], "" if cond["runs"] == 1 else "s", cond["workers"],
        cond.get("cpus", "?"), ", load average %.1f" % load[0] if load else "",
        ", quick sizes" if cond.get("quick") else "")
    ax.set_title(title, fontsize=9)
    twins = sorted({"%s: Go and Tokio run %s" % (r["workload"], r["twin_of"])
                    for r in rows if r.get("twin_of")})
    if twins:
        fig.text(0.01, 0.005, "* weft only; " + "; ".join(twins), fontsize=7)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", which="major", alpha=0.3)
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    fig.savefig(args.out)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

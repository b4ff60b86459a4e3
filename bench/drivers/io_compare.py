#!/usr/bin/env python3
"""Compare weft's I/O with Go and Tokio: echo servers, HTTP hello servers, file reads.

    bench/drivers/io_compare.py --build DIR [--runs 3] [--duration 5] [--warmup 1]
                        [--only echo,http,file_read] [--quick] [--raw FILE]
                        [--server-cpus 0] [--client-cpus 1] [--nice N]

DIR is a weft build directory with the examples built (DIR/examples/echo_server,
http_hello, loadgen), weft_bench (DIR/bench/weft_bench) and the server twins
(DIR/bench/go_server, tokio_server from bench/twins/build.sh DIR).

Workloads (the WORKLOADS table below; every run is on 127.0.0.1 and bounded):

  echo       each echo server (weft with its io_uring backend, weft forced to
             epoll with WEFT_IO_BACKEND=epoll, Go, Tokio; all one task per
             connection, 4 KiB buffer, TCP_NODELAY) loaded by the same weft
             load generator (examples/loadgen): closed loop, `conns`
             connections, `size`-byte messages, `--warmup` then `--duration`
             seconds. Reports requests/s and p50/p99 latency.
  http       each HTTP/1.1 hello server (weft's examples/http_hello, Go
             net/http, Tokio + hyper) loaded by `wrk -t2 -c100 -d5s --latency`.
  file_read  weft_bench file_read (64 weft tasks reading 4 KiB at random
             offsets of a 256 MB file in the page cache, through weft::io)
             against weft_bench file_read_pread (the same reads with blocking
             pread on a std::thread pool, one thread per worker).

CPU split. Server and client share the machine, so each is pinned
(sched_setaffinity, inherited by all their threads) to its own half of the
CPUs this script may use: on 2 cores the server gets CPU 0 and the client
CPU 1, and every server runs with as many workers as it has CPUs (weft:
WEFT_WORKERS, Go: GOMAXPROCS, Tokio: worker_threads), the load generator
likewise. No side can then steal cycles from the other, and every server gets
exactly the same CPU. file_read is not a client/server test: it runs
unpinned with one worker per CPU. On a machine shared with other work,
--nice -10 (as root) puts every measured process ahead of that work.

Floor rows (echo): bench/kernel/floor_echo.cpp, the cheapest echo server we can
write per kernel interface with no runtime at all (epoll; io_uring one-shot
recv + send; io_uring multishot recv with provided buffers). They are not
competitors: they show what the kernel's TCP path costs by itself on this
machine, i.e. the best ratio any runtime could reach here.

Columns: req/s and p50/p99 latency as the load tool measured them; "srv cpu
us/req", the server's user+system CPU time over the run divided by the
requests it answered (what a request costs the server, which still shows when
the one-core client is the bottleneck); "weft/this", weft (io_uring)'s req/s
over the row's (>1: weft is faster); "srv busy %" and "cli busy %", CPU time
over wall time of each side's CPUs: the side near 100% limits req/s (wrk is,
in the weft and hyper HTTP rows on 2 CPUs, so there server CPU per request is the figure
that compares servers). Under the table, weft's targets are checked (echo:
req/s at least 1.3x the better of Go and Tokio with no worse p99; HTTP: 1.3x
hyper; io_uring faster than weft's own epoll backend). The load average before and after is printed: other work on the
machine skews the wall-clock figures.

Runs are interleaved (every server once, in rotated order, then again) so that
machine noise hits them alike; the table shows medians. A server or tool that
is missing or fails shows n/a and the reason is listed under the table.
Standard library only.
"""

import argparse
import resource
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time

# One entry per row group: (workload, parameters, --quick parameters).
# echo/http parameters are those of the load, file_read's are weft_bench keys.
WORKLOADS = [
    ("echo",      {"conns": 50, "size": 64},  {"conns": 50, "size": 64}),
    ("echo",      {"conns": 500, "size": 64}, {"conns": 500, "size": 64}),
    ("http",      {"threads": 2, "conns": 100}, {"threads": 2, "conns": 100}),
    ("file_read", {"tasks": 64, "file_mb": 256, "block": 4096, "reads": 1000000},
                  {"tasks": 64, "file_mb": 64, "block": 4096, "reads": 100000}),
]

# Servers per workload: (row label, program key, argv after the program, extra environment).
# The first one is "weft", the reference of the ratios.
SERVERS = {
    "echo": [
        ("weft (io_uring)", "echo_server", ["0"], {}),
        ("weft (epoll)",    "echo_server", ["0"], {"WEFT_IO_BACKEND": "epoll"}),
        ("Go",              "go_server",   ["echo"], {}),
        ("Tokio",           "tokio_server", ["echo"], {}),
        # Not competitors: the cheapest server per kernel interface, no runtime (floor_echo.cpp).
        ("floor: epoll",    "floor_echo",  ["epoll"], {}),
        ("floor: io_uring", "floor_echo",  ["uring"], {}),
        ("floor: multishot", "floor_echo", ["multishot"], {}),
    ],
    "http": [
        ("weft (io_uring)", "http_hello",   ["0"], {}),
        ("weft (epoll)",    "http_hello",   ["0"], {"WEFT_IO_BACKEND": "epoll"}),
        ("Go net/http",     "go_server",    ["http"], {}),
        ("Tokio+hyper",     "tokio_server", ["http"], {}),
    ],
}
FILE_READ_PROGRAMS = [("weft io", "file_read"), ("pread pool", "file_read_pread")]

# weft's targets, checked under the table.
CLIENT_BOUND = 95.0  # client CPU busy % from which a row measures the client, not the server
TARGET_ECHO = 1.3   # weft echo req/s >= 1.3x the better of Go and Tokio, p99 no worse
TARGET_HTTP = 1.3   # weft HTTP req/s >= 1.3x hyper

NA = "n/a"
ADDR_RE = re.compile(r"(\d+\.\d+\.\d+\.\d+):(\d+)")


# --- processes --------------------------------------------------------------------------------

NICE = 0  # --nice: scheduling priority of every server and client (0: unchanged)


def pinned(cpus):
    """preexec_fn pinning the child (and every thread it starts) to `cpus`, at priority NICE."""
    def setup():
        if cpus:
            os.sched_setaffinity(0, cpus)
        if NICE:
            os.setpriority(os.PRIO_PROCESS, 0, NICE)
    return setup if cpus or NICE else None


class Server:
    """A server process started pinned; `addr` is read from its first stdout line."""

    def __init__(self, argv, env, cpus, timeout=10.0):
        self.proc = None
        self.addr = None
        self.error = None
        self.stderr_tail = []
        try:
            self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         stdin=subprocess.DEVNULL, env=env,
                                         universal_newlines=True, preexec_fn=pinned(cpus))
        except OSError as e:
            self.error = "cannot run %s: %s" % (argv[0], e.strerror)
            return
        # Drain stderr in the background so the server never blocks on a full pipe.
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        line = [None]

        def read_line():
            line[0] = self.proc.stdout.readline()

        t = threading.Thread(target=read_line, daemon=True)
        t.start()
        t.join(timeout)
        m = ADDR_RE.search(line[0] or "")
        if m is None:
            self.stop()
            why = "no 'listening on ADDR:PORT' line within %.0fs" % timeout
            if self.stderr_tail:
                why += " (stderr: %s)" % self.stderr_tail[-1]
            self.error = why
            return
        self.addr = "%s:%s" % (m.group(1), m.group(2))
        self.first_line = line[0].strip()
        # Keep draining stdout too.
        threading.Thread(target=lambda: self.proc.stdout.read(), daemon=True).start()

    def _drain_stderr(self):
        for ln in self.proc.stderr:
            self.stderr_tail = (self.stderr_tail + [ln.strip()])[-5:]

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(3)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def cpu_seconds(pid):
    """User + system CPU time of process `pid` and all its threads, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def run_client(argv, env, cpus, timeout):
    """Run a client to completion; return (stdout, error)."""
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, env=env, universal_newlines=True,
                              timeout=timeout, preexec_fn=pinned(cpus))
    except subprocess.TimeoutExpired:
        return None, "%s timed out after %.0fs" % (os.path.basename(argv[0]), timeout)
    except OSError as e:
        return None, "cannot run %s: %s" % (argv[0], e.strerror)
    if proc.returncode != 0:
        msg = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
        return None, "%s exit %d: %s" % (os.path.basename(argv[0]), proc.returncode, msg)
    return proc.stdout, None


# --- parsing ----------------------------------------------------------------------------------

def parse_fields(line):
    return dict(t.split("=", 1) for t in line.split() if "=" in t)


def parse_loadgen(out):
    """loadgen's line -> {'rps', 'p50', 'p99'} (latencies in microseconds)."""
    for line in out.splitlines():
        if line.startswith("loadgen "):
            f = parse_fields(line)
            try:
                if int(f.get("errors", "0")) != 0:
                    return None, "loadgen reported errors=%s" % f["errors"]
                return {"rps": float(f["rps"]), "p50": float(f["p50_us"]),
                        "p99": float(f["p99_us"])}, None
            except (KeyError, ValueError):
                break
    return None, "no parsable 'loadgen ... rps=... p99_us=...' line"


WRK_UNITS = {"us": 1.0, "ms": 1e3, "s": 1e6, "m": 60e6}


def wrk_latency_us(text):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    return float(m.group(1)) * WRK_UNITS[m.group(2)] if m else None


def parse_wrk(out):
    """wrk --latency output -> {'rps', 'p50', 'p99'} (latencies in microseconds)."""
    res = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if m:
        res["rps"] = float(m.group(1))
    m = re.search(r"(\d+) requests in", out)
    if m:
        res["requests"] = int(m.group(1))
    for pct, key in (("50", "p50"), ("99", "p99")):
        m = re.search(r"^\s+%s%%\s+(\S+)\s*$" % pct, out, re.M)
        if m:
            res[key] = wrk_latency_us(m.group(1))
    if "rps" not in res or res.get("p99") is None:
        return None, "no parsable wrk output"
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if bad:
        return None, "wrk: %s non-2xx responses" % bad.group(1)
    # Connect, read and write errors mean a broken server; wrk's timeouts (no answer within 2 s)
    # only mean an overloaded machine, and are left out of wrk's latencies.
    errs = re.search(r"Socket errors:.*", out)
    if errs and re.search(r"(connect|read|write) [1-9]", errs.group(0)):
        return None, "wrk: %s" % errs.group(0).strip()
    return res, None


# --- workloads --------------------------------------------------------------------------------

def env_with(extra, workers=None):
    env = dict(os.environ)
    env.pop("WEFT_IO_BACKEND", None)  # only the rows that ask for a backend get one
    if workers is not None:
        env["WEFT_WORKERS"] = str(workers)
        env["GOMAXPROCS"] = str(workers)
    env.update(extra)
    return env


def program_paths(build):
    """Where each program key lives in the build directory `build`."""
    build = os.path.abspath(build)
    return {
        "echo_server": os.path.join(build, "examples", "echo_server"),
        "http_hello": os.path.join(build, "examples", "http_hello"),
        "loadgen": os.path.join(build, "examples", "loadgen"),
        "go_server": os.path.join(build, "bench", "go_server"),
        "tokio_server": os.path.join(build, "bench", "tokio_server"),
        "weft_bench": os.path.join(build, "bench", "weft_bench"),
        "floor_echo": os.path.join(build, "bench", "floor_echo"),
    }


def server_argv(paths, prog, args, workers):
    argv = [paths[prog]] + list(args)
    if prog in ("go_server", "tokio_server"):
        argv.append("workers=%d" % workers)
    return argv


def one_load(kind, params, label, prog, args, extra_env, paths, opts):
    """Start one server, load it once; return (measurement, error)."""
    if not paths.get(prog):
        return None, "%s not found" % prog
    srv_workers = len(opts.server_cpus) or (os.cpu_count() or 1)
    cli_workers = len(opts.client_cpus) or (os.cpu_count() or 1)
    srv = Server(server_argv(paths, prog, args, srv_workers), env_with(extra_env, srv_workers),
                 opts.server_cpus)
    if srv.error:
        return None, srv.error
    # weft's servers print "(io backend: io_uring)"; a row named after a backend must get it.
    for backend in ("io_uring", "epoll"):
        if "(%s)" % backend in label and "io backend" in srv.first_line and backend not in srv.first_line:
            srv.stop()
            return None, "asked for %s, got: %s" % (backend, srv.first_line)
    try:
        cpu0 = cpu_seconds(srv.proc.pid)
        wall0 = time.monotonic()
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if kind == "echo":
            argv = [paths["loadgen"], "-c", str(params["conns"]), "-s", str(params["size"]),
                    "-d", str(opts.duration), "-w", str(opts.warmup), srv.addr]
            out, err = run_client(argv, env_with({}, cli_workers), opts.client_cpus,
                                  opts.duration + opts.warmup + 60)
            parse = parse_loadgen
        else:
            argv = [paths["wrk"], "-t%d" % params["threads"], "-c%d" % params["conns"],
                    "-d%ds" % max(1, round(opts.duration)), "--latency", "http://%s/" % srv.addr]
            out, err = run_client(argv, env_with({}), opts.client_cpus, opts.duration + 60)
            parse = parse_wrk
        if err:
            return None, err
        cpu1 = cpu_seconds(srv.proc.pid)
        wall = time.monotonic() - wall0
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)  # the client (reaped); servers are not yet
        res, err = parse(out)
        if err:
            return None, err
        if not srv.alive():
            return None, "%s exited during the run" % prog
        # Server CPU per request over the whole load (loadgen: warm-up included, at the same rate).
        total = res.pop("requests", None)
        if total is None:
            total = res["rps"] * (opts.duration + opts.warmup)
        res["cpu"] = ((cpu1 - cpu0) * 1e6 / total) if cpu0 is not None and cpu1 is not None and total else None
        # How busy each side's CPUs were: a side near 100% is the bottleneck of the row.
        ncpu_s = len(opts.server_cpus) or (os.cpu_count() or 1)
        ncpu_c = len(opts.client_cpus) or (os.cpu_count() or 1)
        res["srv_busy"] = (100.0 * (cpu1 - cpu0) / (wall * ncpu_s)) if cpu0 is not None and cpu1 is not None else None
        res["cli_busy"] = 100.0 * ((ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)) / (wall * ncpu_c)
        if opts.raw:
            opts.raw.write("%s\t%s\t%s\t%s\n" % (kind, label, " ".join(argv),
                                                 " ".join("%s=%s" % kv for kv in res.items())))
            opts.raw.flush()
        return res, None
    finally:
        srv.stop()


def run_servers(kind, params, paths, opts, notes):
    servers = SERVERS[kind]
    samples = {s[0]: [] for s in servers}
    failed = {}
    for run in range(opts.runs):
        k = run % len(servers)
        for label, prog, args, extra in servers[k:] + servers[:k]:
            if label in failed:
                continue
            print("[%s %s run %d/%d] %s" % (kind, fmt_params(params), run + 1, opts.runs, label),
                  file=sys.stderr, flush=True)
            res, err = one_load(kind, params, label, prog, args, extra, paths, opts)
            if err:
                failed[label] = err
                samples[label] = []
                notes.append("%s %s %s: %s" % (kind, fmt_params(params), label, err))
                continue
            samples[label].append(res)
    med = {}
    for label, xs in samples.items():
        if xs:
            med[label] = {k: statistics.median(x[k] for x in xs) for k in ("rps", "p50", "p99")}
            for key in ("cpu", "srv_busy", "cli_busy"):
                vals = [x[key] for x in xs if x.get(key) is not None]
                med[label][key] = statistics.median(vals) if vals else None
    return med


def run_file_read(params, paths, opts, notes):
    samples = {label: [] for label, _ in FILE_READ_PROGRAMS}
    failed = {}
    bench = paths.get("weft_bench")
    for run in range(opts.runs):
        k = run % len(FILE_READ_PROGRAMS)
        for label, name in FILE_READ_PROGRAMS[k:] + FILE_READ_PROGRAMS[:k]:
            if label in failed:
                continue
            print("[file_read run %d/%d] %s" % (run + 1, opts.runs, label), file=sys.stderr, flush=True)
            if not bench:
                failed[label] = "weft_bench not found"
                notes.append("file_read %s: %s" % (label, failed[label]))
                continue
            argv = [bench, name] + ["%s=%s" % kv for kv in params.items()]
            if opts.file_workers:
                argv.append("workers=%d" % opts.file_workers)
            out, err = run_client(argv, env_with({}), None, 600)
            f = None
            found = ""
            if not err:
                for line in out.splitlines():
                    if line.startswith(name + " "):
                        f, found = parse_fields(line), line
                if f is None or "ns_per_op" not in f:
                    err = "no parsable '%s ... ns_per_op=...' line" % name
            if err:
                failed[label] = err
                samples[label] = []
                notes.append("file_read %s: %s" % (label, err))
                continue
            if opts.raw:
                opts.raw.write("file_read\t%s\t%s\n" % (label, found))
            samples[label].append({"ns": float(f["ns_per_op"]), "ops": float(f["ops_per_sec"]),
                                   "result": f.get("result"), "workers": f.get("workers")})
    results = {x["result"] for xs in samples.values() for x in xs}
    if len(results) > 1:
        notes.append("file_read: results differ: %s" % ", ".join(sorted(map(str, results))))
    med = {}
    for label, xs in samples.items():
        if xs:
            med[label] = {"ns": statistics.median(x["ns"] for x in xs),
                          "ops": statistics.median(x["ops"] for x in xs),
                          "workers": xs[0]["workers"]}
    return med


# --- output -----------------------------------------------------------------------------------

def fmt_params(p):
    return " ".join("%s=%s" % kv for kv in p.items())


def fmt_num(v, digits=0):
    if v is None:
        return NA
    return ("%%.%df" % digits) % v


def fmt_ratio(a, b):
    if a is None or b is None or b <= 0:
        return NA
    return "%.2fx" % (a / b)


def print_table(header, rows, left):
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]

    def fmt_row(r):
        return "  ".join(c.ljust(w) if i in left else c.rjust(w)
                         for i, (c, w) in enumerate(zip(r, widths))).rstrip()

    print(fmt_row(header))
    print(fmt_row(["-" * w for w in widths]))
    for r in rows:
        print(fmt_row(r))


def verdict(ok):
    return "met" if ok else "NOT met"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", metavar="DIR", required=True, help="weft build directory")
    ap.add_argument("--runs", type=int, default=3, help="runs per server and row (default 3)")
    ap.add_argument("--duration", type=float, default=5, help="seconds measured per load run (default 5)")
    ap.add_argument("--warmup", type=float, default=1, help="loadgen warm-up seconds (default 1)")
    ap.add_argument("--only", metavar="NAMES", help="comma-separated workloads: echo,http,file_read")
    ap.add_argument("--quick", action="store_true", help="1 s runs and a small file, for smoke tests")
    ap.add_argument("--raw", metavar="FILE", help="also write every raw measurement to FILE")
    ap.add_argument("--server-cpus", metavar="LIST", help="CPUs for the servers (default: first half)")
    ap.add_argument("--client-cpus", metavar="LIST", help="CPUs for the clients (default: second half)")
    ap.add_argument("--nice", type=int, default=0,
                    help="run servers and clients at this nice value (negative: before other work "
                         "on a shared machine; needs root); default 0")
    ap.add_argument("--file-workers", type=int, default=0,
                    help="workers for file_read (default: weft_bench's, one per CPU)")
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be >= 1")
    if args.quick:
        args.duration, args.warmup = 1.0, 0.2
    global NICE
    NICE = args.nice
    if NICE < 0 and os.geteuid() != 0:
        ap.error("--nice below 0 needs root")

    def cpu_list(s):
        return sorted({int(x) for x in s.split(",") if x.strip()}) if s else None

    avail = sorted(os.sched_getaffinity(0))
    half = len(avail) // 2
    args.server_cpus = cpu_list(args.server_cpus) or (avail[:half] if half else [])
    args.client_cpus = cpu_list(args.client_cpus) or (avail[half:] if half else [])

    kinds = ["echo", "http", "file_read"]
    only = set(kinds)
    if args.only:
        only = {n.strip() for n in args.only.split(",") if n.strip()}
        unknown = only - set(kinds)
        if unknown:
            ap.error("unknown workload(s) %s; known: %s" % (", ".join(sorted(unknown)), ", ".join(kinds)))

    candidates = program_paths(args.build)
    notes = []
    paths = {}
    for key, p in candidates.items():
        if os.path.isfile(p) and os.access(p, os.X_OK):
            paths[key] = p
        else:
            notes.append("%s: %s is missing or not executable" % (key, p))
    wrk = subprocess.run(["sh", "-c", "command -v wrk"], stdout=subprocess.PIPE,
                         universal_newlines=True).stdout.strip()
    if wrk:
        paths["wrk"] = wrk
    else:
        notes.append("wrk: not found (Debian package wrk)")
    args.raw = open(args.raw, "w") if args.raw else None

    load_start = os.getloadavg()
    rows = []      # the main table
    checks = []    # target lines
    for kind, params, quick_params in WORKLOADS:
        if kind not in only:
            continue
        p = quick_params if args.quick else params
        if kind == "file_read":
            med = run_file_read(p, paths, args, notes)
            ref = med.get("weft io")
            for label, _ in FILE_READ_PROGRAMS:
                m = med.get(label)
                rows.append([kind, fmt_params(p), label,
                             fmt_num(m["ops"]) if m else NA, NA, NA, NA, NA, NA,
                             "%s ns/read, workers=%s" % (fmt_num(m["ns"], 1), m["workers"]) if m else NA,
                             fmt_ratio(ref["ops"], m["ops"]) if m and ref else NA])
            pool = med.get("pread pool")
            if ref and pool:
                checks.append("file_read: weft io %.0f reads/s vs blocking pread pool %.0f reads/s: %.2fx"
                              % (ref["ops"], pool["ops"], ref["ops"] / pool["ops"]))
            continue
        if kind == "echo" and "loadgen" not in paths:
            notes.append("echo: no loadgen, nothing measured")
            continue
        if kind == "http" and "wrk" not in paths:
            continue
        med = run_servers(kind, p, paths, args, notes)
        ref_label = SERVERS[kind][0][0]
        ref = med.get(ref_label)
        load = ("loadgen -c %d -s %d" % (p["conns"], p["size"]) if kind == "echo"
                else "wrk -t%d -c%d" % (p["threads"], p["conns"]))
        for label, _, _, _ in SERVERS[kind]:
            m = med.get(label)
            rows.append([kind, fmt_params(p), label,
                         fmt_num(m["rps"]) if m else NA,
                         fmt_num(m["p50"]) if m else NA,
                         fmt_num(m["p99"]) if m else NA,
                         fmt_num(m["cpu"], 1) if m else NA,
                         fmt_num(m.get("srv_busy")) if m else NA,
                         fmt_num(m.get("cli_busy")) if m else NA,
                         load,
                         fmt_ratio(ref["rps"], m["rps"]) if m and ref else NA])
        # Targets.
        if ref:
            others = [(l, med[l]) for l, _, _, _ in SERVERS[kind][2:]
                      if l in med and not l.startswith("floor")]
            floors = [(l, med[l]) for l, _, _, _ in SERVERS[kind] if l in med and l.startswith("floor")]
            epoll = med.get(SERVERS[kind][1][0])
            if kind == "echo" and others:
                best_l, best = max(others, key=lambda x: x[1]["rps"])
                r = ref["rps"] / best["rps"]
                p99_ok = ref["p99"] <= best["p99"]
                checks.append("echo %s: weft %.0f req/s = %.2fx the better of Go and Tokio (%s %.0f): "
                              "%s (target >= %.1fx); p99 %.0f us vs %.0f us: %s"
                              % (fmt_params(p), ref["rps"], r, best_l, best["rps"],
                                 verdict(r >= TARGET_ECHO), TARGET_ECHO, ref["p99"], best["p99"],
                                 verdict(p99_ok)))
                for fl, f in floors:
                    checks.append("echo %s: %s (no runtime, floor_echo.cpp) %.0f req/s = %.2fx %s, "
                                  "%.1f us CPU/req: what the kernel path allows"
                                  % (fmt_params(p), fl, f["rps"], f["rps"] / best["rps"], best_l,
                                     f["cpu"] if f.get("cpu") is not None else float("nan")))
            if kind == "http":
                hyper = med.get("Tokio+hyper")
                if hyper:
                    r = ref["rps"] / hyper["rps"]
                    checks.append("http: weft %.0f req/s = %.2fx hyper (%.0f): %s (target >= %.1fx)"
                                  % (ref["rps"], r, hyper["rps"], verdict(r >= TARGET_HTTP), TARGET_HTTP))
                    if ref.get("cli_busy") is not None and ref["cli_busy"] >= CLIENT_BOUND and \
                            ref.get("cpu") and hyper.get("cpu"):
                        checks.append("http: the client is the bottleneck (wrk's CPU %.0f%% busy, weft's "
                                      "server %.0f%%), so req/s measures wrk; server CPU per request: "
                                      "weft %.1f us, hyper %.1f us = %.2fx"
                                      % (ref["cli_busy"], ref.get("srv_busy") or 0, ref["cpu"],
                                         hyper["cpu"], hyper["cpu"] / ref["cpu"]))
            if epoll:
                r = ref["rps"] / epoll["rps"]
                checks.append("%s %s: io_uring %.0f req/s = %.2fx weft's epoll backend (%.0f): %s "
                              "(target > 1x)" % (kind, fmt_params(p), ref["rps"], r, epoll["rps"],
                                                 verdict(r > 1.0)))
                if ref.get("cli_busy") is not None and ref["cli_busy"] >= CLIENT_BOUND and \
                        ref.get("cpu") and epoll.get("cpu"):
                    checks.append("%s %s: client-bound; server CPU per request: io_uring %.1f us, epoll "
                                  "%.1f us = %.2fx" % (kind, fmt_params(p), ref["cpu"], epoll["cpu"],
                                                      epoll["cpu"] / ref["cpu"]))
    if args.raw:
        args.raw.close()

    print("weft io vs Go vs Tokio: median of %d run%s, %s" % (
        args.runs, "" if args.runs == 1 else "s", time.strftime("%Y-%m-%d %H:%M")))
    print("servers pinned to CPUs %s (workers = %d), clients to CPUs %s; %gs measured after %gs warm-up; "
          "127.0.0.1%s" % (",".join(map(str, args.server_cpus)) or "any", len(args.server_cpus) or
                         (os.cpu_count() or 1), ",".join(map(str, args.client_cpus)) or "any",
                         args.duration, args.warmup, "; nice %d" % NICE if NICE else ""))
    load0 = os.getloadavg()
    print("load average before: %.2f %.2f %.2f, after: %.2f %.2f %.2f (other work on the machine skews "
          "wall-clock figures)" % (load_start + load0))
    print("srv cpu us/req: the server's user+system CPU time per request (lower is cheaper; "
          "unaffected by a client bottleneck)")
    print("srv/cli busy %: CPU time over wall time of the server's and the client's CPUs during the load "
          "(warm-up included); the side near 100% is what limits req/s")
    print("p50/p99 in microseconds; weft/this = weft (io_uring)'s req/s (or reads/s) over this row's "
          "(>1: weft is faster)")
    print()
    header = ["workload", "parameters", "server", "req/s", "p50 us", "p99 us", "srv cpu us/req",
              "srv busy %", "cli busy %", "load", "weft/this"]
    if rows:
        print_table(header, rows, {0, 1, 2, 9})
    if checks:
        print()
        print("targets:")
        for c in checks:
            print("  " + c)
    if notes:
        print()
        print("notes:")
        for n in notes:
            print("  " + n)
    return 0


if __name__ == "__main__":
    sys.exit(main())

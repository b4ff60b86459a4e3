#!/usr/bin/env python3
"""kv_server (weft, 1 and 2 workers) against Debian's redis-server, driven by redis-benchmark.

    kv_compare.py --build BUILD [--runs N] [--quick]

Each setting runs `redis-benchmark -t set,get -n N -c C [-P P]` against each server in turn
(interleaved, so drifts of a shared machine hit all alike). With 2 CPUs the servers that use one
core are pinned to CPU 0 and redis-benchmark to CPU 1; kv_server at 2 workers is left unpinned
(it needs both cores, and then shares them with the client: say so when reading its column).
redis-server runs with persistence off (--save "" --appendonly no). Reported per setting and
server: the median requests/s of SET and GET, and the server's CPU time per request (utime +
stime from /proc, over the whole redis-benchmark run, divided by its requests).
Needs redis-server and redis-benchmark (Debian: redis-server, redis-tools; scripts/install-deps.sh
bench installs them); without them it says so and exits 0.
"""

import argparse
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def wait_ready(port, proc):
    for _ in range(200):
        if proc.poll() is not None:
            sys.exit(f"server exited at start ({proc.returncode})")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)  # sleep-ok: polling for the server's port to open
    sys.exit("server did not open its port")


def start(kind, build, port, ncpu):
    pin = ["taskset", "-c", "0"] if ncpu >= 2 and kind != "weft w=2" else []
    env = dict(os.environ)
    if kind == "redis-server":
        argv = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
                "--maxclients", "20000", "--bind", "127.0.0.1"]
    else:
        env["WEFT_WORKERS"] = "1" if kind == "weft w=1" else "2"
        argv = [os.path.join(build, "examples", "kv_server"), str(port)]
    proc = subprocess.Popen(pin + argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    wait_ready(port, proc)
    return proc


def bench(port, n, c, p, ncpu):
    pin = ["taskset", "-c", "1"] if ncpu >= 2 else []
    argv = pin + ["redis-benchmark", "-p", str(port), "-t", "set,get", "-n", str(n), "-c", str(c),
                  "--csv"]
    if p > 1:
        argv += ["-P", str(p)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    rates = dict(re.findall(r'^"(SET|GET)","([\d.]+)"', out.stdout, re.M))
    if set(rates) != {"SET", "GET"}:
        sys.exit(f"redis-benchmark printed no rates: {out.stdout!r} {out.stderr!r}")
    return float(rates["SET"]), float(rates["GET"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    if not shutil.which("redis-server") or not shutil.which("redis-benchmark"):
        print("kv: redis-server / redis-benchmark not installed (scripts/install-deps.sh bench): no rows")
        return 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 65536)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))  # inherited by the servers
    n = 50000 if a.quick else 500000
    settings = [(50, 1), (50, 16), (1000, 1), (10000, 1)]
    if want < 10100:  # each side (server, redis-benchmark) holds one descriptor per client
        settings = [s for s in settings if s[0] < 10000]
        print(f"kv: descriptor limit {want}: the 10,000-connection row is left out")
    ncpu = os.cpu_count() or 1
    kinds = ["redis-server", "weft w=1", "weft w=2"]
    print(f"kv: redis-benchmark -t set,get -n {n}; servers on CPU 0, client on CPU 1 "
          f"(weft w=2 unpinned); medians of {a.runs}")
    print(f"{'clients':>8} {'pipe':>5} {'server':>13} {'SET req/s':>11} {'GET req/s':>11} "
          f"{'CPU us/req':>11}")
    for c, p in settings:
        res = {k: ([], [], []) for k in kinds}
        for _ in range(a.runs):
            for k in kinds:
                port = free_port()
                proc = start(k, a.build, port, ncpu)
                try:
                    cpu0 = cpu_seconds(proc.pid)
                    s, g = bench(port, n, c, p, ncpu)
                    cpu = cpu_seconds(proc.pid) - cpu0
                finally:
                    proc.terminate()
                    proc.wait(timeout=30)
                res[k][0].append(s)
                res[k][1].append(g)
                res[k][2].append(cpu / (2 * n) * 1e6)
        for k in kinds:
            s, g, u = (statistics.median(x) for x in res[k])
            print(f"{c:>8} {p:>5} {k:>13} {s:>11.0f} {g:>11.0f} {u:>11.2f}")
        base = statistics.median(res["redis-server"][1])
        w1 = statistics.median(res["weft w=1"][1])
        w2 = statistics.median(res["weft w=2"][1])
        print(f"{'':>8} {'':>5} GET: weft w=1 / redis {w1 / base:.2f}x, weft w=2 / w=1 {w2 / w1:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Paired A/B of two echo servers: which is cheaper, with the machine's drift cancelled out.

    bench/drivers/echo_ab.py --build DIR [--conns 50] [--rounds 8] [--duration 2] A B

A and B are server names from the SERVERS table below (weft, weft-epoll, go, tokio,
floor-epoll, floor-uring, floor-multishot), or "weft:VAR=VALUE" for weft with an extra
environment variable (an A/B of a runtime knob).

Each round starts A, loads it with examples/loadgen for --duration seconds, stops it, then does
the same for B (server pinned to the first CPU, loadgen to the second, one worker each, exactly as
bench/drivers/io_compare.py does). On these shared VMs the same server's req/s drifts by 30% from one
minute to the next; a ratio taken within one round, where A and B ran seconds apart, drifts far
less. The summary is the median over rounds of B/A req/s, and the median server CPU per request
of each.

Used for: weft vs the no-runtime floor (how much the runtime costs), and runtime changes
(WEFT_IO_RECV-style switches) whose effect is smaller than the run-to-run noise.
Standard library only; reuses bench/drivers/io_compare.py's process helpers.
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import io_compare as ioc  # noqa: E402

# name -> (program key, argv after the program, extra environment)
SERVERS = {
    "weft": ("echo_server", ["0"], {}),
    "weft-epoll": ("echo_server", ["0"], {"WEFT_IO_BACKEND": "epoll"}),
    "go": ("go_server", ["echo"], {}),
    "tokio": ("tokio_server", ["echo"], {}),
    "floor-epoll": ("floor_echo", ["epoll"], {}),
    "floor-uring": ("floor_echo", ["uring"], {}),
    "floor-multishot": ("floor_echo", ["multishot"], {}),
}


def server_spec(name):
    base, _, var = name.partition(":")
    if base not in SERVERS:
        raise SystemExit("unknown server %r; known: %s" % (name, ", ".join(sorted(SERVERS))))
    prog, args, extra = SERVERS[base]
    extra = dict(extra)
    if var:
        k, _, v = var.partition("=")
        extra[k] = v
    return prog, args, extra


def one(paths, spec, opts):
    """One load of one server: (req/s, server CPU us per request) or raises SystemExit."""
    prog, args, extra = spec
    srv = ioc.Server(ioc.server_argv(paths, prog, args, 1), ioc.env_with(extra, 1),
                     opts.server_cpus)
    if srv.error:
        raise SystemExit("%s: %s" % (prog, srv.error))
    try:
        cpu0 = ioc.cpu_seconds(srv.proc.pid)
        argv = [paths["loadgen"], "-c", str(opts.conns), "-s", "64", "-d", str(opts.duration),
                "-w", str(opts.warmup), srv.addr]
        out, err = ioc.run_client(argv, ioc.env_with({}, 1), opts.client_cpus,
                                  opts.duration + opts.warmup + 60)
        cpu1 = ioc.cpu_seconds(srv.proc.pid)
        if err:
            raise SystemExit(err)
        res, err = ioc.parse_loadgen(out)
        if err:
            raise SystemExit(err)
        total = res["rps"] * (opts.duration + opts.warmup)
        return res["rps"], (cpu1 - cpu0) * 1e6 / total, res["p99"]
    finally:
        srv.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True, help="build directory (examples and bench built)")
    ap.add_argument("--conns", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--duration", type=float, default=2)
    ap.add_argument("--warmup", type=float, default=0.5)
    ap.add_argument("a")
    ap.add_argument("b")
    opts = ap.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    half = max(1, len(cpus) // 2)
    opts.server_cpus, opts.client_cpus = cpus[:half], cpus[half:] or cpus[:half]
    paths = ioc.program_paths(opts.build)
    a, b = server_spec(opts.a), server_spec(opts.b)
    print("echo A/B: A=%s B=%s, %d conns, 64 B, %d rounds of %gs each, server CPU %s, loadgen CPU %s"
          % (opts.a, opts.b, opts.conns, opts.rounds, opts.duration,
             ",".join(map(str, opts.server_cpus)), ",".join(map(str, opts.client_cpus))))
    ratios, cpu_a, cpu_b, p99_a, p99_b = [], [], [], [], []
    for r in range(opts.rounds):
        ra, ca, pa = one(paths, a, opts)
        rb, cb, pb = one(paths, b, opts)
        ratios.append(rb / ra)
        cpu_a.append(ca)
        cpu_b.append(cb)
        p99_a.append(pa)
        p99_b.append(pb)
        print("round %d: A %.0f req/s %.2f us/req p99 %.0f us | B %.0f req/s %.2f us/req p99 %.0f us"
              " | B/A %.3f" % (r + 1, ra, ca, pa, rb, cb, pb, rb / ra), flush=True)
        time.sleep(0.2)
    med = statistics.median
    print("median B/A req/s %.3f; median server CPU per request: A %.2f us, B %.2f us; "
          "median p99: A %.0f us, B %.0f us"
          % (med(ratios), med(cpu_a), med(cpu_b), med(p99_a), med(p99_b)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

// weft_bench workloads for cancellation: how soon a deadline stops compute-bound fork-join work.
//
// timeout_fib: with_timeout(ms, fib(n)), fib the fork-join recursion of the fib workload. fib(40)
// is ~330M tasks, seconds of work at any worker count, so the deadline always fires; the figure is
// how long after its start the call returns, and how far past the deadline that is (the time the
// cancellation takes to reach every task of the tree and unwind it). ops = 1: ns/op is the time
// to return. weft-only: Go and Tokio have no cancellation that reaches a running goroutine or task.

#include <weft/runtime.hpp>

#include "bench_support.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <system_error>

namespace {

using weft::bench::measurement;
using weft::bench::params;
using weft::bench::stopwatch;

weft::task<std::int64_t> fib(std::int64_t n) {
    if (n < 2) {
        co_return n;
    }
    auto h = weft::spawn(fib(n - 1));
    const std::int64_t b = co_await fib(n - 2);
    const std::int64_t a = co_await h;
    co_return a + b;
}

std::string ms_text(std::chrono::nanoseconds d) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.1f", std::chrono::duration<double, std::milli>(d).count());
    return buf;
}

weft::task<measurement> bench_timeout_fib(params p) {
    const std::int64_t n = p["n"];
    const auto deadline = std::chrono::milliseconds(p["ms"]);
    stopwatch sw;
    weft::result<std::int64_t> r = co_await weft::with_timeout(deadline, fib(n));
    const auto elapsed = sw.elapsed();
    if (r) {
        throw weft::bench::bench_error(
            "timeout_fib: fib(" + std::to_string(n) + ") finished before the deadline; raise n");
    }
    if (r.error() != std::errc::timed_out) {
        throw weft::bench::bench_error("timeout_fib: " + r.error().message());
    }
    const auto over = elapsed - std::chrono::duration_cast<std::chrono::nanoseconds>(deadline);
    co_return measurement{
        elapsed,
        1,
        std::nullopt,
        {{"returned_ms", ms_text(elapsed)}, {"past_deadline_ms", ms_text(over)}}};
}

} // namespace

WEFT_BENCH_WORKLOAD(timeout_fib, bench_timeout_fib, {"n", 40, 2}, {"ms", 100, 1});

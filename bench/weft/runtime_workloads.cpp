// weft_bench workloads for the runtime core: spawning, joining, yielding, timers.
//
// Each is the twin of the workload of the same name in bench/twins/workloads/go/main.go and
// bench/twins/workloads/tokio/src/main.rs (same parameters, defaults, ops counting and result),
// written the way a weft user would write it: weft::spawn + co_await of the join_handle.
// skynet_when_all, sleep_memory and the *_wide workloads are weft-only.

#include <weft/runtime.hpp>

#include "bench_support.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace {

using weft::bench::check;
using weft::bench::measurement;
using weft::bench::params;
using weft::bench::stopwatch;

std::string fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

// ---------------------------------------------------------------------------------------------
// skynet: recursive fan-out/fan-in. Every task with size > 1 spawns div children and joins them,
// summing; leaves return their ordinal. Measures spawn + completion + wake-up cost.
// ops = total tasks spawned, root included (1111111 for size=1e6 div=10).

weft::task<std::int64_t> skynet(std::int64_t num, std::int64_t size, std::int64_t div) {
    if (size == 1) {
        co_return num;
    }
    const std::int64_t child = size / div;
    std::vector<weft::join_handle<std::int64_t>> handles;
    handles.reserve(static_cast<std::size_t>(div));
    for (std::int64_t i = 0; i < div; ++i) {
        handles.push_back(weft::spawn(skynet(num + i * child, child, div)));
    }
    std::int64_t sum = 0;
    for (auto& h : handles) {
        sum += co_await h;
    }
    co_return sum;
}

// The same tree with weft::when_all over a vector of child tasks instead of spawn + join.
weft::task<std::int64_t> skynet_when_all(std::int64_t num, std::int64_t size, std::int64_t div) {
    if (size == 1) {
        co_return num;
    }
    const std::int64_t child = size / div;
    std::vector<weft::task<std::int64_t>> children;
    children.reserve(static_cast<std::size_t>(div));
    for (std::int64_t i = 0; i < div; ++i) {
        children.push_back(skynet_when_all(num + i * child, child, div));
    }
    std::int64_t sum = 0;
    for (std::int64_t v : co_await weft::when_all(std::move(children))) {
        sum += v;
    }
    co_return sum;
}

std::int64_t skynet_tasks(std::int64_t size, std::int64_t div) {
    return size == 1 ? 1 : 1 + div * skynet_tasks(size / div, div);
}

void skynet_check_size(std::int64_t size, std::int64_t div) {
    for (std::int64_t s = size; s != 1; s /= div) {
        if (s % div != 0) {
            throw weft::bench::bench_error(
                "skynet: size=" + std::to_string(size) +
                " must be a power of div=" + std::to_string(div));
        }
    }
}

weft::task<measurement> bench_skynet(params p) {
    const std::int64_t size = p["size"];
    const std::int64_t div = p["div"];
    skynet_check_size(size, div);
    stopwatch sw;
    const std::int64_t result = co_await weft::spawn(skynet(0, size, div));
    const auto elapsed = sw.elapsed();
    check("skynet", result, size * (size - 1) / 2);
    co_return measurement{elapsed, skynet_tasks(size, div), result, {}};
}

weft::task<measurement> bench_skynet_when_all(params p) {
    const std::int64_t size = p["size"];
    const std::int64_t div = p["div"];
    skynet_check_size(size, div);
    stopwatch sw;
    const std::int64_t result = co_await weft::spawn(skynet_when_all(0, size, div));
    const auto elapsed = sw.elapsed();
    check("skynet_when_all", result, size * (size - 1) / 2);
    co_return measurement{elapsed, skynet_tasks(size, div), result, {}};
}

// ---------------------------------------------------------------------------------------------
// spawn_join: one task spawns n trivial tasks (each returns its index), then joins them in spawn
// order and sums. Measures raw spawn + join cost. ops = n.

weft::task<std::int64_t> identity(std::int64_t i) {
    co_return i;
}

weft::task<measurement> bench_spawn_join(params p) {
    const std::int64_t n = p["n"];
    stopwatch sw;
    std::vector<weft::join_handle<std::int64_t>> handles;
    handles.reserve(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        handles.push_back(weft::spawn(identity(i)));
    }
    std::int64_t sum = 0;
    for (auto& h : handles) {
        sum += co_await h;
    }
    const auto elapsed = sw.elapsed();
    check("spawn_join", sum, n * (n - 1) / 2);
    co_return measurement{elapsed, n, sum, {}};
}

// ---------------------------------------------------------------------------------------------
// Structured concurrency at scale (weft-only): n trivial children (each returns its index) started
// and awaited as one group. ops = n, so ns_per_op is the cost per child, to read beside
// spawn_join's per-task cost; n=100000 beside n=1000000 shows whether the cost is linear.
//   when_all_wide    weft::when_all over a vector of n tasks (results in order, summed)
//   scope_wide       n children spawned into one weft::scope, then scope::join (values dropped:
//                    each child adds its index to an atomic sum)
//   spawn_many_wide  weft::spawn_many of n tasks (one batch publish), then weft::join_all

weft::task<measurement> bench_when_all_wide(params p) {
    const std::int64_t n = p["n"];
    stopwatch sw;
    std::vector<weft::task<std::int64_t>> children;
    children.reserve(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        children.push_back(identity(i));
    }
    std::int64_t sum = 0;
    for (std::int64_t v : co_await weft::when_all(std::move(children))) {
        sum += v;
    }
    const auto elapsed = sw.elapsed();
    check("when_all_wide", sum, n * (n - 1) / 2);
    co_return measurement{elapsed, n, sum, {}};
}

weft::task<> add_index(std::atomic<std::int64_t>& sum, std::int64_t i) {
    sum.fetch_add(i, std::memory_order_relaxed);
    co_return;
}

weft::task<measurement> bench_scope_wide(params p) {
    const std::int64_t n = p["n"];
    std::atomic<std::int64_t> sum{0};
    stopwatch sw;
    {
        weft::scope s;
        for (std::int64_t i = 0; i < n; ++i) {
            s.spawn(add_index(sum, i));
        }
        co_await s.join();
    }
    const auto elapsed = sw.elapsed();
    check("scope_wide", sum.load(), n * (n - 1) / 2);
    co_return measurement{elapsed, n, sum.load(), {}};
}

weft::task<measurement> bench_spawn_many_wide(params p) {
    const std::int64_t n = p["n"];
    stopwatch sw;
    auto handles = weft::spawn_many(static_cast<std::size_t>(n), [](std::size_t i) {
        return identity(static_cast<std::int64_t>(i));
    });
    std::int64_t sum = 0;
    for (std::int64_t v : co_await weft::join_all(std::move(handles))) {
        sum += v;
    }
    const auto elapsed = sw.elapsed();
    check("spawn_many_wide", sum, n * (n - 1) / 2);
    co_return measurement{elapsed, n, sum, {}};
}

// ---------------------------------------------------------------------------------------------
// fib: fork-join recursion. fib(n) spawns fib(n-1), computes fib(n-2) inline (co_await of the task,
// no spawn) and joins the spawned one. Measures fine-grained fork/join.
// ops = tasks spawned, root included (1346269 for n=30).

weft::task<std::int64_t> fib(std::int64_t n) {
    if (n < 2) {
        co_return n;
    }
    auto h = weft::spawn(fib(n - 1));
    const std::int64_t b = co_await fib(n - 2);
    co_return co_await h + b;
}

/// Spawns made by fib(n), the root not included: s(k) = 1 + s(k-1) + s(k-2), s(0) = s(1) = 0.
std::int64_t fib_spawns(std::int64_t n) {
    std::int64_t a = 0, b = 0;
    for (std::int64_t k = 2; k <= n; ++k) {
        const std::int64_t next = 1 + a + b;
        a = b;
        b = next;
    }
    return b;
}

std::int64_t fib_seq(std::int64_t n) {
    std::int64_t a = 0, b = 1;
    for (std::int64_t i = 0; i < n; ++i) {
        const std::int64_t next = a + b;
        a = b;
        b = next;
    }
    return a;
}

weft::task<measurement> bench_fib(params p) {
    const std::int64_t n = p["n"];
    if (n > 90) {
        throw weft::bench::bench_error("fib: n=" + std::to_string(n) + " too large");
    }
    stopwatch sw;
    const std::int64_t result = co_await weft::spawn(fib(n));
    const auto elapsed = sw.elapsed();
    check("fib", result, fib_seq(n));
    co_return measurement{elapsed, 1 + fib_spawns(n), result, {}};
}

// ---------------------------------------------------------------------------------------------
// yield: `tasks` tasks each call weft::yield_now `iters` times. Measures the cost of a voluntary
// reschedule. ops = tasks*iters.

weft::task<> yielder(std::int64_t iters) {
    for (std::int64_t i = 0; i < iters; ++i) {
        co_await weft::yield_now();
    }
}

weft::task<measurement> bench_yield(params p) {
    const std::int64_t tasks = p["tasks"];
    const std::int64_t iters = p["iters"];
    stopwatch sw;
    std::vector<weft::join_handle<>> handles;
    handles.reserve(static_cast<std::size_t>(tasks));
    for (std::int64_t t = 0; t < tasks; ++t) {
        handles.push_back(weft::spawn(yielder(iters)));
    }
    for (auto& h : handles) {
        co_await h;
    }
    const auto elapsed = sw.elapsed();
    co_return measurement{elapsed, tasks * iters, std::nullopt, {}};
}

// ---------------------------------------------------------------------------------------------
// sleep_timers: spawn `tasks` tasks that each sleep `ms` milliseconds; time until all have woken.
// Measures timer insertion/expiry at scale. ops = tasks.

weft::task<> sleeper(std::chrono::milliseconds d) {
    auto r = co_await weft::sleep_for(d);
    if (!r) {
        throw weft::bench::bench_error("sleep_timers: sleep failed: " + r.error().message());
    }
}

weft::task<measurement> bench_sleep_timers(params p) {
    const std::int64_t tasks = p["tasks"];
    const std::chrono::milliseconds d{p["ms"]};
    stopwatch sw;
    std::vector<weft::join_handle<>> handles;
    handles.reserve(static_cast<std::size_t>(tasks));
    for (std::int64_t t = 0; t < tasks; ++t) {
        handles.push_back(weft::spawn(sleeper(d)));
    }
    for (auto& h : handles) {
        co_await h;
    }
    const auto elapsed = sw.elapsed();
    co_return measurement{elapsed, tasks, std::nullopt, {}};
}

// ---------------------------------------------------------------------------------------------
// sleep_memory (weft only): spawn `tasks` tasks that each sleep `sleep_s` seconds, wait until all
// of them are suspended in their sleep, and report the growth of the resident set (VmRSS) since
// before the spawns: rss_mb_delta (MiB, 2^20 bytes) and bytes_per_task (the frame, its malloc
// header, and the runtime's share: queue slots, timer-heap slots). Then cancel them all and join
// them.
// seconds = time to spawn all and see all asleep; ops = tasks; result = tasks cancelled.
// Target: under 200 MB for a million sleeping tasks.

// Tasks that have started (and are about to sleep). A global rather than a pointer argument so
// that the instrumentation adds nothing to the frames being measured.
std::atomic<std::int64_t> g_sleepers_started{0};

weft::task<int> long_sleeper(std::chrono::seconds d) {
    g_sleepers_started.fetch_add(1, std::memory_order_relaxed);
    co_return (co_await weft::sleep_for(d)) ? 0 : 1; // 1: the sleep was cancelled, as it should be
}

weft::task<measurement> bench_sleep_memory(params p) {
    using namespace std::chrono_literals;
    const std::int64_t tasks = p["tasks"];
    const std::chrono::seconds d{p["sleep_s"]};
    // The handles are the caller's bookkeeping, not the tasks' cost: allocate and touch them first.
    std::vector<weft::join_handle<int>> handles(static_cast<std::size_t>(tasks));
    g_sleepers_started.store(0, std::memory_order_relaxed);
    const std::uint64_t before = weft::bench::rss_bytes();

    stopwatch sw;
    for (std::int64_t t = 0; t < tasks; ++t) {
        handles[static_cast<std::size_t>(t)] = weft::spawn(long_sleeper(d));
    }
    while (g_sleepers_started.load(std::memory_order_relaxed) < tasks) {
        co_await weft::sleep_for(1ms);
    }
    const auto elapsed = sw.elapsed();
    // The last counted task may still be on its way into the sleep: let it get there.
    co_await weft::sleep_for(10ms);
    const std::uint64_t after = weft::bench::rss_bytes();

    for (auto& h : handles) {
        h.cancel();
    }
    std::int64_t cancelled = 0;
    for (auto& h : handles) {
        cancelled += co_await h;
    }
    check("sleep_memory (tasks cancelled)", cancelled, tasks);

    const double delta = after > before ? static_cast<double>(after - before) : 0.0;
    measurement m{elapsed, tasks, cancelled, {}};
    constexpr double mib = 1024.0 * 1024.0;
    m.extra.emplace_back("rss_mb_before", fixed(static_cast<double>(before) / mib, 1));
    m.extra.emplace_back("rss_mb_after", fixed(static_cast<double>(after) / mib, 1));
    m.extra.emplace_back("rss_mb_delta", fixed(delta / mib, 1));
    m.extra.emplace_back("bytes_per_task", fixed(delta / static_cast<double>(tasks), 0));
    co_return m;
}

} // namespace

WEFT_BENCH_WORKLOAD(skynet, bench_skynet, {"size", 1000000, 1}, {"div", 10, 2});
WEFT_BENCH_WORKLOAD(skynet_when_all, bench_skynet_when_all, {"size", 1000000, 1}, {"div", 10, 2});
WEFT_BENCH_WORKLOAD(spawn_join, bench_spawn_join, {"n", 1000000, 1});
WEFT_BENCH_WORKLOAD(when_all_wide, bench_when_all_wide, {"n", 1000000, 1});
WEFT_BENCH_WORKLOAD(scope_wide, bench_scope_wide, {"n", 1000000, 1});
WEFT_BENCH_WORKLOAD(spawn_many_wide, bench_spawn_many_wide, {"n", 1000000, 1});
WEFT_BENCH_WORKLOAD(fib, bench_fib, {"n", 30, 0});
WEFT_BENCH_WORKLOAD(yield, bench_yield, {"tasks", 1000, 1}, {"iters", 1000, 1});
WEFT_BENCH_WORKLOAD(sleep_timers, bench_sleep_timers, {"tasks", 100000, 1}, {"ms", 1, 0});
WEFT_BENCH_WORKLOAD(sleep_memory, bench_sleep_memory, {"tasks", 1000000, 1}, {"sleep_s", 3600, 1});

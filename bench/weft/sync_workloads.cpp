// weft_bench workloads for weft::sync: channels, select and the mutex.
//
// Each is the twin of the workload of the same name in bench/twins/workloads/go/main.go and
// bench/twins/workloads/tokio/src/main.rs (same parameters, defaults, ops counting and result),
// written the way a weft user would write it.

#include <weft/runtime.hpp>
#include <weft/sync.hpp>

#include "bench_support.hpp"

#include <array>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace {

namespace ws = weft::sync;
using weft::bench::check;
using weft::bench::measurement;
using weft::bench::params;
using weft::bench::split;
using weft::bench::stopwatch;

[[noreturn]] void fail(const std::string& what) {
    throw weft::bench::bench_error(what);
}

// ---------------------------------------------------------------------------------------------
// pingpong: two tasks bounce a value through two unbuffered channels (Go: unbuffered chans;
// Tokio: mpsc::channel(1)). Measures channel hand-off latency: two blocking wake-ups per round
// trip. ops = n round trips; result = sum of the echoed values, n(n+1)/2.

weft::task<std::int64_t>
pingpong_echo(ws::channel<std::int64_t> ping, ws::channel<std::int64_t> pong, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) {
        auto v = co_await ping.recv();
        if (!v) {
            fail("pingpong: ping closed");
        }
        if (!co_await pong.send(*v + 1)) {
            fail("pingpong: pong closed");
        }
    }
    co_return 0;
}

weft::task<measurement> bench_pingpong(params p) {
    const std::int64_t n = p["n"];
    stopwatch sw;
    ws::channel<std::int64_t> ping;
    ws::channel<std::int64_t> pong;
    auto echo = weft::spawn(pingpong_echo(ping, pong, n));
    std::int64_t sum = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        if (!co_await ping.send(std::int64_t{i})) {
            fail("pingpong: ping closed");
        }
        auto v = co_await pong.recv();
        if (!v) {
            fail("pingpong: pong closed");
        }
        sum += *v;
    }
    co_await echo;
    const auto elapsed = sw.elapsed();
    check("pingpong", sum, n * (n + 1) / 2);
    co_return measurement{elapsed, n, sum, {}};
}

// ---------------------------------------------------------------------------------------------
// mpmc: `producers` tasks send `items` values (0..items split evenly) into one channel of capacity
// `cap`; `consumers` tasks receive until it is closed (after the producers are joined).
// Measures contended bounded-channel throughput. ops = items; result = items(items-1)/2.

weft::task<std::int64_t> mpmc_consumer(ws::receiver<std::int64_t> rx) {
    std::int64_t s = 0;
    while (auto v = co_await rx.recv()) {
        s += *v;
    }
    co_return s;
}

weft::task<std::int64_t>
mpmc_producer(ws::sender<std::int64_t> tx, std::int64_t lo, std::int64_t hi) {
    for (std::int64_t v = lo; v < hi; ++v) {
        if (!co_await tx.send(std::int64_t{v})) {
            fail("mpmc: channel closed");
        }
    }
    co_return 0;
}

weft::task<measurement> bench_mpmc(params p) {
    const std::int64_t producers = p["producers"];
    const std::int64_t consumers = p["consumers"];
    const std::int64_t items = p["items"];
    stopwatch sw;
    ws::channel<std::int64_t> ch(static_cast<std::size_t>(p["cap"]));
    std::vector<weft::join_handle<std::int64_t>> cons;
    for (std::int64_t c = 0; c < consumers; ++c) {
        cons.push_back(weft::spawn(mpmc_consumer(ch)));
    }
    std::vector<weft::join_handle<std::int64_t>> prods;
    for (std::int64_t i = 0; i < producers; ++i) {
        auto [lo, hi] = split(items, producers, i);
        prods.push_back(weft::spawn(mpmc_producer(ch, lo, hi)));
    }
    for (auto& h : prods) {
        co_await h;
    }
    ch.close();
    std::int64_t sum = 0;
    for (auto& h : cons) {
        sum += co_await h;
    }
    const auto elapsed = sw.elapsed();
    check("mpmc", sum, items * (items - 1) / 2);
    co_return measurement{elapsed, items, sum, {}};
}

// ---------------------------------------------------------------------------------------------
// select: 4 producer tasks each feed one unbuffered channel with their quarter of 0..n; one
// consumer (this task) selects over the 4 channels until it has n values.
// Measures multi-channel select. ops = n; result = n(n-1)/2.

weft::task<std::int64_t>
select_feeder(ws::sender<std::int64_t> tx, std::int64_t lo, std::int64_t hi) {
    for (std::int64_t v = lo; v < hi; ++v) {
        if (!co_await tx.send(std::int64_t{v})) {
            fail("select: channel closed");
        }
    }
    co_return 0;
}

weft::task<measurement> bench_select(params p) {
    const std::int64_t n = p["n"];
    stopwatch sw;
    std::array<ws::channel<std::int64_t>, 4> chans;
    std::vector<weft::join_handle<std::int64_t>> feeders;
    for (std::int64_t i = 0; i < 4; ++i) {
        auto [lo, hi] = split(n, 4, i);
        feeders.push_back(weft::spawn(select_feeder(chans[static_cast<std::size_t>(i)], lo, hi)));
    }
    std::int64_t sum = 0;
    for (std::int64_t got = 0; got < n; ++got) {
        auto r = co_await ws::select(
            chans[0].recv_case(), chans[1].recv_case(), chans[2].recv_case(), chans[3].recv_case());
        switch (r.index()) {
        case 0:
            sum += *r.get<0>();
            break;
        case 1:
            sum += *r.get<1>();
            break;
        case 2:
            sum += *r.get<2>();
            break;
        case 3:
            sum += *r.get<3>();
            break;
        default:
            fail("select: cancelled");
        }
    }
    for (auto& h : feeders) {
        co_await h;
    }
    const auto elapsed = sw.elapsed();
    check("select", sum, n * (n - 1) / 2);
    co_return measurement{elapsed, n, sum, {}};
}

// ---------------------------------------------------------------------------------------------
// mutex: `tasks` tasks each lock one weft::sync::mutex, increment a shared counter and unlock,
// `iters` times. Measures contended mutex cost. ops = tasks*iters; result = the final count.

weft::task<std::int64_t> mutex_worker(ws::mutex& mu, std::int64_t& counter, std::int64_t iters) {
    for (std::int64_t i = 0; i < iters; ++i) {
        auto g = co_await mu.lock();
        if (!g) {
            fail("mutex: lock failed: " + g.error().message());
        }
        ++counter;
    }
    co_return 0;
}

weft::task<measurement> bench_mutex(params p) {
    const std::int64_t tasks = p["tasks"];
    const std::int64_t iters = p["iters"];
    ws::mutex mu;
    std::int64_t counter = 0;
    stopwatch sw;
    std::vector<weft::join_handle<std::int64_t>> handles;
    handles.reserve(static_cast<std::size_t>(tasks));
    for (std::int64_t t = 0; t < tasks; ++t) {
        handles.push_back(weft::spawn(mutex_worker(mu, counter, iters)));
    }
    for (auto& h : handles) {
        co_await h;
    }
    const auto elapsed = sw.elapsed();
    std::int64_t result = 0;
    {
        auto g = co_await mu.lock();
        result = counter;
    }
    check("mutex", result, tasks * iters);
    co_return measurement{elapsed, tasks * iters, result, {}};
}

// ---------------------------------------------------------------------------------------------
// pool_acquire: `tasks` tasks share a weft::sync::pool of `size` resources; each acquires one
// `rounds` times, holds it across one yield (a query's worth of suspension) and returns it.
// Measures acquire latency under contention (wait for a slot included): p50/p99 in extra fields,
// from a weft::histogram. ops = tasks*rounds; result = the acquisitions counted by the resources.

struct pooled_conn {
    std::int64_t* uses;
};

weft::task<std::int64_t>
pool_user(ws::pool<pooled_conn>& pl, weft::histogram& latency, std::int64_t rounds) {
    for (std::int64_t i = 0; i < rounds; ++i) {
        const auto t0 = weft::clock::now();
        auto h = co_await pl.acquire();
        if (!h) {
            fail("pool_acquire: acquire failed: " + h.error().message());
        }
        latency.record(weft::clock::now() - t0);
        ++*(*h)->uses; // one holder at a time per resource: no race
        co_await weft::yield_now();
    }
    co_return 0;
}

weft::task<measurement> bench_pool_acquire(params p) {
    const std::int64_t tasks = p["tasks"];
    const std::int64_t size = p["size"];
    const std::int64_t rounds = p["rounds"];
    std::vector<std::int64_t> uses(static_cast<std::size_t>(size), 0);
    std::int64_t next = 0;
    ws::pool<pooled_conn> pl(
        static_cast<std::size_t>(size), [&]() -> weft::task<weft::result<pooled_conn>> {
            co_return pooled_conn{&uses[static_cast<std::size_t>(next++)]};
        });
    weft::histogram latency;
    stopwatch sw;
    std::vector<weft::join_handle<std::int64_t>> handles;
    handles.reserve(static_cast<std::size_t>(tasks));
    for (std::int64_t t = 0; t < tasks; ++t) {
        handles.push_back(weft::spawn(pool_user(pl, latency, rounds)));
    }
    for (auto& h : handles) {
        co_await h;
    }
    const auto elapsed = sw.elapsed();
    std::int64_t total = 0;
    for (auto u : uses) {
        total += u;
    }
    check("pool_acquire", total, tasks * rounds);
    auto us = [](std::int64_t ns) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(ns) / 1e3);
        return std::string(buf);
    };
    co_return measurement{
        elapsed,
        tasks * rounds,
        total,
        {{"acquire_p50_us", us(latency.percentile(50))},
         {"acquire_p99_us", us(latency.percentile(99))},
         {"made", std::to_string(pl.metrics().made)}}};
}

} // namespace

WEFT_BENCH_WORKLOAD(pingpong, bench_pingpong, {"n", 1000000, 1});
WEFT_BENCH_WORKLOAD(
    mpmc,
    bench_mpmc,
    {"producers", 4, 1},
    {"consumers", 4, 1},
    {"cap", 1024, 1},
    {"items", 10000000, 1});
WEFT_BENCH_WORKLOAD(mutex, bench_mutex, {"tasks", 1000, 1}, {"iters", 1000, 1});
WEFT_BENCH_WORKLOAD(select, bench_select, {"n", 1000000, 1});
WEFT_BENCH_WORKLOAD(
    pool_acquire, bench_pool_acquire, {"tasks", 10000, 1}, {"size", 100, 1}, {"rounds", 20, 1});

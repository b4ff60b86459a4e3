// weft_micro_bench: Google Benchmark micro-benchmarks of the runtime's primitives.
//
//     build/<dir>/bench/weft_micro_bench [--benchmark_filter=Deque] [--benchmark_min_time=0.1]
//
// Two kinds:
//   - Operations on a running runtime (spawn, inline await, yield, sleep, channel, frame
//     allocation): the benchmark starts a runtime with range(0) workers and runs its timed loop
//     inside the main task, so the figures are the cost of one operation on a worker, runtime
//     start-up excluded. Wall-clock time (UseRealTime): the loop runs on a worker thread, not the
//     benchmark's thread.
//   - The scheduler's data structures alone, on the benchmark's thread, no runtime: the
//     work-stealing deque (runtime/src/chase_lev_deque.hpp), the injection queue (the
//     moodycamel::ConcurrentQueue<void*> the scheduler keeps outside spawns and remote wake-ups
//     in) and the timer queue (runtime/src/timer_queue.hpp). Uncontended: the cost of one
//     operation's instructions and fences, not of cache-line transfers between cores.
//
// scripts/bench.sh runs it with --benchmark_format=json and prints a summary of the figures.

#include <weft/runtime.hpp>
#include <weft/sync.hpp>

#include <weft/runtime/detail/frame_allocator.hpp>
#include <weft/runtime/detail/timer_node.hpp>

#include "chase_lev_deque.hpp"
#include "timer_queue.hpp"

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <random>

#include <concurrentqueue/concurrentqueue.h>

namespace {

weft::runtime_options with_workers(const benchmark::State& state) {
    weft::runtime_options o;
    o.workers = static_cast<std::size_t>(state.range(0));
    return o;
}

weft::runtime_options one_worker() {
    weft::runtime_options o;
    o.workers = 1;
    return o;
}

weft::task<std::int64_t> value(std::int64_t v) {
    co_return v;
}

// ---------------------------------------------------------------------------------------------
// Tasks

// weft::spawn of a trivial task, then co_await of its join_handle.
void BM_SpawnJoin(benchmark::State& state) {
    weft::run(
        [&state]() -> weft::task<> {
            std::int64_t sum = 0;
            for (auto _ : state) {
                sum += co_await weft::spawn(value(1));
            }
            benchmark::DoNotOptimize(sum);
        },
        with_workers(state));
}
BENCHMARK(BM_SpawnJoin)->Arg(1)->Arg(2)->UseRealTime();

// co_await of a task inline (no spawn): frame allocation + symmetric transfer there and back.
void BM_InlineAwait(benchmark::State& state) {
    weft::run(
        [&state]() -> weft::task<> {
            std::int64_t sum = 0;
            for (auto _ : state) {
                sum += co_await value(1);
            }
            benchmark::DoNotOptimize(sum);
        },
        with_workers(state));
}
BENCHMARK(BM_InlineAwait)->Arg(1)->UseRealTime();

// weft::yield_now with nothing else queued: suspend, requeue, resume.
void BM_YieldNow(benchmark::State& state) {
    weft::run(
        [&state]() -> weft::task<> {
            for (auto _ : state) {
                co_await weft::yield_now();
            }
        },
        with_workers(state));
}
BENCHMARK(BM_YieldNow)->Arg(1)->Arg(2)->UseRealTime();

// ---------------------------------------------------------------------------------------------
// Timers

// weft::sleep_for(0): a timer that is due at once (insert, fire, resume).
void BM_SleepZero(benchmark::State& state) {
    weft::run(
        [&state]() -> weft::task<> {
            for (auto _ : state) {
                co_await weft::sleep_for(std::chrono::nanoseconds(0));
            }
        },
        with_workers(state));
}
BENCHMARK(BM_SleepZero)->Arg(1)->Arg(2)->UseRealTime();

// The timer queue alone, holding range(0) timers: one iteration pops the earliest and pushes a
// timer with a later deadline. In order: every new deadline is the latest (the sorted run, the
// common case of equal sleep durations). Random: the new deadline lands anywhere (the 4-ary heap).
void timer_queue_steady(benchmark::State& state, bool in_order) {
    const auto n = static_cast<std::size_t>(state.range(0));
    auto nodes = std::make_unique<weft::detail::timer_node[]>(n);
    weft::detail::timer_queue timers;
    std::mt19937_64 rng(42);
    std::uniform_int_distribution<std::int64_t> spread(1, static_cast<std::int64_t>(n) * 16);
    std::int64_t latest = 0;
    for (std::size_t i = 0; i < n; ++i) {
        latest = in_order ? latest + 1 : spread(rng);
        nodes[i].deadline_ns = latest;
        timers.push(&nodes[i]);
    }
    for (auto _ : state) {
        weft::detail::timer_node* t = timers.pop();
        t->deadline_ns = in_order ? ++latest : t->deadline_ns + spread(rng);
        timers.push(t);
        benchmark::DoNotOptimize(t);
    }
    state.SetItemsProcessed(state.iterations());
}
void BM_TimerQueueInOrder(benchmark::State& state) {
    timer_queue_steady(state, true);
}
void BM_TimerQueueRandom(benchmark::State& state) {
    timer_queue_steady(state, false);
}
BENCHMARK(BM_TimerQueueInOrder)->Arg(1024)->Arg(100000);
BENCHMARK(BM_TimerQueueRandom)->Arg(1024)->Arg(100000);

// ---------------------------------------------------------------------------------------------
// Queues of runnable tasks (no runtime: the structures alone, on one thread)

void* item(std::uintptr_t i) noexcept {
    return reinterpret_cast<void*>(i << 4);
}

// The owner's push then pop at the bottom (a spawn that its own worker runs next).
void BM_DequePushPop(benchmark::State& state) {
    weft::detail::chase_lev_deque q;
    std::uintptr_t i = 1;
    for (auto _ : state) {
        q.push(item(i++));
        benchmark::DoNotOptimize(q.pop());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DequePushPop);

// The owner's push, then a steal from the top (uncontended: the thief's CAS always wins).
void BM_DequePushSteal(benchmark::State& state) {
    weft::detail::chase_lev_deque q;
    std::uintptr_t i = 1;
    for (auto _ : state) {
        q.push(item(i++));
        benchmark::DoNotOptimize(q.steal());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DequePushSteal);

// The injection queue: one enqueue (an outside spawn or a remote wake-up), then the bulk dequeue
// a worker takes its share with, range(0) items at a time.
void BM_InjectionQueue(benchmark::State& state) {
    const auto batch = static_cast<std::size_t>(state.range(0));
    moodycamel::ConcurrentQueue<void*> q;
    auto out = std::make_unique<void*[]>(batch);
    std::uintptr_t i = 1;
    for (auto _ : state) {
        for (std::size_t k = 0; k < batch; ++k) {
            q.enqueue(item(i++));
        }
        benchmark::DoNotOptimize(q.try_dequeue_bulk(out.get(), batch));
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch));
}
BENCHMARK(BM_InjectionQueue)->Arg(1)->Arg(32);

// ---------------------------------------------------------------------------------------------
// Channels

// A send then a receive on a channel of capacity 1, in one task: neither waits (the buffered fast
// path, lock and ring slot).
void BM_ChannelBuffered(benchmark::State& state) {
    weft::run(
        [&state]() -> weft::task<> {
            weft::sync::channel<std::int64_t> ch(1);
            std::int64_t sum = 0;
            for (auto _ : state) {
                if (!co_await ch.send(std::int64_t{1})) {
                    state.SkipWithError("channel closed");
                    break;
                }
                auto v = co_await ch.recv();
                sum += *v;
            }
            benchmark::DoNotOptimize(sum);
        },
        with_workers(state));
}
BENCHMARK(BM_ChannelBuffered)->Arg(1)->UseRealTime();

weft::task<>
echo_until_closed(weft::sync::channel<std::int64_t> ping, weft::sync::channel<std::int64_t> pong) {
    while (auto v = co_await ping.recv()) {
        if (!co_await pong.send(*v + 1)) {
            co_return;
        }
    }
    pong.close();
}

// A round trip through two unbuffered channels with an echo task: two hand-offs, each a blocking
// wake-up of the other task.
void BM_ChannelPingPong(benchmark::State& state) {
    weft::run(
        [&state]() -> weft::task<> {
            weft::sync::channel<std::int64_t> ping;
            weft::sync::channel<std::int64_t> pong;
            auto echo = weft::spawn(echo_until_closed(ping, pong));
            std::int64_t sum = 0;
            for (auto _ : state) {
                if (!co_await ping.send(std::int64_t{1})) {
                    state.SkipWithError("channel closed");
                    break;
                }
                auto v = co_await pong.recv();
                sum += *v;
            }
            ping.close();
            co_await echo;
            benchmark::DoNotOptimize(sum);
        },
        with_workers(state));
}
BENCHMARK(BM_ChannelPingPong)->Arg(1)->Arg(2)->UseRealTime();

// ---------------------------------------------------------------------------------------------
// Coroutine frame allocator

// frame_alloc then frame_free of a range(0)-byte frame on a worker thread: the per-thread free
// list of its size class (what every task frame costs to allocate and release).
void BM_FrameAlloc(benchmark::State& state) {
    weft::run(
        [&state]() -> weft::task<> {
            const auto size = static_cast<std::size_t>(state.range(0));
            for (auto _ : state) {
                void* p = weft::detail::frame_alloc(size);
                benchmark::DoNotOptimize(p);
                weft::detail::frame_free(p, size);
            }
            co_return;
        },
        one_worker());
}
BENCHMARK(BM_FrameAlloc)->Arg(128)->Arg(512)->UseRealTime();

// The same pair through ::operator new and delete (glibc malloc), the allocator frames would use
// without weft's.
void BM_FrameAllocGlobalNew(benchmark::State& state) {
    const auto size = static_cast<std::size_t>(state.range(0));
    for (auto _ : state) {
        void* p = ::operator new(size);
        benchmark::DoNotOptimize(p);
        ::operator delete(p);
    }
}
BENCHMARK(BM_FrameAllocGlobalNew)->Arg(128)->Arg(512);

} // namespace

BENCHMARK_MAIN();

// weft_micro_bench: Google Benchmark micro-benchmarks of single runtime operations.
//
//     build/bench/weft_micro_bench [--benchmark_filter=Spawn]
//
// Each benchmark starts a runtime with range(0) workers and runs its timed loop inside the main
// task, so the figures are the cost of one operation on a worker, runtime start-up excluded.
// Wall-clock time (UseRealTime): the loop runs on a worker thread, not the benchmark's thread.

#include <weft/runtime.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>

namespace {

weft::runtime_options with_workers(const benchmark::State& state) {
    weft::runtime_options o;
    o.workers = static_cast<std::size_t>(state.range(0));
    return o;
}

weft::task<std::int64_t> value(std::int64_t v) {
    co_return v;
}

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

} // namespace

BENCHMARK_MAIN();

// Helpers shared by weft's tests: stress iteration counts, worker counts, bounded waits that fail
// instead of hanging, a lifetime-counting value type, a deterministic random source and a test
// exception.
//
// Worker counts: WEFT_WORKERS in the environment sets the worker count of the whole suite, so it
// can run at 1, 2, 4 or 8 workers (scripts/stress.sh does). It is the variable the runtime itself
// reads when runtime_options::workers is 0, so tests that leave the count at 0 follow it too; tests
// that name a count ask test_workers(their usual count). A test whose meaning depends on one count
// keeps it fixed: one_worker (its tasks run one at a time), or a literal count with the reason
// beside it (two or more: a worker to steal; metrics that count per-worker entries). Unset, every
// test runs at its usual count.
//
// Catch2 v2 is not thread-safe: assert (REQUIRE/CHECK) only on the test's main thread, or in the
// one task that block_on is waiting for while no other task asserts. Tasks running concurrently
// record what they saw (atomics, vectors guarded by a join) and the test asserts afterwards.
//
// Never put a co_await with an effect inside REQUIRE/CHECK: g++ 12 also runs the co_await in the
// macro's never-evaluated `while (false && !!(expr))` tail, so `REQUIRE(co_await w.write_all(x))`
// writes x twice (clang does not). Await into a variable, then assert on it. (Idempotent waits
// such as yield_until are harmless there.)
#pragma once

#include <weft/runtime.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

namespace weft::testing {

/// Iteration count for a [stress] test: WEFT_STRESS_ITERS from the environment, else `fallback`.
/// scripts/test.sh shrinks it under the sanitizers (Go's testing.Short()).
inline int stress_iters(int fallback = 200) {
    if (const char* env = std::getenv("WEFT_STRESS_ITERS")) {
        char* end = nullptr;
        long v = std::strtol(env, &end, 10);
        if (end != env && *end == '\0' && v > 0) {
            return static_cast<int>(v);
        }
    }
    return fallback;
}

/// Test sizes and time bounds change under the sanitizers (they are 5-20 times slower).
inline constexpr bool under_sanitizer =
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
    true;
#else
    false;
#endif
#else
    false;
#endif

/// Worker count for a test's runtime: WEFT_WORKERS from the environment (1..4096, as the runtime
/// accepts it), else `fallback`, the count the test uses in the normal suite.
inline std::size_t test_workers(std::size_t fallback) {
    if (const char* env = std::getenv("WEFT_WORKERS")) {
        char* end = nullptr;
        long v = std::strtol(env, &end, 10);
        if (end != env && *end == '\0' && v > 0 && v <= 4096) {
            return static_cast<std::size_t>(v);
        }
    }
    return fallback;
}

/// The worker count of a test that holds only with one worker, whatever WEFT_WORKERS says: its
/// tasks run one at a time, so the order it checks is deterministic, a task that never suspends
/// keeps every other task waiting, and tasks that assert never run at the same time.
inline constexpr std::size_t one_worker = 1;

/// How long a test waits for something that should happen soon before it gives up and fails,
/// rather than hanging until the CTest timeout. Generous: sanitizers and a loaded 2-core CI
/// machine make everything slower.
inline constexpr std::chrono::seconds patience{30};

/// Spins the calling plain thread until `pred()` holds; false if `limit` passed first.
/// This waits for a condition; it never stands in for one.
template <class Pred>
bool wait_until(Pred pred, std::chrono::nanoseconds limit = patience) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::yield();
    }
    return true;
}

/// Inside a task: yields to other tasks until `pred()` holds; false if `limit` passed first.
template <class Pred>
task<bool> yield_until(Pred pred, std::chrono::nanoseconds limit = patience) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline) {
            co_return false;
        }
        co_await yield_now();
    }
    co_return true;
}

/// Inside a task, without ever suspending (the "task that never yields"): burns its worker until
/// `pred()` holds; false if `limit` passed first.
template <class Pred>
bool spin_until(Pred pred, std::chrono::nanoseconds limit = patience) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
    }
    return true;
}

/// The exception tests throw from tasks; `code` tells throwers apart.
struct test_error : std::runtime_error {
    explicit test_error(int c)
        : std::runtime_error("test_error " + std::to_string(c))
        , code(c) {}
    int code;
};

/// Counts the lifetime events of `counted` values (cppcoro counted.hpp).
struct lifetime_counts {
    std::atomic<int> constructed{0};
    std::atomic<int> copied{0};
    std::atomic<int> moved{0};
    std::atomic<int> destroyed{0};
    int alive() const noexcept { return constructed + copied + moved - destroyed; }
};

/// A value that reports its constructions, copies, moves and destructions to a lifetime_counts.
class counted {
public:
    explicit counted(lifetime_counts& c, int v = 0)
        : c_(&c)
        , value(v) {
        ++c_->constructed;
    }
    counted(const counted& o)
        : c_(o.c_)
        , value(o.value) {
        ++c_->copied;
    }
    counted(counted&& o) noexcept
        : c_(o.c_)
        , value(o.value) {
        ++c_->moved;
    }
    counted& operator=(const counted&) = delete;
    counted& operator=(counted&&) = delete;
    ~counted() { ++c_->destroyed; }

private:
    lifetime_counts* c_;

public:
    int value;
};

/// splitmix64: a tiny deterministic generator; seeds derived from a parent seed stay independent.
inline std::uint64_t splitmix64(std::uint64_t x) noexcept {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/// Milliseconds since `t0` on the steady clock.
inline double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace weft::testing

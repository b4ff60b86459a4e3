// weft::runtime and weft::run: worker count, block_on and spawn from plain threads, progress with
// a task that never yields, work stealing, parking and waking, and shutdown.
#include <weft/runtime.hpp>

#include "weft_test.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <unistd.h>

using weft::join_handle;
using weft::task;
using weft::testing::ms_since;
using weft::testing::patience;
using namespace std::chrono_literals;

namespace {

task<int> value_of(int v) {
    co_return v;
}

template <class T>
task<T> join(join_handle<T> h) {
    co_return co_await h;
}

task<> set_true(std::atomic<bool>& flag) {
    flag.store(true, std::memory_order_release);
    co_return;
}

/// Never suspends: burns its worker until `release` is set (or patience runs out).
task<bool> spin_on(std::atomic<bool>& started, std::atomic<bool>& release) {
    started.store(true, std::memory_order_release);
    co_return weft::testing::spin_until([&] { return release.load(std::memory_order_acquire); });
}

/// Spawns a task onto its own worker's queue, then spins without ever suspending until that task
/// has run: only another worker can run it.
task<bool> spawn_then_spin() {
    std::atomic<bool> flag{false};
    auto h = weft::spawn(set_true(flag));
    bool ok = weft::testing::spin_until([&] { return flag.load(std::memory_order_acquire); });
    co_await h;
    co_return ok;
}

/// Records which thread ran it; then holds its worker until tasks have run on two threads, which
/// only stealing can bring about when every task was spawned onto one worker's queue. After one
/// wait ran out of patience (no stealing), `distinct` is set to -1 and nobody waits any more.
task<> record_thread(std::mutex& mu, std::set<std::thread::id>& seen, std::atomic<int>& distinct) {
    {
        std::lock_guard lk(mu);
        seen.insert(std::this_thread::get_id());
        if (distinct.load() >= 0) {
            distinct.store(static_cast<int>(seen.size()), std::memory_order_release);
        }
    }
    if (!weft::testing::spin_until([&] {
            int d = distinct.load(std::memory_order_acquire);
            return d < 0 || d >= 2;
        })) {
        distinct.store(-1, std::memory_order_release);
    }
    co_return;
}

struct sleep_outcome {
    std::atomic<bool> started{false};
    std::atomic<bool> finished{false};
    std::atomic<int> sleeps{0};
    std::atomic<unsigned> cancelled_mask{0}; // bit i: sleep i ended with operation_canceled

    bool cancelled(int i) const { return (cancelled_mask.load() >> i) & 1u; }
};

/// Sleeps `times` times for an hour, recording which sleeps ended with operation_canceled.
task<> sleep_an_hour(sleep_outcome& out, int times) {
    out.started.store(true, std::memory_order_release);
    for (int i = 0; i < times; ++i) {
        weft::result<void> r = co_await weft::sleep_for(1h);
        out.sleeps.fetch_add(1);
        if (!r && r.error() == std::errc::operation_canceled) {
            out.cancelled_mask.fetch_or(1u << i);
        }
    }
    out.finished.store(true, std::memory_order_release);
}

/// Starts two sleepers, one by runtime::spawn + detach and one by go, waits until both sleep, and
/// shuts the runtime down. Returns how long shutdown took, in milliseconds.
double shut_down_while_sleeping(sleep_outcome& spawned, sleep_outcome& gone, int sleeps) {
    // One worker: once a task on it sees that a sleeper has started, the sleeper has suspended in
    // its first sleep (it runs from start to suspension without interruption).
    weft::runtime rt(weft::runtime_options{.workers = weft::testing::one_worker});
    rt.spawn(sleep_an_hour(spawned, sleeps), "sleeper").detach();
    bool sleeping = rt.block_on([](sleep_outcome& s, sleep_outcome& g, int n) -> task<bool> {
        weft::go(sleep_an_hour(g, n), "go sleeper");
        co_return co_await weft::testing::yield_until([&] {
            return s.started.load(std::memory_order_acquire) &&
                   g.started.load(std::memory_order_acquire);
        });
    }(spawned, gone, sleeps));
    REQUIRE(sleeping);
    auto t0 = std::chrono::steady_clock::now();
    rt.shutdown();
    double ms = ms_since(t0);
    CHECK(rt.metrics().live_tasks == 0);
    return ms; // the destructor shuts down again: a no-op
}

/// Never suspends for long: sleeps for zero until a sleep is cut short (which happens only once
/// the runtime shuts down), then sleeps for an hour. Both sleeps must end with operation_canceled.
task<> busy_until_shutdown(std::atomic<bool>& started, sleep_outcome& out) {
    started.store(true, std::memory_order_release);
    const auto deadline = std::chrono::steady_clock::now() + patience;
    weft::result<void> r;
    while ((r = co_await weft::sleep_for(0ns)) && std::chrono::steady_clock::now() < deadline) {
    }
    if (r.error() == std::errc::operation_canceled) {
        out.cancelled_mask.fetch_or(1u);
    }
    r = co_await weft::sleep_for(1h);
    if (r.error() == std::errc::operation_canceled) {
        out.cancelled_mask.fetch_or(2u);
    }
    out.finished.store(true, std::memory_order_release);
}

/// Sets an environment variable for the life of the object and restores it afterwards.
class scoped_env {
public:
    scoped_env(const char* name, const char* value)
        : name_(name) {
        if (const char* old = std::getenv(name)) {
            old_ = old;
        }
        ::setenv(name, value, 1);
    }
    ~scoped_env() {
        if (old_) {
            ::setenv(name_, old_->c_str(), 1);
        } else {
            ::unsetenv(name_);
        }
    }
    scoped_env(const scoped_env&) = delete;
    scoped_env& operator=(const scoped_env&) = delete;

private:
    const char* name_;
    std::optional<std::string> old_;
};

std::size_t cores() {
    unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : n;
}

/// Each turn: block_on a trivial task, then runtime::spawn one and join it with block_on. Between
/// turns the workers run out of work and park; each turn an outside thread must wake one.
bool park_unpark_cycles(weft::runtime& rt, int turns) {
    for (int i = 0; i < turns; ++i) {
        if (rt.block_on(value_of(i)) != i) {
            return false;
        }
        if (i % 4 == 0 && rt.block_on(join(rt.spawn(value_of(i)))) != i) {
            return false;
        }
    }
    return true;
}

} // namespace

TEST_CASE("run returns the value of the main task", "[runtime][runtime]") {
    CHECK(
        weft::run(value_of(4), weft::runtime_options{.workers = weft::testing::test_workers(1)}) ==
        4);
}

TEST_CASE(
    "run accepts a callable that returns the main task and keeps it alive", "[runtime][runtime]") {
    std::string captured = "captured by value";
    auto s = weft::run(
        [captured]() -> task<std::string> {
            co_await weft::yield_now();
            co_return captured; // the lambda (and its capture) outlives the task
        },
        weft::runtime_options{.workers = weft::testing::test_workers(2)});
    CHECK(s == "captured by value");
}

TEST_CASE("block_on runs a task from a plain thread and returns its value", "[runtime][runtime]") {
    weft::runtime rt(weft::runtime_options{.workers = weft::testing::test_workers(2)});
    CHECK(rt.block_on(value_of(10)) == 10);
    CHECK(rt.block_on(value_of(11)) == 11);
}

TEST_CASE("a runtime can be started and shut down 300 times in a row", "[runtime][runtime]") {
    // Each shutdown comes while the workers have just gone idle (and look for a deadlock): under
    // ThreadSanitizer this is the reproducer of the race in tests/support/tsan.supp.
    for (int i = 0; i < 300; ++i) {
        weft::runtime rt(weft::runtime_options{.workers = weft::testing::test_workers(2)});
        REQUIRE(rt.block_on(value_of(i)) == i);
    }
}

TEST_CASE("block_on rethrows the task's exception", "[runtime][runtime]") {
    weft::runtime rt(weft::runtime_options{.workers = weft::testing::test_workers(1)});
    CHECK_THROWS_AS(
        rt.block_on([]() -> task<int> {
            throw weft::testing::test_error(1);
            co_return 0;
        }()),
        weft::testing::test_error);
    CHECK(rt.block_on(value_of(2)) == 2); // still usable
}

TEST_CASE("the runtime has the requested number of workers", "[runtime][runtime]") {
    for (std::size_t n : {1u, 2u, 3u, 8u}) { // fixed: the test is about these counts
        weft::runtime rt(weft::runtime_options{.workers = n});
        CHECK(rt.workers() == n);
        CHECK(rt.block_on([]() -> task<std::size_t> { co_return weft::current_workers(); }()) == n);
        CHECK(rt.metrics().workers.size() == n);
    }
    CHECK(weft::current_workers() == 0);
}

TEST_CASE(
    "WEFT_WORKERS sets the worker count when runtime_options::workers is 0", "[runtime][runtime]") {
    {
        scoped_env env("WEFT_WORKERS", "3");
        weft::runtime rt(weft::runtime_options{.workers = 0});
        CHECK(rt.workers() == 3);
    }
    {
        scoped_env env("WEFT_WORKERS", "3");
        weft::runtime rt(weft::runtime_options{.workers = 2}); // explicit wins
        CHECK(rt.workers() == 2);
    }
    {
        scoped_env env("WEFT_WORKERS", "not a number"); // ignored, with a message on stderr
        weft::runtime rt(weft::runtime_options{.workers = 0});
        CHECK(rt.workers() == cores());
    }
}

TEST_CASE(
    "runtime::spawn from a plain thread returns a handle a task can join", "[runtime][runtime]") {
    weft::runtime rt(weft::runtime_options{.workers = weft::testing::test_workers(2)});
    auto h = rt.spawn(value_of(12), "outside");
    CHECK(rt.block_on(join(std::move(h))) == 12);
    CHECK(rt.metrics().injected >= 2);
}

TEST_CASE(
    "a task that never yields does not stop other workers from running tasks from outside",
    "[runtime][runtime]") {
    // At least two workers: one is taken by the spinner.
    weft::runtime rt(
        weft::runtime_options{.workers = std::max<std::size_t>(2, weft::testing::test_workers(2))});
    std::atomic<bool> started{false}, release{false};
    auto spinner = rt.spawn(spin_on(started, release));
    REQUIRE(weft::testing::wait_until([&] { return started.load(std::memory_order_acquire); }));
    // One worker is now stuck in the spinner; the other must run these.
    for (int i = 0; i < 100; ++i) {
        REQUIRE(rt.block_on(value_of(i)) == i);
    }
    rt.block_on(set_true(release));
    CHECK(rt.block_on(join(std::move(spinner))));
}

TEST_CASE(
    "a task that never yields does not hide the task it spawned from other workers",
    "[runtime][runtime]") {
    // The spawned task sits on the spinning worker's own queue: another worker must steal it, so
    // one must be awake (or be woken) to look. Tokio's LIFO slot got this wrong (tokio #4941).
    for (std::size_t workers : {2u, 4u}) { // fixed: the test covers both counts itself
        INFO(workers << " workers");
        weft::runtime rt(weft::runtime_options{.workers = workers});
        for (int i = 0; i < 20; ++i) {
            REQUIRE(rt.block_on(spawn_then_spin()));
        }
    }
}

TEST_CASE("idle workers steal from a worker that spawns everything", "[runtime][runtime]") {
    constexpr int n = 1000;
    // Fixed at two: the test checks that both workers ran tasks (with more, one may never get any).
    weft::runtime rt(weft::runtime_options{.workers = 2});
    std::mutex mu;
    std::set<std::thread::id> seen;
    std::atomic<int> distinct{0};
    rt.block_on([](std::mutex& m, std::set<std::thread::id>& s, std::atomic<int>& d) -> task<> {
        std::vector<join_handle<>> hs;
        for (int i = 0; i < n; ++i) {
            hs.push_back(weft::spawn(record_thread(m, s, d)));
        }
        for (auto& h : hs) {
            co_await h;
        }
    }(mu, seen, distinct));
    CHECK(distinct.load() == 2);
    weft::metrics_snapshot m = rt.metrics();
    CHECK(m.total().stolen_by > 0);
    CHECK(m.total().stolen_by == m.total().stolen_from);
    CHECK(m.total().spawned >= n);
}

TEST_CASE(
    "workers park and are woken from outside 100,000 times without a hang", "[runtime][runtime]") {
    weft::runtime rt(weft::runtime_options{.workers = weft::testing::test_workers(2)});
    auto t0 = std::chrono::steady_clock::now();
    CHECK(park_unpark_cycles(rt, 100'000));
    WARN("100,000 park/unpark turns took " << ms_since(t0) << " ms");
    CHECK(rt.metrics().total().parks > 0);
}

TEST_CASE(
    "sleeps started while the runtime shuts down end at once with operation_canceled",
    "[runtime][runtime]") {
    // The task keeps its worker busy, so shutdown waits for it; its sleeps see the shutdown.
    std::atomic<bool> started{false};
    sleep_outcome out;
    auto t0 = std::chrono::steady_clock::now();
    {
        weft::runtime rt(weft::runtime_options{.workers = weft::testing::one_worker});
        rt.spawn(busy_until_shutdown(started, out)).detach();
        REQUIRE(weft::testing::wait_until([&] { return started.load(std::memory_order_acquire); }));
        rt.shutdown();
        CHECK(rt.metrics().live_tasks == 0);
    }
    CHECK(ms_since(t0) < 10'000.0);
    CHECK(out.finished.load());
    CHECK(out.cancelled(0));
    CHECK(out.cancelled(1));
}

TEST_CASE(
    "shutdown returns promptly while a detached task sleeps for an hour, and the task observes "
    "operation_canceled",
    "[runtime][runtime]") {
    // Regression: shutdown used to find the sleeping worker "quiet" before it woke up, and exit
    // without firing its timers (the sleepers were abandoned); and a sleep cut short by shutdown
    // used to return success.
    sleep_outcome spawned, gone;
    double ms = shut_down_while_sleeping(spawned, gone, 3);
    CHECK(ms < 10'000.0);
    CHECK(spawned.finished.load());
    CHECK(spawned.sleeps.load() == 3);
    CHECK(spawned.cancelled_mask.load() == 0b111u);
    CHECK(gone.finished.load());
    CHECK(gone.sleeps.load() == 3);
    CHECK(gone.cancelled_mask.load() == 0b111u);
}

TEST_CASE("a runtime that was shut down refuses spawns from outside", "[runtime][runtime]") {
    weft::runtime rt(weft::runtime_options{.workers = weft::testing::test_workers(1)});
    rt.shutdown();
    rt.shutdown(); // idempotent
    CHECK_THROWS_AS(rt.spawn(value_of(1)), std::logic_error);
    CHECK_THROWS_AS(rt.block_on(value_of(1)), std::logic_error);
}

TEST_CASE("several runtimes can live side by side", "[runtime][runtime]") {
    weft::runtime a(weft::runtime_options{.workers = weft::testing::test_workers(2)});
    weft::runtime b(weft::runtime_options{.workers = weft::testing::test_workers(1)});
    CHECK(a.block_on(value_of(1)) == 1);
    CHECK(b.block_on(value_of(2)) == 2);
    // A task on `a` starts one on `b` through b.spawn (an injection from a foreign worker).
    auto h = a.block_on([](weft::runtime& other) -> task<join_handle<int>> {
        co_return other.spawn(value_of(3));
    }(b));
    CHECK(b.block_on(join(std::move(h))) == 3);
    CHECK(b.metrics().injected >= 2);
}

TEST_CASE("stress: workers park and are woken from outside", "[.][stress][runtime][runtime]") {
    const int iters = weft::testing::stress_iters(200);
    for (int i = 0; i < iters; ++i) {
        // 2..8 workers in turn, or WEFT_WORKERS for every iteration when set.
        std::size_t workers = weft::testing::test_workers(2 + static_cast<std::size_t>(i % 7));
        INFO("iteration " << i << ", " << workers << " workers");
        weft::runtime rt(weft::runtime_options{.workers = workers});
        REQUIRE(park_unpark_cycles(rt, 500));
    }
}

TEST_CASE(
    "stress: a task that never yields does not hide the task it spawned",
    "[.][stress][runtime][runtime]") {
    const int iters = weft::testing::stress_iters(200);
    for (int i = 0; i < iters; ++i) {
        // 2..8 workers in turn, or WEFT_WORKERS when set; never one (the spinner takes it).
        std::size_t workers = std::max<std::size_t>(
            2, weft::testing::test_workers(2 + static_cast<std::size_t>(i % 7)));
        INFO("iteration " << i << ", " << workers << " workers");
        weft::runtime rt(weft::runtime_options{.workers = workers});
        REQUIRE(rt.block_on(spawn_then_spin()));
    }
}

TEST_CASE("stress: shutdown while tasks start, run and sleep", "[.][stress][runtime][runtime]") {
    const int iters = weft::testing::stress_iters(200);
    for (int i = 0; i < iters; ++i) {
        // 2..8 workers in turn, or WEFT_WORKERS for every iteration when set.
        std::size_t workers = weft::testing::test_workers(2 + static_cast<std::size_t>(i % 7));
        INFO("iteration " << i << ", " << workers << " workers");
        std::vector<sleep_outcome> outs(8);
        auto t0 = std::chrono::steady_clock::now();
        {
            weft::runtime rt(weft::runtime_options{.workers = workers});
            for (auto& o : outs) {
                rt.spawn(sleep_an_hour(o, 2)).detach();
            }
            // No wait: some sleeps start before shutdown, some during it.
        }
        REQUIRE(ms_since(t0) < 10'000.0);
        for (auto& o : outs) {
            REQUIRE(o.finished.load());
            REQUIRE(o.sleeps.load() == 2);
            REQUIRE(
                o.cancelled_mask.load() == 0b11u); // cut short by shutdown, or started during it
        }
    }
}

TEST_CASE(
    "a write to a pipe whose reader is gone fails with EPIPE on a worker and a blocking-pool "
    "thread, and the process lives",
    "[runtime]") {
    // SIGPIPE's default action ends the process: before the workers blocked it, this test
    // killed its executable. The main thread is left as it was (a program's own threads are its
    // business), so SIGPIPE is not blocked here in the test's thread.
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    ::close(fds[0]);
    auto [on_worker, on_pool] = weft::run(
        [&]() -> weft::task<std::pair<int, int>> {
            auto write_errno = [fd = fds[1]] {
                const char c = 'x';
                return ::write(fd, &c, 1) < 0 ? errno : 0;
            };
            const int w = write_errno();
            const int b = co_await weft::spawn_blocking(write_errno);
            co_return std::pair{w, b};
        },
        weft::runtime_options{.workers = weft::testing::test_workers(2)});
    ::close(fds[1]);
    CHECK(on_worker == EPIPE);
    CHECK(on_pool == EPIPE);
}

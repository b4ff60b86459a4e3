// weft::scope: task groups whose children never outlive the join; first failure cancels the rest.

// First and alone: scope.hpp keeps its bookkeeping in runtime/src/scope.cpp so that it brings
// neither <mutex> nor <unordered_map> into every includer. libstdc++'s include guards tell.
#include <weft/runtime/scope.hpp>
#if defined(__GLIBCXX__) && (defined(_GLIBCXX_MUTEX) || defined(_GLIBCXX_UNORDERED_MAP))
#error "<weft/runtime/scope.hpp> pulls in <mutex> or <unordered_map>"
#endif

#include <weft/runtime.hpp>

#include "weft_test.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <system_error>

using weft::task;
using weft::testing::test_error;
using namespace std::chrono_literals;

namespace {

task<> count_up(std::atomic<int>& n) {
    co_await weft::yield_now();
    n.fetch_add(1);
}

task<int> value_of(int v) {
    co_return v;
}

/// What a child that sleeps for an hour observed.
struct sleeper_report {
    std::atomic<bool> started{false};
    std::atomic<bool> finished{false};
    std::atomic<bool> cancelled{false};

    /// Not running: it never started, or it ended.
    bool settled() const { return started.load() == finished.load(); }
    /// Stopped by a cancellation: it never ran (cancelled before it started), or its sleep was
    /// cut short.
    bool stopped_by_cancel() const {
        return !started.load() || (finished.load() && cancelled.load());
    }
};

task<> sleep_an_hour(sleeper_report& rep) {
    rep.started.store(true);
    auto r = co_await weft::sleep_for(1h);
    rep.cancelled.store(r.error() == std::errc::operation_canceled);
    rep.finished.store(true);
}

task<> throw_after_yields(int code, int yields) {
    for (int i = 0; i < yields; ++i) {
        co_await weft::yield_now();
    }
    throw test_error(code);
}

/// Spawns a tree into `s`: each node adds 1 to `n` and spawns `fanout` children while depth > 0.
task<> tree_into(weft::scope& s, std::atomic<int>& n, int depth, int fanout) {
    n.fetch_add(1);
    if (depth > 0) {
        for (int i = 0; i < fanout; ++i) {
            s.spawn(tree_into(s, n, depth - 1, fanout));
        }
    }
    co_return;
}

int tree_size(int depth, int fanout) {
    int total = 0, level = 1;
    for (int d = 0; d <= depth; ++d) {
        total += level;
        level *= fanout;
    }
    return total;
}

task<> wait_for(std::atomic<bool>& flag) {
    co_await weft::testing::yield_until([&] { return flag.load(std::memory_order_acquire); });
}

task<> set_true(std::atomic<bool>& flag) {
    flag.store(true, std::memory_order_release);
    co_return;
}

} // namespace

TEST_CASE("a scope's join waits for every child", "[runtime][scope]") {
    std::atomic<int> n{0};
    auto [seen, left] = weft::run(
        [&]() -> task<std::pair<int, std::size_t>> {
            weft::scope s;
            for (int i = 0; i < 100; ++i) {
                s.spawn(count_up(n), "counter");
            }
            s.spawn(value_of(1)); // a value is discarded
            co_await s.join();
            co_return std::pair{n.load(), s.size()};
        },
        weft::runtime_options{.workers = weft::testing::test_workers(3)});
    CHECK(seen == 100);
    CHECK(left == 0);
}

TEST_CASE("join of an empty scope completes at once", "[runtime][scope]") {
    bool ok = weft::run(
        []() -> task<bool> {
            weft::scope s;
            co_await s.join();
            co_return s.size() == 0;
        },
        weft::runtime_options{.workers = weft::testing::one_worker});
    CHECK(ok);
}

TEST_CASE("a scope's children run concurrently", "[runtime][scope]") {
    // One worker, and the first child waits for the second.
    std::atomic<bool> flag{false};
    weft::run(
        [&]() -> task<int> {
            weft::scope s;
            s.spawn(wait_for(flag));
            s.spawn(set_true(flag));
            co_await s.join();
            co_return 0;
        },
        weft::runtime_options{.workers = weft::testing::one_worker});
    CHECK(flag.load());
}

TEST_CASE("children may spawn more children into their scope", "[runtime][scope]") {
    std::atomic<int> n{0};
    weft::run(
        [&]() -> task<int> {
            weft::scope s;
            s.spawn(tree_into(s, n, 6, 3));
            co_await s.join();
            co_return 0;
        },
        weft::runtime_options{.workers = weft::testing::test_workers(4)});
    CHECK(n.load() == tree_size(6, 3));
}

TEST_CASE(
    "the first child to fail cancels the others and join rethrows its exception",
    "[runtime][scope]") {
    sleeper_report a, b;
    int code = weft::run(
        [&]() -> task<int> {
            weft::scope s;
            s.spawn(sleep_an_hour(a));
            s.spawn(sleep_an_hour(b));
            // Both asleep before the sibling fails, so the failure has running children to cancel.
            co_await weft::testing::yield_until(
                [&] { return a.started.load() && b.started.load(); });
            s.spawn(throw_after_yields(5, 2));
            try {
                co_await s.join();
            } catch (const test_error& e) {
                co_return a.finished.load() && b.finished.load() ? e.code : -e.code;
            }
            co_return -1;
        },
        weft::runtime_options{.workers = weft::testing::test_workers(2)});
    CHECK(code == 5);
    CHECK(a.cancelled.load());
    CHECK(b.cancelled.load());
}

TEST_CASE(
    "cancel stops running children, and children spawned later never run", "[runtime][scope]") {
    sleeper_report before, after;
    bool joined = weft::run(
        [&]() -> task<bool> {
            weft::scope s;
            s.spawn(sleep_an_hour(before));
            co_await weft::testing::yield_until([&] { return before.started.load(); });
            s.cancel();
            s.spawn(sleep_an_hour(after));
            // The late child ends with cancelled_error without running; that is no failure.
            co_await s.join();
            co_return true;
        },
        weft::runtime_options{.workers = weft::testing::test_workers(2)});
    CHECK(joined);
    CHECK(before.finished.load());
    CHECK(before.cancelled.load());
    CHECK_FALSE(after.started.load());
}

TEST_CASE(
    "cancelling the task awaiting join cancels the children, and join still waits for them",
    "[runtime][scope]") {
    sleeper_report a, b;
    std::atomic<bool> started{false};
    weft::runtime rt(weft::runtime_options{.workers = weft::testing::test_workers(2)});
    auto h =
        rt.spawn([](sleeper_report& x, sleeper_report& y, std::atomic<bool>& st) -> task<bool> {
            weft::scope s;
            s.spawn(sleep_an_hour(x));
            s.spawn(sleep_an_hour(y));
            // Both asleep before the cancel (a child cancelled before it starts never runs).
            co_await weft::testing::yield_until(
                [&] { return x.started.load() && y.started.load(); });
            st.store(true);
            co_await s.join();
            co_return x.finished.load() && y.finished.load();
        }(a, b, started));
    REQUIRE(weft::testing::wait_until([&] { return started.load(); }));
    h.cancel();
    bool children_done = rt.block_on(
        [](weft::join_handle<bool> j) -> task<bool> { co_return co_await j; }(std::move(h)));
    CHECK(children_done);
    CHECK(a.cancelled.load());
    CHECK(b.cancelled.load());
}

TEST_CASE("size counts the children still running", "[runtime][scope]") {
    sleeper_report r;
    auto [during, after] = weft::run(
        [&]() -> task<std::pair<std::size_t, std::size_t>> {
            weft::scope s;
            s.spawn(sleep_an_hour(r));
            s.spawn(value_of(1));
            co_await weft::testing::yield_until([&] { return s.size() == 1; });
            std::size_t d = s.size();
            s.cancel();
            co_await s.join();
            co_return std::pair{d, s.size()};
        },
        weft::runtime_options{.workers = weft::testing::test_workers(2)});
    CHECK(during == 1);
    CHECK(after == 0);
}

TEST_CASE(
    "scope::spawn outside a runtime throws std::logic_error and leaves the scope empty",
    "[runtime][scope]") {
    weft::scope s;
    CHECK_THROWS_AS(s.spawn(value_of(1)), std::logic_error);
    CHECK(s.size() == 0);
}

TEST_CASE("stress: scopes with nested spawns and failures", "[.][stress][runtime][scope]") {
    const int iters = weft::testing::stress_iters(200);
    for (int i = 0; i < iters; ++i) {
        // 2..8 workers in turn, or WEFT_WORKERS for every iteration when set.
        std::size_t workers = weft::testing::test_workers(2 + static_cast<std::size_t>(i % 7));
        INFO("iteration " << i << ", " << workers << " workers");
        std::atomic<int> n{0};
        sleeper_report r;
        bool settled_at_join = false;
        int code = weft::run(
            [&]() -> task<int> {
                weft::scope s;
                s.spawn(tree_into(s, n, 4, 3));
                s.spawn(sleep_an_hour(r));
                s.spawn(throw_after_yields(i, i % 5));
                try {
                    co_await s.join();
                } catch (const test_error& e) {
                    settled_at_join = r.settled();
                    co_return e.code;
                }
                co_return -1;
            },
            weft::runtime_options{.workers = workers});
        REQUIRE(code == i);
        // The failure may come before the sleeper starts; then it never runs.
        REQUIRE(settled_at_join);
        REQUIRE(r.stopped_by_cancel());
    }
}

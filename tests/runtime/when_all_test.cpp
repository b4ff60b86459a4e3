// weft::when_all: variadic and range forms, results in order, failure cancels the siblings.
#include <weft/runtime.hpp>

#include "weft_test.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

using weft::join_handle;
using weft::task;
using weft::testing::test_error;
using namespace std::chrono_literals;

namespace {

task<int> value_after_yields(int v, int yields) {
    for (int i = 0; i < yields; ++i) {
        co_await weft::yield_now();
    }
    co_return v;
}

task<std::string> text(const char* s) {
    co_return std::string(s);
}

task<> nothing(std::atomic<int>& ran) {
    ran.fetch_add(1);
    co_return;
}

task<int> throw_after_yields(int code, int yields) {
    for (int i = 0; i < yields; ++i) {
        co_await weft::yield_now();
    }
    throw test_error(code);
    co_return 0;
}

/// What a child that sleeps for an hour observed.
struct sibling_report {
    std::atomic<bool> started{false};
    std::atomic<bool> finished{false};
    std::atomic<bool> cancelled{false};
};

task<int> sleep_an_hour(sibling_report& rep) {
    rep.started.store(true);
    auto r = co_await weft::sleep_for(1h);
    rep.cancelled.store(r.error() == std::errc::operation_canceled);
    rep.finished.store(true);
    co_return 0;
}

/// Throws once both siblings have started (they then wait out an hour), so that the failure has
/// running siblings to cancel (one cancelled before it started would never run).
task<int> throw_once_siblings_started(int code, const sibling_report& x, const sibling_report& y) {
    co_await weft::testing::yield_until([&] { return x.started.load() && y.started.load(); });
    throw test_error(code);
}

/// Throws after its sleep is cut short; to tell a first failure from a later one.
task<int> throw_after_sleep(int code) {
    co_await weft::sleep_for(1h);
    throw test_error(code);
}

task<> wait_for(std::atomic<bool>& flag) {
    co_await weft::testing::yield_until([&] { return flag.load(std::memory_order_acquire); });
}

task<> set_true(std::atomic<bool>& flag) {
    flag.store(true, std::memory_order_release);
    co_return;
}

weft::runtime_options workers(std::size_t n) {
    // One worker stays one (a child that waits for its sibling proves concurrency only there).
    return weft::runtime_options{.workers = n == 1 ? n : weft::testing::test_workers(n)};
}

} // namespace

TEST_CASE(
    "when_all of several tasks yields a tuple of their results in argument order",
    "[runtime][when_all]") {
    auto [a, b, c] = weft::run(
        []() -> task<std::tuple<int, std::string, int>> {
            co_return co_await weft::when_all(
                value_after_yields(1, 5), text("two"), value_after_yields(3, 0));
        },
        workers(2));
    CHECK(a == 1);
    CHECK(b == "two");
    CHECK(c == 3);
}

TEST_CASE("when_all gives std::monostate for void tasks", "[runtime][when_all]") {
    std::atomic<int> ran{0};
    auto r = weft::run(
        [&]() -> task<std::tuple<std::monostate, int, std::monostate>> {
            co_return co_await weft::when_all(nothing(ran), value_after_yields(7, 1), nothing(ran));
        },
        workers(2));
    STATIC_REQUIRE(std::is_same_v<decltype(r), std::tuple<std::monostate, int, std::monostate>>);
    CHECK(std::get<1>(r) == 7);
    CHECK(ran.load() == 2);
}

TEST_CASE("when_all of a vector yields the results in order", "[runtime][when_all]") {
    auto v = weft::run(
        []() -> task<std::vector<int>> {
            std::vector<task<int>> ts;
            for (int i = 0; i < 100; ++i) {
                ts.push_back(value_after_yields(i, (i * 7) % 5)); // finish out of order
            }
            co_return co_await weft::when_all(std::move(ts));
        },
        workers(4));
    REQUIRE(v.size() == 100);
    for (int i = 0; i < 100; ++i) {
        CHECK(v[static_cast<std::size_t>(i)] == i);
    }
}

TEST_CASE(
    "when_all of a million children finishes with every result in order", "[runtime][when_all]") {
    // Each finishing child used to look up its own index by a scan: O(N^2), minutes for 1M.
#if WEFT_FRAME_CACHE
    constexpr int n = 1'000'000;
#else
    constexpr int n = 100'000; // the sanitizers' frames are large and slow
#endif
    auto v = weft::run(
        []() -> task<std::vector<int>> {
            std::vector<task<int>> ts;
            ts.reserve(n);
            for (int i = 0; i < n; ++i) {
                ts.push_back(value_after_yields(i, i % 3));
            }
            co_return co_await weft::when_all(std::move(ts));
        },
        workers(2));
    REQUIRE(v.size() == static_cast<std::size_t>(n));
    int misplaced = 0;
    for (int i = 0; i < n; ++i) {
        misplaced += v[static_cast<std::size_t>(i)] != i ? 1 : 0;
    }
    CHECK(misplaced == 0);
}

TEST_CASE("when_all of a vector of void tasks yields monostates", "[runtime][when_all]") {
    std::atomic<int> ran{0};
    auto n = weft::run(
        [&]() -> task<std::size_t> {
            std::vector<task<>> ts;
            for (int i = 0; i < 10; ++i) {
                ts.push_back(nothing(ran));
            }
            std::vector<std::monostate> r = co_await weft::when_all(std::move(ts));
            co_return r.size();
        },
        workers(2));
    CHECK(n == 10);
    CHECK(ran.load() == 10);
}

TEST_CASE("when_all of an empty vector completes at once", "[runtime][when_all]") {
    auto n = weft::run(
        []() -> task<std::size_t> {
            co_return (co_await weft::when_all(std::vector<task<int>>{})).size();
        },
        workers(1));
    CHECK(n == 0);
}

TEST_CASE("when_all runs its tasks concurrently", "[runtime][when_all]") {
    // One worker, and the first child waits for the second: only concurrent children finish.
    std::atomic<bool> flag{false};
    weft::run(
        [&]() -> task<> { co_await weft::when_all(wait_for(flag), set_true(flag)); }, workers(1));
    CHECK(flag.load());
}

TEST_CASE(
    "when_all rethrows a child's exception after cancelling and awaiting the others",
    "[runtime][when_all]") {
    sibling_report a, b;
    int code = weft::run(
        [&]() -> task<int> {
            try {
                co_await weft::when_all(
                    sleep_an_hour(a), throw_once_siblings_started(21, a, b), sleep_an_hour(b));
            } catch (const test_error& e) {
                // Structured: the siblings have finished before when_all returned.
                co_return a.finished.load() && b.finished.load() ? e.code : -e.code;
            }
            co_return -1;
        },
        workers(2));
    CHECK(code == 21);
    CHECK(a.cancelled.load());
    CHECK(b.cancelled.load());
}

TEST_CASE("when_all of a vector rethrows the first failure", "[runtime][when_all]") {
    // Child 0 can throw only after its sleep is cut short, which child 1's failure causes.
    int code = weft::run(
        []() -> task<int> {
            std::vector<task<int>> ts;
            ts.push_back(throw_after_sleep(1));
            ts.push_back(throw_after_yields(2, 2));
            try {
                co_await weft::when_all(std::move(ts));
            } catch (const test_error& e) {
                co_return e.code;
            }
            co_return -1;
        },
        workers(2));
    CHECK(code == 2);
}

TEST_CASE("cancelling the task awaiting when_all cancels every child", "[runtime][when_all]") {
    sibling_report a, b;
    weft::runtime rt(workers(2));
    auto h = rt.spawn([](sibling_report& x, sibling_report& y) -> task<> {
        co_await weft::when_all(sleep_an_hour(x), sleep_an_hour(y));
    }(a, b));
    REQUIRE(weft::testing::wait_until([&] { return a.started.load() && b.started.load(); }));
    h.cancel(); // while the children sleep
    // The children return normally once their sleeps are cut short, and so does the task.
    rt.block_on([](join_handle<> j) -> task<> { co_await j; }(std::move(h)));
    CHECK(a.finished.load());
    CHECK(a.cancelled.load());
    CHECK(b.finished.load());
    CHECK(b.cancelled.load());
}

TEST_CASE(
    "a task cancelled before it runs never starts its when_all children", "[runtime][when_all]") {
    sibling_report a, b;
    bool threw = weft::run(
        [&]() -> task<bool> {
            auto h = weft::spawn([](sibling_report& x, sibling_report& y) -> task<> {
                co_await weft::when_all(sleep_an_hour(x), sleep_an_hour(y));
            }(a, b)); // one worker: it has not run yet
            h.cancel();
            try {
                co_await h;
            } catch (const weft::cancelled_error&) {
                co_return true;
            }
            co_return false;
        },
        workers(1));
    CHECK(threw);
    CHECK_FALSE(a.started.load());
    CHECK_FALSE(b.started.load());
}

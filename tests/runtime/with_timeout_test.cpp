// weft::with_timeout: timed_out for a task that takes too long, values passed through, result<T>
// mapped, and the child always finished before the call returns.
#include <weft/runtime.hpp>

#include "weft_test.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <system_error>
#include <utility>

using weft::join_handle;
using weft::result;
using weft::task;
using weft::testing::ms_since;
using weft::testing::test_error;
using namespace std::chrono_literals;

namespace {

/// What a child that sleeps observed.
struct child_report {
    std::atomic<bool> finished{false};
    std::error_code error;
};

task<> sleep_void(child_report& rep, std::chrono::nanoseconds d) {
    auto r = co_await weft::sleep_for(d);
    rep.error = r.error();
    rep.finished.store(true);
}

/// sleep_void that says when it is asleep: a task cancelled before it runs never runs at all.
task<> flag_then_sleep(child_report& rep, std::atomic<bool>& asleep, std::chrono::nanoseconds d) {
    asleep.store(true);
    auto r = co_await weft::sleep_for(d);
    rep.error = r.error();
    rep.finished.store(true);
}

task<int> value_of(int v) {
    co_return v;
}

/// Ignores its cut-short sleep and produces a value anyway.
task<int> value_despite_timeout(child_report& rep, int v) {
    auto r = co_await weft::sleep_for(1h);
    rep.error = r.error();
    rep.finished.store(true);
    co_return v;
}

/// Returns the sleep's error as its result.
task<result<int>> result_of_sleep(std::chrono::nanoseconds d, int v) {
    auto r = co_await weft::sleep_for(d);
    if (!r) {
        co_return r.error();
    }
    co_return v;
}

/// Reports any cut-short sleep as operation_canceled, as code that knows nothing of timeouts would.
task<result<int>> cancelled_on_any_error(child_report& rep) {
    auto r = co_await weft::sleep_for(1h);
    rep.error = r.error();
    rep.finished.store(true);
    if (!r) {
        co_return std::errc::operation_canceled;
    }
    co_return 0;
}

task<result<int>> fails_with(std::error_code ec) {
    co_return ec;
}

task<int> throws_test_error(int code) {
    throw test_error(code);
    co_return 0;
}

weft::runtime_options two_workers() {
    return weft::runtime_options{.workers = weft::testing::test_workers(2)};
}

} // namespace

TEST_CASE(
    "with_timeout gives timed_out for a task that sleeps past the deadline",
    "[runtime][with_timeout]") {
    child_report child;
    auto t0 = std::chrono::steady_clock::now();
    auto [r, child_done] = weft::run(
        [&]() -> task<std::pair<result<void>, bool>> {
            result<void> res = co_await weft::with_timeout(10ms, sleep_void(child, 1h));
            co_return std::pair{
                res, child.finished.load()}; // finished before with_timeout returned
        },
        two_workers());
    double ms = ms_since(t0);
    CHECK_FALSE(r.has_value());
    CHECK(r.error() == std::errc::timed_out);
    CHECK(child_done);
    CHECK(child.error == std::errc::timed_out); // the child's own sleep saw the reason
    CHECK(ms >= 10.0);
    CHECK(ms < 10'000.0);
}

TEST_CASE(
    "with_timeout passes the value of a task that finishes in time", "[runtime][with_timeout]") {
    result<int> r = weft::run(
        []() -> task<result<int>> { co_return co_await weft::with_timeout(1h, value_of(42)); },
        two_workers());
    REQUIRE(r.has_value());
    CHECK(*r == 42);
}

TEST_CASE("with_timeout of a void task that finishes in time succeeds", "[runtime][with_timeout]") {
    child_report child;
    result<void> r = weft::run(
        [&]() -> task<result<void>> {
            co_return co_await weft::with_timeout(1h, sleep_void(child, 1ms));
        },
        two_workers());
    CHECK(r.has_value());
    CHECK_FALSE(child.error);
}

TEST_CASE(
    "with_timeout of a task<result<T>> passes its result through", "[runtime][with_timeout]") {
    weft::runtime rt(two_workers());
    SECTION("a value in time") {
        result<int> r = rt.block_on([]() -> task<result<int>> {
            co_return co_await weft::with_timeout(1h, result_of_sleep(0ns, 5));
        }());
        REQUIRE(r.has_value());
        CHECK(*r == 5);
    }
    SECTION("its own error in time, unchanged") {
        result<int> r = rt.block_on([]() -> task<result<int>> {
            co_return co_await weft::with_timeout(
                1h, fails_with(std::make_error_code(std::errc::io_error)));
        }());
        CHECK(r.error() == std::errc::io_error);
    }
    SECTION("operation_canceled in time, unchanged") {
        result<int> r = rt.block_on([]() -> task<result<int>> {
            co_return co_await weft::with_timeout(
                1h, fails_with(std::make_error_code(std::errc::operation_canceled)));
        }());
        CHECK(r.error() == std::errc::operation_canceled);
    }
    SECTION("the timed_out error of its cut-short sleep") {
        result<int> r = rt.block_on([]() -> task<result<int>> {
            co_return co_await weft::with_timeout(5ms, result_of_sleep(1h, 5));
        }());
        CHECK(r.error() == std::errc::timed_out);
    }
    SECTION("operation_canceled after the deadline becomes timed_out") {
        child_report child;
        result<int> r = rt.block_on([](child_report& c) -> task<result<int>> {
            co_return co_await weft::with_timeout(5ms, cancelled_on_any_error(c));
        }(child));
        CHECK(r.error() == std::errc::timed_out);
        CHECK(child.finished.load());
    }
}

TEST_CASE(
    "with_timeout keeps a value the task produced after the deadline", "[runtime][with_timeout]") {
    child_report child;
    result<int> r = weft::run(
        [&]() -> task<result<int>> {
            co_return co_await weft::with_timeout(5ms, value_despite_timeout(child, 7));
        },
        two_workers());
    REQUIRE(r.has_value());
    CHECK(*r == 7);
    CHECK(child.error == std::errc::timed_out);
}

TEST_CASE("with_timeout rethrows the task's exception", "[runtime][with_timeout]") {
    int code = weft::run(
        []() -> task<int> {
            try {
                (void)co_await weft::with_timeout(1h, throws_test_error(41));
            } catch (const test_error& e) {
                co_return e.code;
            }
            co_return -1;
        },
        two_workers());
    CHECK(code == 41);
}

TEST_CASE(
    "cancelling the task awaiting with_timeout cancels the child with operation_canceled",
    "[runtime][with_timeout]") {
    child_report child;
    weft::runtime rt(two_workers());
    std::atomic<bool> started{false};
    auto h = rt.spawn([](child_report& c, std::atomic<bool>& s) -> task<> {
        (void)co_await weft::with_timeout(1h, flag_then_sleep(c, s, 1h));
    }(child, started));
    REQUIRE(weft::testing::wait_until([&] { return started.load(); }));
    h.cancel();
    rt.block_on([](join_handle<> j) -> task<> { co_await j; }(std::move(h)));
    CHECK(child.finished.load());
    CHECK(child.error == std::errc::operation_canceled);
}

TEST_CASE(
    "stress: with_timeout deadlines race the task finishing",
    "[.][stress][runtime][with_timeout]") {
    const int iters = weft::testing::stress_iters(200);
    std::mt19937 rng(99);
    for (int i = 0; i < iters; ++i) {
        // 2..8 workers in turn, or WEFT_WORKERS for every iteration when set.
        std::size_t workers = weft::testing::test_workers(2 + static_cast<std::size_t>(i % 7));
        INFO("iteration " << i << ", " << workers << " workers");
        weft::runtime rt(weft::runtime_options{.workers = workers});
        int bad = rt.block_on([](std::uint32_t seed) -> task<int> {
            std::mt19937 r(seed);
            int wrong = 0;
            for (int k = 0; k < 50; ++k) {
                auto limit = std::chrono::microseconds(r() % 100);
                auto d = std::chrono::microseconds(r() % 100);
                result<int> out = co_await weft::with_timeout(limit, result_of_sleep(d, 3));
                if (!(out.has_value() ? *out == 3 : out.error() == std::errc::timed_out)) {
                    ++wrong;
                }
                result<int> plain = co_await weft::with_timeout(limit, value_of(4));
                if (!plain.has_value() || *plain != 4) {
                    ++wrong;
                }
            }
            co_return wrong;
        }(rng()));
        REQUIRE(bad == 0);
    }
}

namespace {

task<result<void>> sleep_an_hour() {
    co_return co_await weft::sleep_for(1h);
}

/// Waits an hour under a one-hour deadline; records 1 canceled, 2 timed out, 3 success, 4 other.
task<> hour_under_deadline(std::atomic<bool>& started, std::atomic<int>& outcome) {
    started.store(true);
    auto r = co_await weft::with_timeout(1h, sleep_an_hour());
    if (r) {
        outcome.store(3);
    } else if (r.error() == std::errc::operation_canceled) {
        outcome.store(1);
    } else if (r.error() == std::errc::timed_out) {
        outcome.store(2);
    } else {
        outcome.store(4);
    }
}

} // namespace

TEST_CASE(
    "with_timeout cut short by shutdown reports a cancellation, not a timeout",
    "[runtime][with_timeout]") {
    // Shutdown fires every timer early, the deadline's too: code behind with_timeout(1h, ...)
    // must not believe an hour passed.
    for (int round = 0; round < 20; ++round) {
        std::atomic<int> outcome{0};
        std::atomic<bool> started{false};
        weft::run(
            [&]() -> task<> {
                auto h = weft::spawn(hour_under_deadline(started, outcome));
                // Main returns once the child is waiting: the shutdown then cuts it short.
                (void)co_await weft::testing::yield_until([&] { return started.load(); });
                co_await weft::yield_now();
            },
            weft::runtime_options{.workers = weft::testing::test_workers(2)});
        INFO("round " << round);
        REQUIRE(outcome.load() == 1);
    }
}

// Cancellation reaching fork-join trees: a spawned task cancelled before it runs skips its body, a
// join passes its joiner's cancellation to the child, a handle dropped while unwinding cancels its
// task, with_timeout bounds compute-bound work, yield_now reports cancellation, and the errors read
// "timed out" while still equal to std's conditions.
#include <weft/runtime.hpp>

#include "weft_test.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <system_error>

using weft::result;
using weft::task;
using weft::testing::one_worker;
using weft::testing::patience;
using namespace std::chrono_literals;

namespace {

task<std::int64_t> fib(int n) {
    if (n < 2) {
        co_return n;
    }
    auto h = weft::spawn(fib(n - 1));
    std::int64_t y = co_await fib(n - 2);
    std::int64_t x = co_await h;
    co_return x + y;
}

task<int> mark_ran(std::atomic<bool>& ran) {
    ran.store(true);
    co_return 1;
}

task<result<int>> mark_ran_result(std::atomic<bool>& ran) {
    ran.store(true);
    co_return 1;
}

/// Sleeps for the test's patience unless cancelled (a cancellation that never comes fails the
/// test instead of hanging it); records the sleep's outcome.
task<int> long_sleep(std::atomic<bool>& cut, std::error_code& why) {
    auto r = co_await weft::sleep_for(patience);
    why = r.error();
    cut.store(!r);
    co_return 7;
}

/// long_sleep that says when it is asleep (a task cancelled before it starts never runs at all).
task<int> flagged_sleep(std::atomic<bool>& asleep, std::atomic<bool>& cut, std::error_code& why) {
    asleep.store(true);
    co_return co_await long_sleep(cut, why);
}

/// Waits until no spawned task of `rt` is alive; false if that takes longer than the patience.
bool drained(weft::runtime& rt) {
    return weft::testing::wait_until([&] { return rt.metrics().live_tasks == 0; });
}

} // namespace

TEST_CASE("a spawned task cancelled before it first runs does not run its body", "[cancel]") {
    weft::runtime rt(weft::runtime_options{
        .workers = one_worker}); // the parent runs on until its join: the child has not started
    SECTION("a task of int: its join throws weft::cancelled_error") {
        std::atomic<bool> ran{false};
        std::error_code code;
        rt.block_on([&]() -> task<> {
            auto h = weft::spawn(mark_ran(ran));
            h.cancel();
            try {
                (void)co_await h;
            } catch (const weft::cancelled_error& e) {
                code = e.code();
            }
        }());
        CHECK_FALSE(ran.load());
        CHECK(code == std::errc::operation_canceled);
        CHECK(code == weft::errc::canceled);
    }
    SECTION("a task of result<int>: its join returns the error") {
        std::atomic<bool> ran{false};
        result<int> r = rt.block_on([&]() -> task<result<int>> {
            auto h = weft::spawn(mark_ran_result(ran));
            h.cancel();
            co_return co_await h;
        }());
        CHECK_FALSE(ran.load());
        REQUIRE_FALSE(r);
        CHECK(r.error() == std::errc::operation_canceled);
    }
}

TEST_CASE("a join passes its joiner's cancellation to the child", "[cancel]") {
    weft::runtime rt(weft::runtime_options{.workers = weft::testing::test_workers(2)});
    SECTION("a joiner cancelled while it waits cancels the child it waits for") {
        std::atomic<bool> cut{false};
        std::error_code why;
        std::atomic<bool> joining{false};
        int got = rt.block_on([&]() -> task<int> {
            auto parent = weft::spawn(
                [](std::atomic<bool>& c, std::error_code& w, std::atomic<bool>& j) -> task<int> {
                    // The child is asleep before the parent is cancelled: otherwise the child
                    // would inherit the cancellation before it ran, and never run.
                    auto child = weft::spawn(flagged_sleep(j, c, w));
                    co_return co_await child; // cancelled while suspended here (or just before)
                }(cut, why, joining));
            REQUIRE(co_await weft::testing::yield_until([&] { return joining.load(); }));
            parent.cancel();
            co_return co_await parent;
        }());
        CHECK(got == 7); // the child's value: the join yields whatever the child produced
        // Without the join passing the cancellation on, the sleep would have run its course.
        CHECK(cut.load());
        CHECK(why == std::errc::operation_canceled);
    }
    SECTION("a join in a task cancelled already cancels the child first") {
        std::atomic<bool> child_ran{false};
        std::atomic<bool> sleeping{false};
        auto run = [&] {
            return rt.block_on([&]() -> task<int> {
                auto parent =
                    weft::spawn([](std::atomic<bool>& ran, std::atomic<bool>& s) -> task<int> {
                        s.store(true);
                        // Wait to be cancelled: the sleep ends with the cancellation.
                        (void)co_await weft::sleep_for(patience);
                        auto child = weft::spawn(mark_ran(ran));
                        co_return co_await child;
                    }(child_ran, sleeping));
                REQUIRE(co_await weft::testing::yield_until([&] { return sleeping.load(); }));
                parent.cancel();
                co_return co_await parent;
            }());
        };
        // The child was cancelled by the join before it ran: its body never ran, its join threw,
        // and the parent, a task of int, ended with that exception.
        CHECK_THROWS_AS(run(), weft::cancelled_error);
        CHECK_FALSE(child_ran.load());
    }
}

TEST_CASE("a join_handle dropped while an exception unwinds cancels its task", "[cancel]") {
    weft::runtime rt(weft::runtime_options{.workers = weft::testing::test_workers(2)});
    std::atomic<bool> sleeping{false};
    std::atomic<bool> cut{false};
    std::error_code why;
    bool threw = false;
    rt.block_on([&]() -> task<> {
        try {
            co_await [](std::atomic<bool>& s, std::atomic<bool>& c, std::error_code& w) -> task<> {
                auto child = weft::spawn(
                    [](std::atomic<bool>& s2,
                       std::atomic<bool>& c2,
                       std::error_code& w2) -> task<> {
                        s2.store(true);
                        auto r = co_await weft::sleep_for(patience);
                        w2 = r.error();
                        c2.store(!r);
                    }(s, c, w));
                if (!co_await weft::testing::yield_until([&] { return s.load(); })) {
                    co_return; // the check below fails
                }
                throw std::runtime_error("the code that would join fails");
            }(sleeping, cut, why);
        } catch (const std::runtime_error&) {
            threw = true;
        }
    }());
    CHECK(threw);
    REQUIRE(drained(rt)); // the child's sleep (the whole patience) was cut short
    CHECK(cut.load());
    CHECK(why == std::errc::operation_canceled);
}

TEST_CASE("with_timeout bounds a compute-bound fork-join tree", "[cancel]") {
    // fib(40) is ~330M tasks: seconds of work at any worker count, far more under the sanitizers.
    // The timeout must cut it to about its 100 ms. How far past 100 ms it returns is measured by
    // the benchmark (bench/weft, timeout_fib); here the bound only separates "cut short" from
    // "ran to the end", with room for a loaded CI machine and the sanitizers.
    const auto bound = weft::testing::under_sanitizer ? 5s : 1s;
    for (std::size_t workers : {std::size_t{1}, std::size_t{2}, std::size_t{4}}) {
        CAPTURE(workers);
        weft::runtime rt(weft::runtime_options{.workers = workers});
        auto started = std::chrono::steady_clock::now();
        result<std::int64_t> r = rt.block_on(weft::with_timeout(100ms, fib(40)));
        auto took = std::chrono::steady_clock::now() - started;
        const double took_ms = std::chrono::duration<double, std::milli>(took).count();
        CAPTURE(took_ms);
        WARN(
            "with_timeout(100ms, fib(40)) at " << workers << " workers returned after " << took_ms
                                               << " ms");
        REQUIRE_FALSE(r);
        CHECK(r.error() == std::errc::timed_out);
        CHECK(r.error().message() == "timed out");
        CHECK(took >= 100ms);

        CHECK(took < bound);
        // Tasks whose handles were dropped while their spawners unwound end soon after.
        CHECK(drained(rt));
    }
}

TEST_CASE("with_timeout of a fork-join tree that finishes in time yields its value", "[cancel]") {
    weft::runtime rt(weft::runtime_options{.workers = weft::testing::test_workers(2)});
    result<std::int64_t> r = rt.block_on(weft::with_timeout(patience, fib(20)));
    REQUIRE(r);
    CHECK(*r == 6765);
}

TEST_CASE("yield_now is a cancellation point that still yields", "[cancel]") {
    weft::runtime rt(weft::runtime_options{
        .workers = one_worker}); // a cancelled yield that did not yield would starve the setter
    std::atomic<int> rounds{0};
    std::atomic<bool> flag{false};
    struct outcome {
        std::error_code first_error;
        bool saw_flag = false;
    };
    outcome o = rt.block_on([&]() -> task<outcome> {
        auto h = weft::spawn([](std::atomic<int>& n, std::atomic<bool>& f) -> task<outcome> {
            outcome out;
            // Ignores the cancellation until another task has run: only a yield lets it run.
            for (int i = 0; i < 1'000'000; ++i) {
                n.fetch_add(1);
                result<void> r = co_await weft::yield_now();
                if (!r && !out.first_error) {
                    out.first_error = r.error();
                }
                if (!r && f.load()) {
                    out.saw_flag = true;
                    break;
                }
            }
            co_return out;
        }(rounds, flag));
        REQUIRE(co_await weft::testing::yield_until([&] { return rounds.load() >= 3; }));
        h.cancel();
        weft::go([](std::atomic<bool>& f) -> task<> {
            f.store(true);
            co_return;
        }(flag));
        co_return co_await h;
    }());
    CHECK(o.first_error == std::errc::operation_canceled);
    CHECK(o.saw_flag);
}

TEST_CASE("timeout and cancellation errors read as such and equal std's conditions", "[cancel]") {
    std::error_code t = make_error_code(weft::errc::timed_out);
    std::error_code c = make_error_code(weft::errc::canceled);
    CHECK(t.message() == "timed out");
    CHECK(c.message() == "operation canceled");
    CHECK(t == std::errc::timed_out);
    CHECK(c == std::errc::operation_canceled);
    CHECK(t != std::errc::operation_canceled);
    weft::runtime rt(weft::runtime_options{.workers = one_worker});
    result<void> slept = rt.block_on(weft::with_timeout(
        1ms, []() -> task<result<void>> { co_return co_await weft::sleep_for(1h); }()));
    REQUIRE_FALSE(slept);
    CHECK(slept.error() == std::errc::timed_out);
    CHECK(slept.error().message() == "timed out");
}

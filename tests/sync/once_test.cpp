// weft::sync::once: runs once under concurrency, callables returning void or a task, a throwing
// call lets the next caller run, a cancelled waiter, happens-before.
#include <weft/runtime.hpp>
#include <weft/sync.hpp>

#include "sync_test.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <system_error>
#include <vector>

using weft::join_handle;
using weft::result;
using weft::task;
using weft::sync::event;
using weft::sync::once;
using weft::testing::run_on;
using namespace std::chrono_literals;

namespace {

task<int> init_value(int* v) {
    co_await weft::sleep_for(2ms);
    *v = 42; // plain write: seen by every caller after call() returns
    co_return 0;
}

task<int> caller(once* o, int* value, std::atomic<int>* runs) {
    auto r = co_await o->call([value, runs]() -> task<> {
        runs->fetch_add(1);
        co_await init_value(value);
    });
    co_return r&&* value == 42 ? 0 : 1;
}

} // namespace

TEST_CASE("call runs its function exactly once, however many tasks call it", "[sync][once]") {
    run_on(weft::testing::test_workers(2), []() -> task<> {
        once o;
        int value = 0;
        std::atomic<int> runs{0};
        std::vector<join_handle<int>> hs;
        for (int i = 0; i < 50; ++i) {
            hs.push_back(weft::spawn(caller(&o, &value, &runs)));
        }
        int bad = 0;
        for (auto& h : hs) {
            bad += co_await h;
        }
        CHECK(bad == 0);
        CHECK(runs.load() == 1);
        CHECK(o.is_done());
        auto again = co_await o.call([] { FAIL("must not run again"); });
        CHECK(again.has_value());
    });
}

TEST_CASE("a call that throws does not count: the next caller runs its function", "[sync][once]") {
    run_on(weft::testing::one_worker, []() -> task<> {
        once o;
        bool threw = false;
        try {
            auto r = co_await o.call([] { throw std::runtime_error("first attempt fails"); });
            (void)r;
        } catch (const std::runtime_error&) {
            threw = true;
        }
        CHECK(threw);
        CHECK_FALSE(o.is_done());
        int ran = 0;
        auto r = co_await o.call([&ran] { ++ran; });
        CHECK(r.has_value());
        CHECK(ran == 1);
        CHECK(o.is_done());
    });
}

TEST_CASE(
    "a waiter cancelled while another runs the function gets the error: the run completes",
    "[sync][once]") {
    run_on(weft::testing::test_workers(2), []() -> task<> {
        once o;
        int value = 0;
        std::atomic<int> runs{0};
        auto first = weft::spawn(caller(&o, &value, &runs));
        co_await weft::sleep_for(500us);
        auto second = weft::spawn([](once* ob) -> task<std::error_code> {
            auto r = co_await ob->call([] {});
            co_return r ? std::error_code{} : r.error();
        }(&o));
        co_await weft::sleep_for(200us);
        second.cancel();
        const std::error_code ec = co_await second;
        const int f = co_await first;
        CHECK(f == 0);
        CHECK(
            (ec == std::errc::operation_canceled || !ec)); // cancelled, unless it already saw done
        CHECK(runs.load() == 1);
    });
}

TEST_CASE(
    "with_timeout on a caller waiting for another's run reports timed_out: the run completes",
    "[sync][once]") {
    run_on(weft::testing::test_workers(2), []() -> task<> {
        once o;
        event started;
        event finish;
        std::atomic<int> runs{0};
        auto runner =
            weft::spawn([](once* ob, event* st, event* fin, std::atomic<int>* n) -> task<int> {
                auto r = co_await ob->call([st, fin, n]() -> task<> {
                    n->fetch_add(1);
                    st->set();
                    (void)co_await fin->wait();
                });
                co_return r ? 0 : 1;
            }(&o, &started, &finish, &runs));
        (void)co_await started.wait(); // the runner is inside f
        auto waiter = [](once* ob, std::atomic<int>* n) -> task<weft::result<void>> {
            co_return co_await ob->call([n] { n->fetch_add(1); });
        };
        auto r = co_await weft::with_timeout(3ms, waiter(&o, &runs));
        CHECK(r.error() == std::errc::timed_out);
        CHECK_FALSE(o.is_done());
        finish.set();
        const int rr = co_await runner;
        CHECK(rr == 0);
        CHECK(o.is_done());
        auto after_done = co_await waiter(&o, &runs);
        CHECK(after_done.has_value());
        CHECK(runs.load() == 1); // only the runner's f ran
    });
}

namespace {

/// A once, and whether its releaser has started running f.
struct once_box {
    once o;
    std::atomic<bool> started{false};
    std::atomic<int> runs{0};
};

} // namespace

TEST_CASE(
    "stress: the runner leaves the once alone once a caller may have returned and freed it",
    "[.][stress][sync][once]") {
    const int rounds = weft::testing::stress_iters(200) * 10;
    std::atomic<int> waiter_ran{0};
    const int failed = weft::testing::last_touch_stress(
        rounds,
        [] { return new once_box; },
        [](once_box& b) { return b.o.is_done(); },
        [](once_box& b) {
            return b.o.call([&b] {
                b.runs.fetch_add(1, std::memory_order_relaxed);
                b.started.store(true, std::memory_order_release);
            });
        },
        [&waiter_ran](once_box& b) -> task<bool> {
            // Only once the releaser is running f: a waiter that ran f itself would free the
            // once while the releaser still waits in call().
            if (!b.started.load(std::memory_order_acquire)) {
                co_await weft::testing::yield_until(
                    [&b] { return b.started.load(std::memory_order_acquire); });
            }
            if (b.o.is_done()) {
                co_return b.runs.load(std::memory_order_relaxed) == 1; // done: free it at once
            }
            auto r = co_await b.o.call([&waiter_ran] { waiter_ran.fetch_add(1); });
            co_return r.has_value() && b.runs.load(std::memory_order_relaxed) == 1;
        });
    CHECK(failed == 0);
    CHECK(waiter_ran.load() == 0);
}

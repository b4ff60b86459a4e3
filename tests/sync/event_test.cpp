// weft::sync::event: set releases every waiter, waits on a set event complete at once, reset,
// plain threads, cancellation, happens-before.
#include <weft/runtime.hpp>
#include <weft/sync.hpp>

#include "sync_test.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <system_error>
#include <thread>
#include <vector>

using weft::join_handle;
using weft::task;
using weft::sync::event;
using weft::testing::run_on;
using namespace std::chrono_literals;

TEST_CASE(
    "set releases every waiter and later waits complete at once: reset re-arms", "[sync][event]") {
    run_on(weft::testing::test_workers(2), []() -> task<> {
        event ev;
        int payload = 0; // plain write before set(), read after wait()
        std::vector<join_handle<int>> hs;
        for (int i = 0; i < 10; ++i) {
            hs.push_back(weft::spawn([](event* e, int* p) -> task<int> {
                auto r = co_await e->wait();
                co_return r&&* p == 7 ? 0 : 1;
            }(&ev, &payload)));
        }
        co_await weft::sleep_for(2ms);
        payload = 7;
        ev.set();
        int bad = 0;
        for (auto& h : hs) {
            bad += co_await h;
        }
        CHECK(bad == 0);
        CHECK(ev.is_set());
        auto again = co_await ev.wait();
        CHECK(again.has_value());
        ev.reset();
        CHECK_FALSE(ev.is_set());
        auto timed = co_await weft::with_timeout(
            3ms, [](event* e) -> task<weft::result<void>> { co_return co_await e->wait(); }(&ev));
        CHECK(timed.error() == std::errc::timed_out);
    });
}

TEST_CASE(
    "a plain thread sets an event that tasks wait for, and waits for one tasks set",
    "[sync][event]") {
    event from_thread;
    event from_task;
    std::thread t([&] {
        from_thread.set();
        from_task.blocking_wait();
    });
    run_on(weft::testing::one_worker, [&]() -> task<> {
        auto r = co_await from_thread.wait();
        CHECK(r.has_value());
        from_task.set();
    });
    t.join();
    CHECK(from_task.is_set());
}

TEST_CASE("a cancelled event wait reports the error", "[sync][event]") {
    run_on(weft::testing::test_workers(2), []() -> task<> {
        event ev;
        auto h = weft::spawn([](event* e) -> task<std::error_code> {
            auto r = co_await e->wait();
            co_return r ? std::error_code{} : r.error();
        }(&ev));
        co_await weft::sleep_for(2ms);
        h.cancel();
        const std::error_code ec = co_await h;
        CHECK(ec == std::errc::operation_canceled);
    });
}

TEST_CASE(
    "stress: set() leaves the event alone once a waiter may have returned and freed it",
    "[.][stress][sync][event]") {
    const int rounds = weft::testing::stress_iters(200) * 10;
    const int failed = weft::testing::last_touch_stress(
        rounds,
        [] { return new event; },
        [](event& ev) { return ev.is_set(); },
        [](event& ev) { ev.set(); },
        [](event& ev) -> task<bool> { co_return (co_await ev.wait()).has_value(); });
    CHECK(failed == 0);
}

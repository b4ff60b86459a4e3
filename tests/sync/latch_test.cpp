// weft::sync::latch: count_down to zero releases every waiter, arrive_and_wait, try_wait, plain
// threads, cancellation, misuse.
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
using weft::sync::latch;
using weft::testing::run_on;
using namespace std::chrono_literals;

TEST_CASE("a latch releases its waiters when the count reaches zero", "[sync][latch]") {
    run_on(weft::testing::test_workers(2), []() -> task<> {
        latch l(5);
        std::vector<int> slots(5, 0);
        std::vector<join_handle<int>> hs;
        for (int i = 0; i < 5; ++i) {
            hs.push_back(weft::spawn([](latch* lt, std::vector<int>* s, int k) -> task<int> {
                (*s)[static_cast<std::size_t>(k)] = k + 1; // plain write before arriving
                auto r = co_await lt->arrive_and_wait();
                co_return r ? 0 : 1;
            }(&l, &slots, i)));
        }
        auto r = co_await l.wait();
        CHECK(r.has_value());
        CHECK(l.try_wait());
        bool all = true;
        for (int i = 0; i < 5; ++i) {
            all = all && slots[static_cast<std::size_t>(i)] == i + 1;
        }
        CHECK(all);
        int bad = 0;
        for (auto& h : hs) {
            bad += co_await h;
        }
        CHECK(bad == 0);
    });
}

TEST_CASE("count_down from plain threads, blocking_wait on one", "[sync][latch]") {
    latch l(4);
    std::vector<std::thread> ts;
    for (int i = 0; i < 3; ++i) {
        ts.emplace_back([&] { l.count_down(); });
    }
    std::thread waiter([&] { l.blocking_wait(); });
    run_on(weft::testing::one_worker, [&]() -> task<> {
        l.count_down();
        auto r = co_await l.wait();
        CHECK(r.has_value());
    });
    for (auto& t : ts) {
        t.join();
    }
    waiter.join();
    CHECK(l.try_wait());
}

TEST_CASE("a cancelled latch wait reports the error", "[sync][latch]") {
    run_on(weft::testing::test_workers(2), []() -> task<> {
        latch l(1);
        auto h = weft::spawn([](latch* lt) -> task<std::error_code> {
            auto r = co_await lt->wait();
            co_return r ? std::error_code{} : r.error();
        }(&l));
        co_await weft::sleep_for(2ms);
        h.cancel();
        const std::error_code ec = co_await h;
        CHECK(ec == std::errc::operation_canceled);
        l.count_down();
    });
}

TEST_CASE(
    "with_timeout on a latch wait reports timed_out: the latch still opens", "[sync][latch]") {
    run_on(weft::testing::test_workers(2), []() -> task<> {
        latch l(2);
        auto waiter = [](latch* lt) -> task<weft::result<void>> { co_return co_await lt->wait(); };
        auto r = co_await weft::with_timeout(3ms, waiter(&l));
        CHECK(r.error() == std::errc::timed_out);
        CHECK_FALSE(l.try_wait());
        auto h = weft::spawn(waiter(&l));
        l.count_down(2);
        auto later = co_await h;
        CHECK(later.has_value());
        CHECK(l.try_wait());
    });
}

TEST_CASE(
    "misuse: counting a latch down below zero aborts with a message", "[sync][latch][death]") {
    auto out = weft::testing::run_in_child([] {
        latch l(1);
        l.count_down(2);
    });
    CHECK(out.died());
    CHECK(out.err.find("count_down below zero") != std::string::npos);
}

TEST_CASE(
    "stress: count_down() leaves the latch alone once a waiter may have returned and freed it",
    "[.][stress][sync][latch]") {
    const int rounds = weft::testing::stress_iters(200) * 10;
    const int failed = weft::testing::last_touch_stress(
        rounds,
        [] { return new latch(1); },
        [](latch& l) { return l.try_wait(); },
        [](latch& l) { l.count_down(); },
        [](latch& l) -> task<bool> { co_return (co_await l.wait()).has_value(); });
    CHECK(failed == 0);
}

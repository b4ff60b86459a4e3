// weft::sync::wait_group: waiting for a set of tasks, reuse, plain threads, cancellation,
// happens-before, the negative-counter misuse (Go's panic) and the deadlock report.
#include <weft/runtime.hpp>
#include <weft/sync.hpp>

#include "sync_test.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <system_error>
#include <thread>
#include <vector>

using weft::task;
using weft::sync::wait_group;
using weft::testing::run_on;
using namespace std::chrono_literals;

namespace {

task<int> worker(wait_group* wg, std::vector<int>* slots, int i) {
    co_await weft::sleep_for(std::chrono::microseconds(100 * (i % 7)));
    (*slots)[static_cast<std::size_t>(i)] = i + 1; // plain write, read after wait()
    wg->done();
    co_return 0;
}

} // namespace

TEST_CASE(
    "wait returns once every added task has called done, and the group is reusable",
    "[sync][wait_group]") {
    run_on(weft::testing::test_workers(2), []() -> task<> {
        wait_group wg;
        auto ready = co_await wg.wait(); // zero: at once
        CHECK(ready.has_value());
        for (int round = 0; round < 3; ++round) {
            std::vector<int> slots(100, 0);
            for (int i = 0; i < 100; ++i) {
                wg.add(1);
                weft::go(worker(&wg, &slots, i));
            }
            auto r = co_await wg.wait();
            CHECK(r.has_value());
            CHECK(wg.count() == 0);
            bool all = true;
            for (int i = 0; i < 100; ++i) {
                all = all && slots[static_cast<std::size_t>(i)] == i + 1;
            }
            CHECK(all); // happens-before: every done() before wait() returned
        }
    });
}

TEST_CASE("several tasks may wait on one group", "[sync][wait_group]") {
    run_on(weft::testing::test_workers(2), []() -> task<> {
        wait_group wg;
        wg.add(1);
        std::vector<weft::join_handle<int>> hs;
        for (int i = 0; i < 10; ++i) {
            hs.push_back(weft::spawn([](wait_group* g) -> task<int> {
                auto r = co_await g->wait();
                co_return r ? 1 : 0;
            }(&wg)));
        }
        co_await weft::sleep_for(2ms);
        wg.done();
        int released = 0;
        for (auto& h : hs) {
            released += co_await h;
        }
        CHECK(released == 10);
    });
}

TEST_CASE("a cancelled wait reports the error and leaves the counter alone", "[sync][wait_group]") {
    run_on(weft::testing::test_workers(2), []() -> task<> {
        wait_group wg;
        wg.add(2);
        auto h = weft::spawn([](wait_group* g) -> task<std::error_code> {
            auto r = co_await g->wait();
            co_return r ? std::error_code{} : r.error();
        }(&wg));
        co_await weft::sleep_for(2ms);
        h.cancel();
        const std::error_code ec = co_await h;
        CHECK(ec == std::errc::operation_canceled);
        CHECK(wg.count() == 2);
        wg.add(-2);
    });
}

TEST_CASE(
    "with_timeout on a wait reports timed_out: a later wait still completes",
    "[sync][wait_group]") {
    run_on(weft::testing::test_workers(2), []() -> task<> {
        wait_group wg;
        wg.add(1);
        auto waiter = [](wait_group* g) -> task<weft::result<void>> {
            co_return co_await g->wait();
        };
        auto r = co_await weft::with_timeout(3ms, waiter(&wg));
        CHECK(r.error() == std::errc::timed_out);
        CHECK(wg.count() == 1);
        auto h = weft::spawn(waiter(&wg));
        co_await weft::yield_now();
        wg.done();
        auto later = co_await h;
        CHECK(later.has_value());
    });
}

TEST_CASE("blocking_wait lets a plain thread wait for tasks", "[sync][wait_group]") {
    wait_group wg;
    wg.add(50);
    std::atomic<bool> saw_zero{false};
    std::thread t([&] {
        wg.blocking_wait();
        saw_zero.store(wg.count() == 0);
    });
    run_on(weft::testing::test_workers(2), [&]() -> task<> {
        for (int i = 0; i < 50; ++i) {
            weft::go([](wait_group* g) -> task<int> {
                co_await weft::yield_now();
                g->done();
                co_return 0;
            }(&wg));
        }
        auto r = co_await wg.wait();
        CHECK(r.has_value());
    });
    t.join();
    CHECK(saw_zero.load());
}

TEST_CASE(
    "stress: done() leaves the group alone once a waiter may have returned and freed it",
    "[.][stress][sync][wait_group]") {
    const int rounds = weft::testing::stress_iters(200) * 10;
    const int failed = weft::testing::last_touch_stress(
        rounds,
        [] {
            auto* wg = new wait_group;
            wg->add(1);
            return wg;
        },
        [](wait_group& wg) { return wg.count() == 0; },
        [](wait_group& wg) { wg.done(); },
        [](wait_group& wg) -> task<bool> { co_return (co_await wg.wait()).has_value(); });
    CHECK(failed == 0);
}

TEST_CASE(
    "misuse: a negative wait_group counter aborts with a message", "[sync][wait_group][death]") {
    auto out = weft::testing::run_in_child([] {
        wait_group wg;
        wg.add(1);
        wg.done();
        wg.done();
    });
    CHECK(out.died());
    CHECK(out.err.find("wait_group: negative counter") != std::string::npos);
}

TEST_CASE("deadlock: a wait nobody will end is reported", "[sync][wait_group][deadlock]") {
    auto out = weft::testing::run_in_child([] {
        try {
            run_on(weft::testing::one_worker, []() -> task<> {
                wait_group wg;
                wg.add(1); // and nobody calls done()
                (void)co_await wg.wait();
            });
        } catch (const std::system_error& e) {
            std::_Exit(e.code() == weft::errc::deadlock ? 3 : 4);
        }
    });
    CHECK(out.exited);
    CHECK(out.status == 3);
    CHECK(out.err.find("1 on other sync primitives") != std::string::npos);
}

// weft::sync::semaphore: counting, FIFO fairness (a large acquire is not starved by small ones),
// cancellation that passes permits on, plain threads, happens-before, misuse.
#include <weft/runtime.hpp>
#include <weft/sync.hpp>

#include "sync_test.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <system_error>
#include <thread>
#include <vector>

using weft::join_handle;
using weft::result;
using weft::task;
using weft::sync::semaphore;
using weft::testing::run_on;
using namespace std::chrono_literals;

namespace {

task<int> limited(semaphore* s, std::atomic<int>* inside, std::atomic<int>* peak, int rounds) {
    for (int i = 0; i < rounds; ++i) {
        auto r = co_await s->acquire();
        if (!r) {
            co_return -1;
        }
        const int now = inside->fetch_add(1) + 1;
        int p = peak->load();
        while (now > p && !peak->compare_exchange_weak(p, now)) {
        }
        co_await weft::yield_now();
        inside->fetch_sub(1);
        s->release();
    }
    co_return 0;
}

task<int> acquire_n(semaphore* s, std::uint64_t n, std::vector<int>* order, int id) {
    auto r = co_await s->acquire(n);
    if (!r) {
        co_return -1;
    }
    order->push_back(id); // written by the task that holds the permits (tests run them one by one)
    co_return 0;
}

} // namespace

TEST_CASE("a semaphore bounds concurrency to its permits", "[sync][semaphore]") {
    std::atomic<int> inside{0};
    std::atomic<int> peak{0};
    run_on(weft::testing::test_workers(2), [&]() -> task<> {
        semaphore s(3);
        std::vector<join_handle<int>> hs;
        for (int t = 0; t < 50; ++t) {
            hs.push_back(weft::spawn(limited(&s, &inside, &peak, 50)));
        }
        for (auto& h : hs) {
            const int r = co_await h;
            CHECK(r == 0);
        }
        CHECK(s.available() == 3);
    });
    CHECK(peak.load() <= 3);
    CHECK(peak.load() >= 1);
}

TEST_CASE("acquire(n), try_acquire, release(n)", "[sync][semaphore]") {
    run_on(weft::testing::one_worker, []() -> task<> {
        semaphore s(5);
        CHECK(s.try_acquire(3));
        CHECK_FALSE(s.try_acquire(3));
        CHECK(s.available() == 2);
        auto r = co_await s.acquire(2);
        CHECK(r.has_value());
        CHECK(s.available() == 0);
        s.release(5);
        CHECK(s.available() == 5);
    });
}

TEST_CASE(
    "first come, first served: a large acquire is not starved by small ones", "[sync][semaphore]") {
    run_on(weft::testing::one_worker, []() -> task<> {
        semaphore s(0);
        std::vector<int> order;
        auto big = weft::spawn(acquire_n(&s, 4, &order, 1));
        co_await weft::yield_now();
        co_await weft::yield_now();
        auto small = weft::spawn(acquire_n(&s, 1, &order, 2));
        co_await weft::yield_now();
        co_await weft::yield_now();
        // One permit at a time: the small acquire could go at once, but it queued behind the big
        // one, which gets the first four.
        for (int i = 0; i < 4; ++i) {
            s.release();
            co_await weft::yield_now();
        }
        CHECK(order == std::vector<int>{1});
        CHECK_FALSE(s.try_acquire()); // queued waiters go first
        s.release();
        co_await big;
        co_await small;
        CHECK(order == std::vector<int>{1, 2});
    });
}

TEST_CASE(
    "a cancelled head of the queue passes the permits on to those behind it", "[sync][semaphore]") {
    run_on(weft::testing::one_worker, []() -> task<> {
        semaphore s(2);
        std::vector<int> order;
        auto big = weft::spawn(acquire_n(&s, 3, &order, 1));
        co_await weft::yield_now();
        auto small = weft::spawn(acquire_n(&s, 2, &order, 2));
        co_await weft::yield_now();
        CHECK(order.empty()); // big waits for a third permit; small queues behind it
        big.cancel();
        const int r1 = co_await big;
        CHECK(r1 == -1);
        const int r2 = co_await small; // got the two permits big was holding up
        CHECK(r2 == 0);
        CHECK(order == std::vector<int>{2});
        CHECK(s.available() == 0);
    });
}

TEST_CASE("with_timeout on an acquire reports timed_out and holds nothing", "[sync][semaphore]") {
    run_on(weft::testing::test_workers(2), []() -> task<> {
        semaphore s(1);
        auto body = [](semaphore* sem) -> task<result<int>> {
            auto r = co_await sem->acquire(2);
            if (!r) {
                co_return r.error();
            }
            co_return 2;
        };
        result<int> r = co_await weft::with_timeout(5ms, body(&s));
        CHECK(r.error() == std::errc::timed_out);
        CHECK(s.available() == 1);
        CHECK(s.try_acquire());
    });
}

TEST_CASE("blocking_acquire from plain threads and release from tasks", "[sync][semaphore]") {
    semaphore s(0);
    std::atomic<int> got{0};
    std::vector<std::thread> ts;
    for (int i = 0; i < 4; ++i) {
        ts.emplace_back([&] {
            for (int k = 0; k < 100; ++k) {
                s.blocking_acquire();
                got.fetch_add(1);
            }
        });
    }
    run_on(weft::testing::test_workers(2), [&]() -> task<> {
        for (int i = 0; i < 400; ++i) {
            s.release();
            if (i % 16 == 0) {
                co_await weft::yield_now();
            }
        }
    });
    for (auto& t : ts) {
        t.join();
    }
    CHECK(got == 400);
}

TEST_CASE(
    "happens-before: a release is seen by the acquire that takes its permit", "[sync][semaphore]") {
    run_on(weft::testing::test_workers(2), []() -> task<> {
        semaphore s(0);
        int payload = 0; // plain
        auto producer = [](semaphore* sem, int* p) -> task<int> {
            *p = 42;
            sem->release();
            co_return 0;
        };
        auto h = weft::spawn(producer(&s, &payload));
        auto r = co_await s.acquire();
        CHECK(r.has_value());
        CHECK(payload == 42);
        co_await h;
    });
}

TEST_CASE("misuse: releasing past the maximum aborts with a message", "[sync][semaphore][death]") {
    auto out = weft::testing::run_in_child([] {
        semaphore s(semaphore::max_permits);
        s.release();
    });
    CHECK(out.died());
    CHECK(out.err.find("release beyond max_permits") != std::string::npos);
}

TEST_CASE("stress: semaphore with cancellations", "[.][stress][sync][semaphore]") {
    const int iters = weft::testing::stress_iters(20);
    for (int it = 0; it < iters; ++it) {
        std::atomic<int> inside{0};
        std::atomic<int> peak{0};
        run_on(weft::testing::test_workers(2), [&]() -> task<> {
            semaphore s(2);
            std::vector<join_handle<int>> hs;
            for (int t = 0; t < 32; ++t) {
                hs.push_back(weft::spawn(limited(&s, &inside, &peak, 20)));
            }
            for (int t = 0; t < 32; t += 3) {
                co_await weft::sleep_for(50us);
                hs[static_cast<std::size_t>(t)].cancel();
            }
            for (auto& h : hs) {
                co_await h;
            }
            CHECK(s.available() == 2);
        });
        CHECK(peak.load() <= 2);
    }
}

TEST_CASE(
    "stress: release() leaves the semaphore alone once an acquirer may have returned and freed it",
    "[.][stress][sync][semaphore]") {
    const int rounds = weft::testing::stress_iters(200) * 10;
    const int failed = weft::testing::last_touch_stress(
        rounds,
        [] { return new semaphore(0); },
        [](semaphore& s) { return s.available() > 0; },
        [](semaphore& s) { s.release(); },
        [](semaphore& s) -> task<bool> { co_return (co_await s.acquire()).has_value(); });
    CHECK(failed == 0);
}

// weft::sync::mutex: mutual exclusion and no starvation under 1,000 contending tasks, guards,
// try_lock, cancellation and timeouts, plain threads, happens-before, misuse and deadlock reports.
#include <weft/runtime.hpp>
#include <weft/sync.hpp>

#include "sync_test.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <system_error>
#include <thread>
#include <vector>

using weft::join_handle;
using weft::result;
using weft::task;
using weft::sync::mutex;
using weft::sync::unique_guard;
using weft::testing::run_on;
using namespace std::chrono_literals;

namespace {

struct shared_state {
    mutex m;
    std::int64_t counter = 0;   // guarded by m (a plain variable: TSan checks the exclusion)
    std::atomic<int> inside{0}; // tasks inside the critical section right now
    std::atomic<int> max_inside{0};
    std::atomic<std::int64_t> max_wait_ns{0};
};

task<int> contender(shared_state* s, int iters, bool yield_inside) {
    for (int i = 0; i < iters; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        auto g = co_await s->m.lock();
        if (!g) {
            co_return -1;
        }
        const std::int64_t waited = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now() - t0)
                                        .count();
        std::int64_t prev = s->max_wait_ns.load();
        while (waited > prev && !s->max_wait_ns.compare_exchange_weak(prev, waited)) {
        }
        const int now = s->inside.fetch_add(1) + 1;
        int m = s->max_inside.load();
        while (now > m && !s->max_inside.compare_exchange_weak(m, now)) {
        }
        ++s->counter;
        if (yield_inside) {
            co_await weft::yield_now(); // hold the lock across a task switch: others must queue
        }
        s->inside.fetch_sub(1);
    }
    co_return 0;
}

} // namespace

TEST_CASE("lock, unlock, guards and try_lock", "[sync][mutex]") {
    run_on(weft::testing::one_worker, []() -> task<> {
        mutex m;
        {
            auto g = co_await m.lock();
            REQUIRE(g.has_value());
            CHECK(g->owns_lock());
            CHECK(m.is_locked());
            CHECK_FALSE(m.try_lock());
        }
        CHECK_FALSE(m.is_locked());
        CHECK(m.try_lock());
        m.unlock();
        auto g = co_await m.lock();
        REQUIRE(g);
        unique_guard<mutex> moved = std::move(*g);
        CHECK_FALSE(g->owns_lock());
        moved.unlock();
        CHECK_FALSE(m.is_locked());
    });
}

TEST_CASE("mutual exclusion under 1,000 contending tasks", "[sync][mutex]") {
    const int iters = weft::testing::under_sanitizer ? 20 : 100;
    for (bool yield_inside : {false, true}) {
        INFO((yield_inside ? "holding the lock across a task switch" : "short critical sections"));
        shared_state s;
        run_on(weft::testing::test_workers(2), [&]() -> task<> {
            std::vector<join_handle<int>> hs;
            hs.reserve(1000);
            for (int t = 0; t < 1000; ++t) {
                hs.push_back(weft::spawn(contender(&s, iters, yield_inside)));
            }
            for (auto& h : hs) {
                const int r = co_await h;
                CHECK(r == 0);
            }
        });
        CHECK(s.counter == 1000 * iters);
        CHECK(s.max_inside == 1);
        CHECK_FALSE(s.m.is_locked());
    }
}

namespace {

// Locks and unlocks (holding the lock across a task switch, so that there is always a queue)
// until told to stop, or until a generous deadline passes (so that a starving test ends).
task<int>
hammer(shared_state* s, std::atomic<bool>* stop, std::chrono::steady_clock::time_point deadline) {
    while (!stop->load(std::memory_order_relaxed) && std::chrono::steady_clock::now() < deadline) {
        auto g = co_await s->m.lock();
        if (!g) {
            co_return -1;
        }
        ++s->counter;
        co_await weft::yield_now();
    }
    co_return 0;
}

task<std::int64_t> victim(shared_state* s) {
    const auto t0 = std::chrono::steady_clock::now();
    auto g = co_await s->m.lock();
    const auto waited = std::chrono::steady_clock::now() - t0;
    co_return g ? std::chrono::duration_cast<std::chrono::microseconds>(waited).count() : -1;
}

} // namespace

TEST_CASE(
    "no waiter starves: a lock requested among 1,000 tasks that never stop locking is granted soon",
    "[sync][mutex]") {
    shared_state s;
    std::vector<std::int64_t> waits;
    run_on(weft::testing::test_workers(2), [&]() -> task<> {
        std::atomic<bool> stop{false};
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        std::vector<join_handle<int>> hs;
        hs.reserve(1000);
        for (int t = 0; t < 1000; ++t) {
            hs.push_back(weft::spawn(hammer(&s, &stop, deadline)));
        }
        co_await weft::sleep_for(5ms); // the hammering is under way, with a queue
        for (int i = 0; i < 5; ++i) {
            waits.push_back(co_await weft::spawn(victim(&s)));
        }
        stop.store(true);
        for (auto& h : hs) {
            co_await h;
        }
    });
    for (std::int64_t w : waits) {
        INFO("waited " << w << " us for one lock");
        CHECK(w >= 0);
        // Go's bound: 1 ms, then hand-off in queue order (about 1,000 short holds). Starved, it
        // would wait until the 20 s deadline.
        CHECK(w < 2'000'000);
    }
}

TEST_CASE(
    "a waiting lock is cancelled: operation_canceled, nothing held, the mutex unaffected",
    "[sync][mutex]") {
    run_on(weft::testing::test_workers(2), []() -> task<> {
        mutex m;
        auto g = co_await m.lock();
        REQUIRE(g);
        auto waiter = [](mutex* mx) -> task<std::error_code> {
            auto r = co_await mx->lock();
            co_return r ? std::error_code{} : r.error();
        };
        auto h = weft::spawn(waiter(&m));
        co_await weft::sleep_for(3ms);
        h.cancel();
        const std::error_code ec = co_await h;
        CHECK(ec == std::errc::operation_canceled);
        CHECK(m.is_locked()); // still ours
        g->unlock();
        CHECK(m.try_lock()); // nobody took it behind our back
        m.unlock();
    });
}

TEST_CASE("with_timeout on a contended lock reports timed_out", "[sync][mutex]") {
    run_on(weft::testing::test_workers(2), []() -> task<> {
        mutex m;
        auto g = co_await m.lock();
        REQUIRE(g);
        auto locker = [](mutex* mx) -> task<result<int>> {
            auto r = co_await mx->lock();
            if (!r) {
                co_return r.error();
            }
            co_return 1;
        };
        result<int> r = co_await weft::with_timeout(5ms, locker(&m));
        CHECK(r.error() == std::errc::timed_out);
    });
}

TEST_CASE("cancellations mixed into heavy contention leave the mutex consistent", "[sync][mutex]") {
    shared_state s;
    std::atomic<int> cancelled{0};
    run_on(weft::testing::test_workers(2), [&]() -> task<> {
        auto body = [](shared_state* st, std::atomic<int>* c) -> task<int> {
            for (int i = 0; i < 200; ++i) {
                auto g = co_await st->m.lock();
                if (!g) {
                    c->fetch_add(1);
                    co_return 1;
                }
                ++st->counter;
                co_await weft::yield_now();
            }
            co_return 0;
        };
        std::vector<join_handle<int>> hs;
        for (int t = 0; t < 64; ++t) {
            hs.push_back(weft::spawn(body(&s, &cancelled)));
        }
        for (int t = 0; t < 64; t += 2) {
            co_await weft::sleep_for(100us);
            hs[static_cast<std::size_t>(t)].cancel();
        }
        int finished = 0;
        for (auto& h : hs) {
            finished += (co_await h) == 0;
        }
        CHECK(finished >= 32);
        auto g = co_await s.m.lock(); // still usable
        CHECK(g.has_value());
    });
    CHECK_FALSE(s.m.is_locked());
}

TEST_CASE(
    "blocking_lock excludes tasks from plain threads, and unlock works across them",
    "[sync][mutex]") {
    shared_state s;
    std::atomic<bool> stop{false};
    std::thread plain([&] {
        for (int i = 0; i < 2000; ++i) {
            auto g = s.m.blocking_lock();
            const int now = s.inside.fetch_add(1) + 1;
            int m = s.max_inside.load();
            while (now > m && !s.max_inside.compare_exchange_weak(m, now)) {
            }
            ++s.counter;
            s.inside.fetch_sub(1);
        }
        stop.store(true);
    });
    run_on(weft::testing::test_workers(2), [&]() -> task<> {
        std::vector<join_handle<int>> hs;
        for (int t = 0; t < 8; ++t) {
            hs.push_back(weft::spawn(contender(&s, 500, true)));
        }
        for (auto& h : hs) {
            co_await h;
        }
    });
    plain.join();
    CHECK(s.counter == 2000 + 8 * 500);
    CHECK(s.max_inside == 1);
}

TEST_CASE("happens-before: writes under the lock are seen by the next holder", "[sync][mutex]") {
    run_on(weft::testing::test_workers(2), []() -> task<> {
        mutex m;
        std::vector<int> data; // guarded by m
        auto writer = [](mutex* mx, std::vector<int>* d, int base) -> task<int> {
            for (int i = 0; i < 500; ++i) {
                auto g = co_await mx->lock();
                d->push_back(base + i);
            }
            co_return 0;
        };
        auto a = weft::spawn(writer(&m, &data, 0));
        auto b = weft::spawn(writer(&m, &data, 1000));
        co_await a;
        co_await b;
        auto g = co_await m.lock();
        CHECK(data.size() == 1000);
    });
}

TEST_CASE("misuse: unlocking an unlocked mutex aborts with a message", "[sync][mutex][death]") {
    auto out = weft::testing::run_in_child([] {
        mutex m;
        m.unlock();
    });
    CHECK(out.died());
    CHECK(out.err.find("unlock of an unlocked mutex") != std::string::npos);
}

TEST_CASE("misuse: destroying a locked mutex aborts with a message", "[sync][mutex][death]") {
    auto out = weft::testing::run_in_child([] {
        auto* m = new mutex;
        REQUIRE(m->try_lock());
        delete m;
    });
    CHECK(out.died());
    CHECK(out.err.find("mutex destroyed while locked") != std::string::npos);
}

TEST_CASE(
    "deadlock: a task waiting for a mutex its joiner holds is reported",
    "[sync][mutex][deadlock]") {
    auto out = weft::testing::run_in_child([] {
        try {
            run_on(weft::testing::test_workers(2), []() -> task<> {
                mutex m;
                auto g = co_await m.lock();
                auto h = weft::spawn([](mutex* mx) -> task<int> {
                    auto r = co_await mx->lock(); // held by the task that joins us
                    co_return r ? 0 : 1;
                }(&m));
                co_await h; // never finishes
            });
        } catch (const std::system_error& e) {
            std::_Exit(e.code() == weft::errc::deadlock ? 3 : 4);
        }
    });
    CHECK(out.exited);
    CHECK(out.status == 3);
    CHECK(out.err.find("all tasks are asleep - deadlock!") != std::string::npos);
    CHECK(out.err.find("1 joining") != std::string::npos);
    CHECK(out.err.find("1 on mutexes") != std::string::npos);
}

TEST_CASE("stress: contention, hand-off and cancellation", "[.][stress][sync][mutex]") {
    const int iters = weft::testing::stress_iters(20);
    for (int it = 0; it < iters; ++it) {
        shared_state s;
        std::atomic<int> failed{0};
        run_on(weft::testing::test_workers(2), [&]() -> task<> {
            auto body = [](shared_state* st, std::atomic<int>* f, int k) -> task<int> {
                for (int i = 0; i < 100; ++i) {
                    auto g = co_await st->m.lock();
                    if (!g) {
                        f->fetch_add(1);
                        co_return 1;
                    }
                    if (st->inside.fetch_add(1) != 0) {
                        st->max_inside.store(2);
                    }
                    ++st->counter;
                    if ((i + k) % 3 == 0) {
                        co_await weft::yield_now(); // long holds: queues, starvation mode
                    }
                    st->inside.fetch_sub(1);
                }
                co_return 0;
            };
            std::vector<join_handle<int>> hs;
            for (int t = 0; t < 48; ++t) {
                hs.push_back(weft::spawn(body(&s, &failed, t)));
            }
            for (int t = 0; t < 48; t += 5) {
                co_await weft::sleep_for(50us);
                hs[static_cast<std::size_t>(t)].cancel();
            }
            for (auto& h : hs) {
                co_await h;
            }
        });
        CHECK(s.max_inside.load() <= 1);
        CHECK_FALSE(s.m.is_locked());
        CHECK(s.counter <= 48 * 100);
        CHECK(s.counter >= (48 - 10) * 100);
    }
}

TEST_CASE(
    "stress: unlock() leaves the mutex alone once a locker may have unlocked and freed it",
    "[.][stress][sync][mutex]") {
    const int rounds = weft::testing::stress_iters(200) * 10;
    const int failed = weft::testing::last_touch_stress(
        rounds,
        [] {
            auto* m = new weft::sync::mutex;
            REQUIRE(m->try_lock());
            return m;
        },
        [](weft::sync::mutex& m) { return !m.is_locked(); },
        [](weft::sync::mutex& m) { m.unlock(); },
        [](weft::sync::mutex& m) -> task<bool> {
            auto g = co_await m.lock();
            co_return g.has_value(); // unlocked here, before the mutex is freed
        });
    CHECK(failed == 0);
}

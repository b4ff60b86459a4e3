// weft::sync::condition_variable: producer/consumer with the predicate form, notify_one and
// notify_all, cancellation that still returns with the lock held, happens-before.
#include <weft/runtime.hpp>
#include <weft/sync.hpp>

#include "sync_test.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <system_error>
#include <vector>

using weft::join_handle;
using weft::result;
using weft::task;
using weft::sync::condition_variable;
using weft::sync::mutex;
using weft::testing::run_on;
using namespace std::chrono_literals;

namespace {

struct queue_state {
    mutex m;
    condition_variable cv;
    std::deque<int> items; // guarded by m
    bool closed = false;   // guarded by m
};

task<long> consume(queue_state* q) {
    long sum = 0;
    for (;;) {
        auto g = co_await q->m.lock();
        if (!g) {
            co_return -1;
        }
        auto r = co_await q->cv.wait(*g, [q] { return !q->items.empty() || q->closed; });
        if (!r) {
            co_return -1;
        }
        if (q->items.empty()) {
            co_return sum; // closed and drained
        }
        sum += q->items.front();
        q->items.pop_front();
    }
}

} // namespace

TEST_CASE(
    "producer and consumers through a condition variable, with the predicate form",
    "[sync][condition_variable]") {
    run_on(weft::testing::test_workers(2), []() -> task<> {
        queue_state q;
        std::vector<join_handle<long>> cons;
        for (int i = 0; i < 4; ++i) {
            cons.push_back(weft::spawn(consume(&q)));
        }
        long expect = 0;
        for (int i = 1; i <= 2000; ++i) {
            {
                auto g = co_await q.m.lock();
                q.items.push_back(i);
            }
            expect += i;
            q.cv.notify_one();
            if (i % 64 == 0) {
                co_await weft::yield_now();
            }
        }
        {
            auto g = co_await q.m.lock();
            q.closed = true;
        }
        q.cv.notify_all();
        long sum = 0;
        for (auto& h : cons) {
            const long s = co_await h;
            CHECK(s >= 0);
            sum += s;
        }
        CHECK(sum == expect);
    });
}

TEST_CASE(
    "notify_all wakes every waiter: each returns holding the lock", "[sync][condition_variable]") {
    run_on(weft::testing::test_workers(2), []() -> task<> {
        mutex m;
        condition_variable cv;
        bool go = false;
        std::atomic<int> holding{0};
        std::atomic<bool> overlap{false};
        auto waiter = [](mutex* mx,
                         condition_variable* c,
                         bool* flag,
                         std::atomic<int>* hold,
                         std::atomic<bool>* ov) -> task<int> {
            auto g = co_await mx->lock();
            if (!g) {
                co_return 1;
            }
            auto r = co_await c->wait(*g, [flag] { return *flag; });
            if (hold->fetch_add(1) != 0 || !mx->is_locked()) {
                ov->store(true);
            }
            co_await weft::yield_now();
            hold->fetch_sub(1);
            co_return r ? 0 : 1;
        };
        std::vector<join_handle<int>> hs;
        for (int i = 0; i < 8; ++i) {
            hs.push_back(weft::spawn(waiter(&m, &cv, &go, &holding, &overlap)));
        }
        co_await weft::sleep_for(3ms);
        {
            auto g = co_await m.lock();
            go = true;
        }
        cv.notify_all();
        int bad = 0;
        for (auto& h : hs) {
            bad += co_await h;
        }
        CHECK(bad == 0);
        CHECK_FALSE(overlap.load());
    });
}

TEST_CASE(
    "a cancelled wait returns the error with the lock held again", "[sync][condition_variable]") {
    run_on(weft::testing::test_workers(2), []() -> task<> {
        mutex m;
        condition_variable cv;
        std::atomic<bool> started{false};
        auto body = [](mutex* mx, condition_variable* c, std::atomic<bool>* st) -> task<int> {
            st->store(true);
            auto g = co_await mx->lock();
            if (!g) {
                co_return 1;
            }
            auto r = co_await c->wait(*g);
            if (r || r.error() != std::errc::operation_canceled) {
                co_return 2;
            }
            co_return g->owns_lock() && mx->is_locked() ? 0 : 3;
        };
        auto h = weft::spawn(body(&m, &cv, &started));
        // Started (a task cancelled before it starts never runs); then most likely waiting.
        co_await weft::testing::yield_until([&] { return started.load(); });
        // sleep-ok: lets the task reach the wait; correctness does not depend on it.
        co_await weft::sleep_for(3ms);
        h.cancel();
        const int r = co_await h;
        CHECK(r == 0);
        CHECK_FALSE(m.is_locked()); // the guard in the task released it when the task ended
    });
}

TEST_CASE("with_timeout on a predicate wait reports timed_out", "[sync][condition_variable]") {
    run_on(weft::testing::test_workers(2), []() -> task<> {
        mutex m;
        condition_variable cv;
        auto body = [](mutex* mx, condition_variable* c) -> task<result<int>> {
            auto g = co_await mx->lock();
            if (!g) {
                co_return g.error();
            }
            auto r = co_await c->wait(*g, [] { return false; });
            if (!r) {
                co_return r.error();
            }
            co_return 0;
        };
        result<int> r = co_await weft::with_timeout(5ms, body(&m, &cv));
        CHECK(r.error() == std::errc::timed_out);
        CHECK_FALSE(m.is_locked());
    });
}

namespace {

// Like consume(), but counts into `total` item by item, so that what a consumer took before it was
// cancelled is counted too.
task<int> consume_into(queue_state* q, std::atomic<long>* total) {
    for (;;) {
        auto g = co_await q->m.lock();
        if (!g) {
            co_return 1;
        }
        auto r = co_await q->cv.wait(*g, [q] { return !q->items.empty() || q->closed; });
        if (!r) {
            co_return 1;
        }
        if (q->items.empty()) {
            co_return 0;
        }
        total->fetch_add(q->items.front());
        q->items.pop_front();
    }
}

} // namespace

TEST_CASE(
    "stress: producers and consumers through a condition variable, with cancellations",
    "[.][stress][sync][condition_variable]") {
    const int iters = weft::testing::stress_iters(20);
    for (int it = 0; it < iters; ++it) {
        std::atomic<long> total{0};
        long expect = 0;
        int unexpected = 0;
        run_on(weft::testing::test_workers(2), [&]() -> task<> {
            queue_state q;
            std::vector<join_handle<int>> cons;
            for (int i = 0; i < 6; ++i) {
                cons.push_back(weft::spawn(consume_into(&q, &total)));
            }
            for (int i = 1; i <= 500; ++i) {
                {
                    auto g = co_await q.m.lock();
                    q.items.push_back(i);
                }
                expect += i;
                if (i % 7 == 0) {
                    q.cv.notify_all();
                } else {
                    q.cv.notify_one();
                }
                if (i == 250) {
                    cons[5].cancel(); // one consumer leaves; the others must still get the rest
                }
            }
            {
                auto g = co_await q.m.lock();
                q.closed = true;
            }
            q.cv.notify_all();
            for (std::size_t i = 0; i < cons.size(); ++i) {
                try {
                    co_await cons[i];
                } catch (const weft::cancelled_error&) {
                    // Only the cancelled consumer, and only if it was cancelled before it
                    // started: then it never ran and took nothing.
                    unexpected += i == 5 ? 0 : 1;
                }
            }
        });
        CHECK(unexpected == 0);
        CHECK(total.load() == expect);
    }
}

// weft::sync::pool: lazy creation and reuse, the size limit under many tasks on several workers,
// FIFO service, timeouts, cancellation, discard, factory failures, and what destruction frees.
#include <weft/runtime.hpp>
#include <weft/sync.hpp>

#include "sync_test.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <vector>

using weft::join_handle;
using weft::result;
using weft::task;
using weft::sync::pool;
using weft::testing::run_on;
using namespace std::chrono_literals;

namespace {

/// A resource that counts how many of its kind are alive.
struct conn {
    int id = 0;
    std::shared_ptr<std::atomic<int>> alive;
    conn(int i, std::shared_ptr<std::atomic<int>> a)
        : id(i)
        , alive(std::move(a)) {
        alive->fetch_add(1);
    }
    conn(conn&& o) noexcept
        : id(o.id)
        , alive(std::move(o.alive)) {}
    conn& operator=(conn&&) = delete;
    ~conn() {
        if (alive) {
            alive->fetch_sub(1);
        }
    }
};

/// A factory that numbers the resources it makes; fails (or throws) the calls listed.
struct counting_factory {
    std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
    std::shared_ptr<std::atomic<int>> alive = std::make_shared<std::atomic<int>>(0);
    int fail_call = -1;  // this call returns an error
    int throw_call = -1; // this one throws

    pool<conn>::factory fn() const {
        return [c = calls, a = alive, f = fail_call, t = throw_call]() -> task<result<conn>> {
            const int n = c->fetch_add(1);
            co_await weft::yield_now(); // a factory suspends, as a connect would
            if (n == f) {
                co_return std::errc::connection_refused;
            }
            if (n == t) {
                throw std::runtime_error("factory threw");
            }
            co_return conn(n, a);
        };
    }
};

task<int>
hold_and_report(pool<conn>& p, std::atomic<int>& inside, std::atomic<int>& most, int rounds) {
    int errors = 0;
    for (int i = 0; i < rounds; ++i) {
        auto h = co_await p.acquire();
        if (!h) {
            ++errors;
            continue;
        }
        const int now = inside.fetch_add(1) + 1;
        int m = most.load();
        while (now > m && !most.compare_exchange_weak(m, now)) {
        }
        co_await weft::yield_now(); // hold it across a suspension
        inside.fetch_sub(1);
    }
    co_return errors;
}

} // namespace

TEST_CASE("resources are made on demand and reused, most recent first", "[sync][pool]") {
    counting_factory f;
    run_on(weft::testing::test_workers(2), [&]() -> task<> {
        pool<conn> p(4, f.fn());
        CHECK(p.metrics().made == 0);
        {
            auto a = co_await p.acquire();
            REQUIRE(a);
            CHECK((*a)->id == 0);
            auto b = co_await p.acquire();
            REQUIRE(b);
            CHECK((*b)->id == 1);
            CHECK(p.metrics().in_use == 2);
        } // b returned last, then a
        auto m = p.metrics();
        CHECK(m.in_use == 0);
        CHECK(m.idle == 2);
        CHECK(m.made == 2);
        auto c = co_await p.acquire();
        REQUIRE(c);
        CHECK((*c)->id == 0); // a went back last: the most recently returned comes first
        CHECK(f.calls->load() == 2);
    });
    CHECK(f.alive->load() == 0); // the pool's destruction destroyed the idle ones
}

TEST_CASE(
    "stress: the size limit holds for many tasks on several workers", "[sync][pool][stress]") {
    const int tasks = 64;
    const int rounds = weft::testing::under_sanitizer ? 20 : 200;
    counting_factory f;
    std::atomic<int> inside{0}, most{0};
    int errors = 0;
    run_on(weft::testing::test_workers(4), [&]() -> task<> {
        pool<conn> p(5, f.fn());
        std::vector<join_handle<int>> hs;
        for (int t = 0; t < tasks; ++t) {
            hs.push_back(weft::spawn(hold_and_report(p, inside, most, rounds)));
        }
        for (auto& h : hs) {
            errors += co_await h;
        }
        auto m = p.metrics();
        CHECK(m.in_use == 0);
        CHECK(m.waiting == 0);
        CHECK(m.made <= 5);
        CHECK(m.idle == m.made);
    });
    CHECK(errors == 0);
    CHECK(most.load() <= 5);
    CHECK(most.load() >= 1);
    CHECK(f.calls->load() <= 5);
    CHECK(f.alive->load() == 0);
}

TEST_CASE("waiters are served first come, first served", "[sync][pool]") {
    counting_factory f;
    std::vector<int> order;
    run_on(weft::testing::one_worker, [&]() -> task<> {
        pool<conn> p(1, f.fn());
        auto held = co_await p.acquire();
        REQUIRE(held);
        std::vector<join_handle<>> ws;
        for (int i = 0; i < 5; ++i) {
            ws.push_back(weft::spawn([](pool<conn>& pl, std::vector<int>& out, int me) -> task<> {
                auto h = co_await pl.acquire();
                REQUIRE(h);
                out.push_back(me);
            }(p, order, i)));
            co_await weft::yield_now(); // one worker: waiter i queues before i + 1 starts
        }
        CHECK(p.metrics().waiting == 5);
        { auto drop = std::move(*held); }
        for (auto& w : ws) {
            co_await w;
        }
    });
    CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
}

TEST_CASE("an acquire that times out or is cancelled holds no slot", "[sync][pool]") {
    counting_factory f;
    run_on(weft::testing::test_workers(2), [&]() -> task<> {
        pool<conn> p(1, f.fn());
        auto held = co_await p.acquire();
        REQUIRE(held);
        auto late = co_await p.acquire(5ms);
        REQUIRE_FALSE(late);
        CHECK(late.error() == std::errc::timed_out);
        auto waiter = weft::spawn(p.acquire());
        co_await weft::yield_now();
        waiter.cancel();
        auto cancelled = co_await waiter;
        REQUIRE_FALSE(cancelled);
        CHECK(cancelled.error() == std::errc::operation_canceled);
        CHECK(p.metrics().waiting == 0);
        { auto drop = std::move(*held); }
        auto again = co_await p.acquire(30s); // the only slot was not lost
        REQUIRE(again);
        CHECK(p.metrics().in_use == 1);
    });
}

TEST_CASE("discard destroys a broken resource and its slot makes a new one", "[sync][pool]") {
    counting_factory f;
    run_on(weft::testing::test_workers(2), [&]() -> task<> {
        pool<conn> p(1, f.fn());
        auto a = co_await p.acquire();
        REQUIRE(a);
        CHECK((*a)->id == 0);
        a->discard();
        CHECK(f.alive->load() == 0);
        CHECK(p.metrics().in_use == 0);
        CHECK(p.metrics().idle == 0);
        auto b = co_await p.acquire();
        REQUIRE(b);
        CHECK((*b)->id == 1);
        CHECK(p.metrics().made == 2);
    });
}

TEST_CASE(
    "a factory that fails or throws frees its slot and reports to the acquirer", "[sync][pool]") {
    counting_factory f;
    f.fail_call = 0;
    f.throw_call = 1;
    run_on(weft::testing::test_workers(2), [&]() -> task<> {
        pool<conn> p(1, f.fn());
        auto first = co_await p.acquire();
        REQUIRE_FALSE(first);
        CHECK(first.error() == std::errc::connection_refused);
        bool threw = false;
        try {
            (void)co_await p.acquire();
        } catch (const std::runtime_error&) {
            threw = true;
        }
        CHECK(threw);
        CHECK(p.metrics().in_use == 0);
        auto third = co_await p.acquire(30s); // the single slot survived both failures
        REQUIRE(third);
        CHECK((*third)->id == 2);
    });
    CHECK(f.alive->load() == 0);
}

// weft::sync::shared_mutex: readers share, a writer excludes everyone, a waiting writer holds back
// later readers (no writer starvation), cancellation, misuse.
#include <weft/runtime.hpp>
#include <weft/sync.hpp>

#include "sync_test.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <system_error>
#include <vector>

using weft::join_handle;
using weft::task;
using weft::sync::shared_mutex;
using weft::testing::run_on;
using namespace std::chrono_literals;

namespace {

struct rw_state {
    shared_mutex rw;
    std::atomic<int> readers{0};
    std::atomic<int> writers{0};
    std::atomic<int> max_readers{0};
    std::atomic<bool> overlap{false};
    std::int64_t value = 0; // written under the write lock, read under read locks
};

task<int> reader(rw_state* s, int rounds) {
    for (int i = 0; i < rounds; ++i) {
        auto g = co_await s->rw.lock_shared();
        if (!g) {
            co_return -1;
        }
        const int n = s->readers.fetch_add(1) + 1;
        int m = s->max_readers.load();
        while (n > m && !s->max_readers.compare_exchange_weak(m, n)) {
        }
        if (s->writers.load() != 0) {
            s->overlap.store(true);
        }
        volatile std::int64_t v = s->value;
        (void)v;
        co_await weft::yield_now();
        s->readers.fetch_sub(1);
    }
    co_return 0;
}

task<int> writer(rw_state* s, int rounds) {
    for (int i = 0; i < rounds; ++i) {
        auto g = co_await s->rw.lock();
        if (!g) {
            co_return -1;
        }
        if (s->writers.fetch_add(1) != 0 || s->readers.load() != 0) {
            s->overlap.store(true);
        }
        ++s->value;
        co_await weft::yield_now();
        s->writers.fetch_sub(1);
    }
    co_return 0;
}

} // namespace

TEST_CASE("readers share the lock, writers have it alone", "[sync][shared_mutex]") {
    rw_state readers_only;
    // One worker: a reader that yields while holding the lock lets the next queued reader run,
    // which must get in beside it (with two workers, one may steal and run them one by one).
    run_on(weft::testing::one_worker, [&]() -> task<> {
        std::vector<join_handle<int>> hs;
        for (int i = 0; i < 16; ++i) {
            hs.push_back(weft::spawn(reader(&readers_only, 20)));
        }
        for (auto& h : hs) {
            co_await h;
        }
    });
    CHECK(readers_only.max_readers.load() > 1); // they held it together

    rw_state s;
    run_on(weft::testing::test_workers(2), [&]() -> task<> {
        std::vector<join_handle<int>> hs;
        for (int i = 0; i < 16; ++i) {
            hs.push_back(weft::spawn(reader(&s, 100)));
        }
        for (int i = 0; i < 4; ++i) {
            hs.push_back(weft::spawn(writer(&s, 50)));
        }
        for (auto& h : hs) {
            const int r = co_await h;
            CHECK(r == 0);
        }
    });
    CHECK_FALSE(s.overlap.load());
    CHECK(s.value == 200);
}

TEST_CASE("a waiting writer holds back readers that come after it", "[sync][shared_mutex]") {
    run_on(weft::testing::one_worker, []() -> task<> {
        shared_mutex rw;
        auto r1 = co_await rw.lock_shared();
        REQUIRE(r1);
        std::atomic<bool> wrote{false};
        auto w = weft::spawn([](shared_mutex* m, std::atomic<bool>* f) -> task<int> {
            auto g = co_await m->lock();
            f->store(true);
            co_return g ? 0 : 1;
        }(&rw, &wrote));
        co_await weft::yield_now();
        co_await weft::yield_now();
        CHECK_FALSE(rw.try_lock_shared()); // a writer waits: new readers queue behind it
        r1->unlock();
        const int wr = co_await w;
        CHECK(wr == 0);
        CHECK(wrote.load());
        CHECK(rw.try_lock_shared());
        rw.unlock_shared();
    });
}

TEST_CASE("cancelling a waiting writer lets the readers behind it in", "[sync][shared_mutex]") {
    run_on(weft::testing::one_worker, []() -> task<> {
        shared_mutex rw;
        auto r1 = co_await rw.lock_shared();
        REQUIRE(r1);
        auto w = weft::spawn([](shared_mutex* m) -> task<std::error_code> {
            auto g = co_await m->lock();
            co_return g ? std::error_code{} : g.error();
        }(&rw));
        co_await weft::yield_now();
        auto r2 = weft::spawn([](shared_mutex* m) -> task<int> {
            auto g = co_await m->lock_shared();
            co_return g ? 0 : 1;
        }(&rw));
        co_await weft::yield_now();
        w.cancel();
        const std::error_code ec = co_await w;
        CHECK(ec == std::errc::operation_canceled);
        const int rr = co_await r2; // no longer behind a writer: shares with r1
        CHECK(rr == 0);
    });
}

TEST_CASE(
    "with_timeout on a waiting lock or lock_shared reports timed_out and holds nothing",
    "[sync][shared_mutex]") {
    run_on(weft::testing::test_workers(2), []() -> task<> {
        shared_mutex rw;
        auto write_lock = [](shared_mutex* m) -> task<weft::result<int>> {
            auto g = co_await m->lock();
            if (!g) {
                co_return g.error();
            }
            co_return 1;
        };
        auto read_lock = [](shared_mutex* m) -> task<weft::result<int>> {
            auto g = co_await m->lock_shared();
            if (!g) {
                co_return g.error();
            }
            co_return 1;
        };
        {
            auto r = co_await rw.lock_shared(); // a reader holds it: a writer must wait
            REQUIRE(r);
            auto w = co_await weft::with_timeout(3ms, write_lock(&rw));
            CHECK(w.error() == std::errc::timed_out);
            CHECK(rw.try_lock_shared()); // the timed-out writer no longer holds readers back
            rw.unlock_shared();
        }
        {
            auto w = co_await rw.lock(); // a writer holds it: a reader must wait
            REQUIRE(w);
            auto r = co_await weft::with_timeout(3ms, read_lock(&rw));
            CHECK(r.error() == std::errc::timed_out);
        }
        CHECK(rw.try_lock()); // nothing is held by the timed-out waiters
        rw.unlock();
    });
}

TEST_CASE(
    "a cancelled waiting reader reports operation_canceled: the writer then runs alone",
    "[sync][shared_mutex]") {
    run_on(weft::testing::one_worker, []() -> task<> {
        shared_mutex rw;
        auto w = co_await rw.lock();
        REQUIRE(w);
        auto reader_task = weft::spawn([](shared_mutex* m) -> task<std::error_code> {
            auto g = co_await m->lock_shared();
            co_return g ? std::error_code{} : g.error();
        }(&rw));
        co_await weft::yield_now();
        co_await weft::yield_now();
        reader_task.cancel();
        const std::error_code ec = co_await reader_task;
        CHECK(ec == std::errc::operation_canceled);
        w->unlock();
        CHECK(rw.try_lock()); // the cancelled reader took no read lock
        rw.unlock();
    });
}

TEST_CASE(
    "misuse: unlock without the write lock aborts with a message", "[sync][shared_mutex][death]") {
    auto out = weft::testing::run_in_child([] {
        shared_mutex rw;
        rw.unlock();
    });
    CHECK(out.died());
    CHECK(out.err.find("unlock() without the write lock held") != std::string::npos);
}

TEST_CASE(
    "misuse: unlock_shared without a read lock aborts with a message",
    "[sync][shared_mutex][death]") {
    auto out = weft::testing::run_in_child([] {
        shared_mutex rw;
        rw.unlock_shared();
    });
    CHECK(out.died());
    CHECK(out.err.find("unlock_shared() without a read lock held") != std::string::npos);
}

TEST_CASE("stress: readers and writers with cancellations", "[.][stress][sync][shared_mutex]") {
    const int iters = weft::testing::stress_iters(20);
    for (int it = 0; it < iters; ++it) {
        rw_state s;
        run_on(weft::testing::test_workers(2), [&]() -> task<> {
            std::vector<join_handle<int>> hs;
            for (int i = 0; i < 12; ++i) {
                hs.push_back(weft::spawn(i % 3 == 0 ? writer(&s, 30) : reader(&s, 30)));
            }
            for (std::size_t i = 0; i < hs.size(); i += 4) {
                co_await weft::sleep_for(20us);
                hs[i].cancel();
            }
            for (auto& h : hs) {
                co_await h;
            }
            CHECK(s.rw.try_lock());
            s.rw.unlock();
        });
        CHECK_FALSE(s.overlap.load());
    }
}

TEST_CASE(
    "stress: unlock() leaves the shared_mutex alone once a reader may have returned and freed it",
    "[.][stress][sync][shared_mutex]") {
    const int rounds = weft::testing::stress_iters(200) * 10;
    const int failed = weft::testing::last_touch_stress(
        rounds,
        [] {
            auto* m = new weft::sync::shared_mutex;
            REQUIRE(m->try_lock());
            return m;
        },
        [](weft::sync::shared_mutex& m) {
            if (m.try_lock_shared()) {
                m.unlock_shared();
                return true;
            }
            return false;
        },
        [](weft::sync::shared_mutex& m) { m.unlock(); },
        [](weft::sync::shared_mutex& m) -> task<bool> {
            auto g = co_await m.lock_shared();
            co_return g.has_value();
        });
    CHECK(failed == 0);
}

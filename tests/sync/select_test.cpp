// weft::sync::select: Go's select semantics — a uniform random choice among ready cases, default,
// timers, send and receive cases, closed and nil channels, cancellation and timeouts; a case that
// did not fire has no effect; a value offered to a select that is cancelled at that moment goes
// elsewhere; stress with many competing selects.
#include <weft/runtime.hpp>
#include <weft/sync.hpp>

#include "sync_test.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <system_error>
#include <vector>

using weft::join_handle;
using weft::result;
using weft::task;
using weft::sync::after;
using weft::sync::channel;
using weft::sync::default_case;
using weft::sync::select;
using weft::testing::run_on;
using namespace std::chrono_literals;

namespace {

task<result<void>> send_after(channel<int> ch, int v, std::chrono::milliseconds d) {
    co_await weft::sleep_for(d);
    co_return co_await ch.send(std::move(v));
}

} // namespace

TEST_CASE("select takes the ready case and leaves the others untouched", "[sync][select]") {
    run_on(weft::testing::one_worker, []() -> task<> {
        channel<int> a(1);
        channel<int> b(1);
        channel<int> c(1);
        REQUIRE(b.try_send(2));
        auto r = co_await select(a.recv_case(), b.recv_case(), c.send_case(3));
        // b has a value and c has room: both are ready; either may fire, never both.
        if (r.index() == 1) {
            REQUIRE(r.get<1>().has_value());
            CHECK(*r.get<1>() == 2);
            CHECK(c.size() == 0); // the send case did not fire: nothing was sent
        } else {
            REQUIRE(r.index() == 2);
            CHECK(r.get<2>().has_value());
            CHECK(b.size() == 1); // the receive case did not fire: the value is still there
            CHECK(c.size() == 1);
        }
        CHECK(a.size() == 0);
    });
}

TEST_CASE(
    "select is fair: over 100,000 selects on two ready channels each case fires 45-55%",
    "[sync][select]") {
    run_on(weft::testing::one_worker, []() -> task<> {
        channel<int> a(1);
        channel<int> b(1);
        REQUIRE(a.try_send(0));
        REQUIRE(b.try_send(1));
        constexpr int n = 100'000;
        int count[2] = {0, 0};
        for (int i = 0; i < n; ++i) {
            auto r = co_await select(a.recv_case(), b.recv_case());
            const std::size_t k = r.index();
            REQUIRE(k < 2);
            ++count[k];
            REQUIRE((k == 0 ? a : b).try_send(int(k))); // keep both always ready
        }
        INFO("case 0: " << count[0] << ", case 1: " << count[1]);
        CHECK(count[0] >= n * 45 / 100);
        CHECK(count[0] <= n * 55 / 100);
        CHECK(count[1] >= n * 45 / 100);
        CHECK(count[1] <= n * 55 / 100);
    });
}

TEST_CASE("select is fair among four ready cases too", "[sync][select]") {
    run_on(weft::testing::one_worker, []() -> task<> {
        std::vector<channel<int>> ch;
        for (int i = 0; i < 4; ++i) {
            ch.emplace_back(1);
            REQUIRE(ch.back().try_send(int(i)));
        }
        constexpr int n = 40'000;
        int count[4] = {0, 0, 0, 0};
        for (int i = 0; i < n; ++i) {
            auto r = co_await select(
                ch[0].recv_case(), ch[1].recv_case(), ch[2].recv_case(), ch[3].recv_case());
            REQUIRE(r.index() < 4);
            ++count[r.index()];
            REQUIRE(ch[r.index()].try_send(0));
        }
        for (int k = 0; k < 4; ++k) {
            INFO("case " << k << ": " << count[k]);
            CHECK(count[k] >= n / 4 * 90 / 100);
            CHECK(count[k] <= n / 4 * 110 / 100);
        }
    });
}

namespace {

// Rounds of the two-send-cases fairness tests, and the least number of times each case must
// fire. With a fair choice each round picks case 0 with probability 1/2, so a case fires fewer
// than 100 times in 1000 rounds with probability below exp(-1000 * D(0.1 || 0.5)) =
// exp(-1000 * 0.368) < 1e-159 (Chernoff bound, D the binary relative entropy): it cannot flake.
// Enqueueing the cases in argument order made case 0 fire 1000 times of 1000.
constexpr int send_case_rounds = 1000;
constexpr int send_case_least = 100;

// One select with two send cases on the same unbuffered channel: which case fired.
task<std::size_t> two_sends(channel<int> ch) {
    auto r = co_await select(ch.send_case(0), ch.send_case(1));
    co_return r.index();
}

} // namespace

TEST_CASE(
    "two send cases on one channel: a receiver that comes after the select parked takes either",
    "[sync][select]") {
    // One worker: the selector runs (and parks, nobody receives yet) while this task yields, and
    // only then does this task receive: the receiver always arrives after the select waits.
    run_on(weft::testing::one_worker, []() -> task<> {
        channel<int> ch;
        int count[2] = {0, 0};
        int bad = 0;
        for (int i = 0; i < send_case_rounds; ++i) {
            auto h = weft::spawn(two_sends(ch));
            co_await weft::yield_now();
            auto v = co_await ch.recv();
            const std::size_t k = co_await h;
            if (!v || k >= 2 || *v != int(k)) {
                ++bad;
                continue;
            }
            ++count[k];
        }
        INFO("case 0: " << count[0] << ", case 1: " << count[1]);
        CHECK(bad == 0);
        CHECK(count[0] >= send_case_least);
        CHECK(count[1] >= send_case_least);
    });
}

TEST_CASE(
    "two send cases on one channel: a receiver already waiting takes either", "[sync][select]") {
    // One worker: the receiver runs (and parks) while this task yields, then the select finds it.
    run_on(weft::testing::one_worker, []() -> task<> {
        channel<int> ch;
        int count[2] = {0, 0};
        int bad = 0;
        for (int i = 0; i < send_case_rounds; ++i) {
            auto h = weft::spawn([](channel<int> c) -> task<int> {
                auto v = co_await c.recv();
                co_return v ? *v : -1;
            }(ch));
            co_await weft::yield_now();
            const std::size_t k = co_await two_sends(ch);
            const int v = co_await h;
            if (k >= 2 || v != int(k)) {
                ++bad;
                continue;
            }
            ++count[k];
        }
        INFO("case 0: " << count[0] << ", case 1: " << count[1]);
        CHECK(bad == 0);
        CHECK(count[0] >= send_case_least);
        CHECK(count[1] >= send_case_least);
    });
}

TEST_CASE("select with default never blocks, and prefers any ready case", "[sync][select]") {
    run_on(weft::testing::one_worker, []() -> task<> {
        channel<int> unbuffered;
        channel<int> full(1);
        REQUIRE(full.try_send(1));
        for (int i = 0; i < 1000; ++i) {
            auto r = co_await select(
                unbuffered.recv_case(), full.send_case(2), unbuffered.send_case(3), default_case);
            REQUIRE(r.index() == 3);
        }
        channel<int> ready(1);
        REQUIRE(ready.try_send(5));
        auto r = co_await select(default_case, ready.recv_case());
        REQUIRE(r.index() == 1);
        CHECK(*r.get<1>() == 5);
    });
}

TEST_CASE(
    "select waits until a case becomes ready, and exactly that case fires", "[sync][select]") {
    for (std::size_t cap : {std::size_t{0}, std::size_t{2}}) {
        INFO("cap " << cap);
        run_on(weft::testing::test_workers(2), [cap]() -> task<> {
            channel<int> a(cap);
            channel<int> b(cap);
            auto h = weft::spawn(send_after(b, 42, 5ms));
            auto r = co_await select(a.recv_case(), b.recv_case());
            REQUIRE(r.index() == 1);
            REQUIRE(r.get<1>().has_value());
            CHECK(*r.get<1>() == 42);
            auto sent = co_await h;
            CHECK(sent.has_value());
        });
    }
}

TEST_CASE("select send case waits for a receiver and hands it the value", "[sync][select]") {
    run_on(weft::testing::test_workers(2), []() -> task<> {
        channel<std::unique_ptr<int>> out;
        channel<int> never;
        auto receiver_task = [](channel<std::unique_ptr<int>> c) -> task<int> {
            co_await weft::sleep_for(3ms);
            auto v = co_await c.recv();
            co_return v&&* v ? **v : -1;
        };
        auto h = weft::spawn(receiver_task(out));
        auto p = std::make_unique<int>(77);
        auto r = co_await select(never.recv_case(), out.send_case(std::move(p)));
        REQUIRE(r.index() == 1);
        CHECK(r.get<1>().has_value());
        CHECK_FALSE(p); // consumed: this case fired
        const int got = co_await h;
        CHECK(got == 77);
    });
}

TEST_CASE(
    "after() fires when no channel is ready in time: a channel case that fires cancels the timer",
    "[sync][select]") {
    run_on(weft::testing::test_workers(2), []() -> task<> {
        channel<int> quiet;
        const auto t0 = std::chrono::steady_clock::now();
        auto r = co_await select(quiet.recv_case(), after(10ms));
        CHECK(r.index() == 1);
        CHECK(weft::testing::ms_since(t0) >= 9.5);

        // The channel wins: the timer must never fire into a select that has finished.
        for (int i = 0; i < 200; ++i) {
            channel<int> ch;
            auto h = weft::spawn(send_after(ch, i, 0ms));
            auto r2 = co_await select(ch.recv_case(), after(2ms));
            if (r2.index() == 0) {
                CHECK(*r2.get<0>() == i);
            } else {
                (void)co_await ch.recv(); // the timer won the race: take the value anyway
            }
            auto s = co_await h;
            CHECK(s.has_value());
        }
        co_await weft::sleep_for(
            5ms); // any timer left behind would fire now (and crash under ASan)
    });
}

TEST_CASE("deadline() and the earliest of several timers", "[sync][select]") {
    run_on(weft::testing::one_worker, []() -> task<> {
        channel<int> quiet;
        auto r = co_await select(
            after(10s),
            quiet.recv_case(),
            weft::sync::deadline(std::chrono::steady_clock::now() + 5ms));
        CHECK(r.index() == 2);
        auto past = co_await select(quiet.recv_case(), after(0ms));
        CHECK(past.index() == 1); // a deadline that has passed is ready at once
    });
}

TEST_CASE(
    "select on a closed channel: a receive case fires empty, a send case fails untouched",
    "[sync][select]") {
    run_on(weft::testing::one_worker, []() -> task<> {
        channel<int> closed(3);
        REQUIRE(closed.try_send(8));
        closed.close();
        channel<int> never;
        auto r1 = co_await select(never.recv_case(), closed.recv_case());
        REQUIRE(r1.index() == 1);
        CHECK(*r1.get<1>() == 8); // drained first
        auto r2 = co_await select(never.recv_case(), closed.recv_case());
        REQUIRE(r2.index() == 1);
        CHECK(r2.get<1>().closed());

        channel<std::unique_ptr<int>> c2(1);
        c2.close();
        auto p = std::make_unique<int>(1);
        auto r3 = co_await select(c2.send_case(std::move(p)));
        REQUIRE(r3.index() == 0);
        CHECK(r3.get<0>().error() == weft::errc::channel_closed);
        CHECK(p);
    });
}

TEST_CASE("a closing channel wakes a waiting select", "[sync][select]") {
    run_on(weft::testing::test_workers(2), []() -> task<> {
        channel<int> a;
        channel<int> b(4);
        auto closer = [](channel<int> c) -> task<int> {
            co_await weft::sleep_for(3ms);
            c.close();
            co_return 0;
        };
        auto h = weft::spawn(closer(b));
        auto r = co_await select(a.recv_case(), b.recv_case());
        REQUIRE(r.index() == 1);
        CHECK(r.get<1>().closed());
        co_await h;
    });
}

TEST_CASE("nil channel cases are never ready", "[sync][select]") {
    run_on(weft::testing::one_worker, []() -> task<> {
        auto nil = channel<int>::nil();
        CHECK_FALSE(static_cast<bool>(nil));
        auto r = co_await select(nil.recv_case(), nil.send_case(1), default_case);
        CHECK(r.index() == 2);
        auto t = co_await select(nil.recv_case(), after(1ms));
        CHECK(t.index() == 1);
    });
}

TEST_CASE("the same channel twice in one select", "[sync][select]") {
    run_on(weft::testing::one_worker, []() -> task<> {
        channel<int> ch(1);
        REQUIRE(ch.try_send(4));
        auto r = co_await select(ch.recv_case(), ch.recv_case(), ch.send_case(5));
        REQUIRE(r.index() < 2); // full: the send case cannot fire
        CHECK(*(r.index() == 0 ? r.get<0>() : r.get<1>()) == 4);
        auto s = co_await select(ch.recv_case(), ch.send_case(6));
        CHECK(s.index() == 1); // empty now: only the send can fire
        CHECK(ch.size() == 1);
    });
}

TEST_CASE(
    "a cancelled select reports none and operation_canceled: no case fired", "[sync][select]") {
    run_on(weft::testing::test_workers(2), []() -> task<> {
        channel<int> a;
        channel<int> b(1);
        auto body = [](channel<int> x, channel<int> y) -> task<std::error_code> {
            auto r = co_await select(x.recv_case(), y.recv_case(), after(10s));
            co_return r.index() == r.none ? r.error() : std::error_code{};
        };
        auto h = weft::spawn(body(a, b));
        co_await weft::sleep_for(3ms);
        h.cancel();
        const std::error_code ec = co_await h;
        CHECK(ec == std::errc::operation_canceled);
        // The select is gone from both channels: a value now stays for someone else.
        REQUIRE(b.try_send(1));
        CHECK(b.size() == 1);
        CHECK(a.try_send(1).error() == std::errc::operation_would_block);
    });
}

namespace {

/// What a select with a far-away after() saw when the runtime stopped under it.
struct shutdown_outcome {
    std::atomic<bool> started{false};
    std::atomic<bool> finished{false};
    std::atomic<std::size_t> index{0};
    std::atomic<bool> cancelled{false}; // error() == operation_canceled
};

task<> select_until_shutdown(channel<int> ch, shutdown_outcome& out) {
    out.started.store(true, std::memory_order_release);
    auto r = co_await select(ch.recv_case(), after(10s));
    out.index.store(r.index(), std::memory_order_relaxed);
    out.cancelled.store(r.error() == std::errc::operation_canceled, std::memory_order_relaxed);
    out.finished.store(true, std::memory_order_release);
}

} // namespace

TEST_CASE(
    "shutdown cuts a waiting select short with operation_canceled, not as its after() case",
    "[sync][select]") {
    // A shutdown fires every timer early; the after(10s) case must not report that as its
    // deadline having come (code behind it would run 10 s early). One worker: once this task sees
    // `started`, the selector has parked (it runs from start to suspension uninterrupted).
    shutdown_outcome out;
    const auto t0 = std::chrono::steady_clock::now();
    {
        weft::runtime rt(weft::runtime_options{.workers = weft::testing::one_worker});
        channel<int> ch;
        rt.spawn(select_until_shutdown(ch, out)).detach();
        const bool parked = rt.block_on([](shutdown_outcome& o) -> task<bool> {
            co_return co_await weft::testing::yield_until(
                [&] { return o.started.load(std::memory_order_acquire); });
        }(out));
        REQUIRE(parked);
        rt.shutdown();
    }
    CHECK(weft::testing::ms_since(t0) < 5'000.0);
    REQUIRE(out.finished.load());
    CHECK(out.index.load() == static_cast<std::size_t>(-1)); // none: no case fired
    CHECK(out.cancelled.load());
}

TEST_CASE(
    "main returning cuts a detached waiting select short with operation_canceled",
    "[sync][select]") {
    shutdown_outcome out;
    channel<int> ch;
    run_on(weft::testing::one_worker, [&]() -> task<> {
        weft::go(select_until_shutdown(ch, out));
        (void)co_await weft::testing::yield_until(
            [&] { return out.started.load(std::memory_order_acquire); });
    }); // main returns: the runtime stops under the parked select
    REQUIRE(out.finished.load());
    CHECK(out.index.load() == static_cast<std::size_t>(-1));
    CHECK(out.cancelled.load());
}

TEST_CASE("with_timeout cuts a waiting select short with timed_out", "[sync][select]") {
    run_on(weft::testing::test_workers(2), []() -> task<> {
        channel<int> a;
        auto body = [](channel<int> x) -> task<result<int>> {
            auto r = co_await select(x.recv_case());
            if (!r) {
                co_return r.error();
            }
            co_return *r.get<0>();
        };
        result<int> r = co_await weft::with_timeout(5ms, body(a));
        CHECK(r.error() == std::errc::timed_out);
    });
}

TEST_CASE(
    "select in an already cancelled task takes a ready case but never waits", "[sync][select]") {
    run_on(weft::testing::one_worker, []() -> task<> {
        channel<int> a(1);
        std::atomic<bool> started{false};
        auto body = [](channel<int> x, std::atomic<bool>* st) -> task<int> {
            st->store(true);            // started: a task cancelled before that never runs
            co_await weft::yield_now(); // let the spawner cancel us
            auto r1 = co_await select(x.recv_case());
            auto r2 = co_await select(x.recv_case(), after(1s));
            co_return (r1.index() == 0 ? 1 : 0) +
                (r2.error() == std::errc::operation_canceled ? 2 : 0);
        };
        REQUIRE(a.try_send(1));
        auto h = weft::spawn(body(a, &started));
        co_await weft::testing::yield_until([&] { return started.load(); });
        h.cancel();
        const int got = co_await h;
        CHECK(got == 3);
    });
}

namespace {

// A receiver that selects over two channels (and a short timer, for the timer's sake) until both
// are closed and drained: a drained channel is set to nil, Go's idiom for disabling a case.
task<std::int64_t>
select_consumer(channel<std::int64_t> a, channel<std::int64_t> b, weft::testing::ledger* seen) {
    std::int64_t got = 0;
    while (a || b) {
        auto r = co_await select(a.recv_case(), b.recv_case(), after(1ms));
        if (r.index() == 0 || r.index() == 1) {
            auto& v = r.index() == 0 ? r.get<0>() : r.get<1>();
            if (!v) {
                (r.index() == 0 ? a : b) = channel<std::int64_t>::nil(); // closed and drained
                continue;
            }
            seen->received(*v);
            ++got;
        } else if (r.index() == r.none) {
            co_return got; // cancelled
        }
    }
    co_return got;
}

task<int> select_producer(
    channel<std::int64_t> a,
    channel<std::int64_t> b,
    std::int64_t lo,
    std::int64_t hi,
    weft::testing::ledger* unsent) {
    for (std::int64_t v = lo; v < hi; ++v) {
        std::int64_t x = v;
        std::int64_t y = v;
        auto r = co_await select(a.send_case(std::move(x)), b.send_case(std::move(y)));
        if (!r) {
            for (std::int64_t u = v; u < hi; ++u) {
                unsent->received(u);
            }
            co_return 1;
        }
    }
    co_return 0;
}

void run_select_stress(
    std::size_t cap, std::int64_t items, std::uint64_t seed, std::uint64_t max_us = 2000) {
    weft::testing::ledger seen(static_cast<std::size_t>(items));
    weft::testing::ledger unsent(static_cast<std::size_t>(items));
    int unexpected = 0;
    run_on(weft::testing::test_workers(2), [&]() -> task<> {
        channel<std::int64_t> a(cap);
        channel<std::int64_t> b(cap);
        std::vector<join_handle<std::int64_t>> cons;
        std::vector<join_handle<int>> prods;
        for (int i = 0; i < 4; ++i) {
            cons.push_back(weft::spawn(select_consumer(a, b, &seen)));
        }
        for (int i = 0; i < 4; ++i) {
            prods.push_back(
                weft::spawn(select_producer(a, b, items * i / 4, items * (i + 1) / 4, &unsent)));
        }
        // Cancel one producer and one consumer at random moments.
        std::uint64_t s = seed;
        s = weft::testing::splitmix64(s);
        co_await weft::sleep_for(std::chrono::microseconds(s % max_us));
        prods[3].cancel();
        s = weft::testing::splitmix64(s);
        co_await weft::sleep_for(std::chrono::microseconds(s % max_us));
        cons[3].cancel();
        // A task cancelled before it started never ran: the producer sent nothing of its range,
        // the consumer took nothing. Only the cancelled ones may end that way.
        for (std::size_t i = 0; i < prods.size(); ++i) {
            try {
                co_await prods[i];
            } catch (const weft::cancelled_error&) {
                unexpected += i == 3 ? 0 : 1;
                for (std::int64_t u = items * 3 / 4; u < items; ++u) {
                    unsent.received(u);
                }
            }
        }
        a.close();
        b.close();
        for (std::size_t i = 0; i < cons.size(); ++i) {
            try {
                co_await cons[i];
            } catch (const weft::cancelled_error&) {
                unexpected += i == 3 ? 0 : 1;
            }
        }
    });
    CHECK(unexpected == 0);
    INFO("cap " << cap << " seed " << seed);
    CHECK(seen.duplicates() == 0);
    std::int64_t bad = 0;
    for (std::int64_t v = 0; v < items; ++v) {
        bad += (seen.count(v) + unsent.count(v)) != 1;
    }
    CHECK(bad == 0);
}

} // namespace

TEST_CASE(
    "selects competing to send and receive lose and duplicate nothing, with cancellations",
    "[sync][select]") {
    const std::int64_t items = weft::testing::under_sanitizer ? 20'000 : 100'000;
    for (std::size_t cap : {std::size_t{0}, std::size_t{1}, std::size_t{16}}) {
        run_select_stress(cap, items, 77 + cap);
    }
}

TEST_CASE("stress: competing selects, many seeds", "[.][stress][sync][select]") {
    const int iters = weft::testing::stress_iters(20);
    for (int i = 0; i < iters; ++i) {
        for (std::size_t cap : {std::size_t{0}, std::size_t{1}, std::size_t{5}}) {
            run_select_stress(
                cap, 5'000, weft::testing::splitmix64(static_cast<std::uint64_t>(i) + cap), 500);
        }
    }
}

TEST_CASE("happens-before through a select receive and a select send", "[sync][select]") {
    run_on(weft::testing::test_workers(2), []() -> task<> {
        constexpr int n = 200;
        std::vector<std::int64_t> payload(n, 0);
        channel<int> ch;
        channel<int> never;
        auto writer =
            [](channel<int> c, channel<int> nv, std::vector<std::int64_t>* p) -> task<int> {
            for (int i = 0; i < n; ++i) {
                (*p)[static_cast<std::size_t>(i)] = i + 100; // plain write
                int v = i;
                auto r = co_await select(nv.recv_case(), c.send_case(std::move(v)));
                if (r.index() != 1) {
                    co_return -1;
                }
            }
            co_return 0;
        };
        auto h = weft::spawn(writer(ch, never, &payload));
        bool ok = true;
        for (int i = 0; i < n; ++i) {
            auto r = co_await select(never.recv_case(), ch.recv_case());
            ok = ok && r.index() == 1 &&
                 payload[static_cast<std::size_t>(*r.get<1>())] == *r.get<1>() + 100;
        }
        const int w = co_await h;
        CHECK(w == 0);
        CHECK(ok);
    });
}

TEST_CASE("deadlock: tasks that all wait in select are reported", "[sync][select][deadlock]") {
    auto out = weft::testing::run_in_child([] {
        try {
            run_on(weft::testing::one_worker, []() -> task<> {
                channel<int> a;
                channel<int> b;
                (void)co_await select(a.recv_case(), b.send_case(1));
            });
        } catch (const std::system_error& e) {
            std::_Exit(e.code() == weft::errc::deadlock ? 3 : 4);
        }
    });
    CHECK(out.exited);
    CHECK(out.status == 3);
    CHECK(out.err.find("all tasks are asleep - deadlock!") != std::string::npos);
    CHECK(out.err.find("1 in select") != std::string::npos);
}

TEST_CASE(
    "stress: a value offered to a select that is cancelled at that moment goes to exactly one "
    "receiver",
    "[.][stress][sync][select]") {
    const int rounds = weft::testing::stress_iters(200) * 5;
    int lost = 0;
    run_on(weft::testing::test_workers(2), [&]() -> task<> {
        for (int i = 0; i < rounds; ++i) {
            channel<int> a;
            channel<int> b(1);
            std::atomic<bool> started{false};
            auto sel =
                weft::spawn([](channel<int> x, channel<int> y, std::atomic<bool>* st) -> task<int> {
                    st->store(true);
                    auto r = co_await select(x.recv_case(), y.recv_case(), after(1s));
                    if (r.index() == 0 && r.get<0>()) {
                        co_return 1;
                    }
                    if (r.index() == 1 && r.get<1>()) {
                        co_return 2;
                    }
                    co_return 0;
                }(a, b, &started));
            if (i % 2 == 0) {
                co_await weft::yield_now();
            }
            auto s1 = weft::spawn(send_after(a, 1, 0ms));
            sel.cancel();
            int got = 0;
            try {
                got = co_await sel;
            } catch (const weft::cancelled_error&) {
                // Cancelled before it started: it never ran, so the value is still offered.
                lost += started.load() ? 1 : 0;
            }
            int rest = 0;
            if (got != 1) {
                auto v = co_await a.recv(); // the sender is still waiting: take it here
                rest += v.has_value();
            }
            auto sent = co_await s1;
            lost += !sent.has_value();
            lost += (got == 1) + rest != 1;
            lost += got == 2; // nothing was ever sent on b
        }
    });
    CHECK(lost == 0);
}

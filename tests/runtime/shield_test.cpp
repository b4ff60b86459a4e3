// weft::shield: awaits inside it are not cut short by the awaiting task's cancellation (before or
// during the shield), its own deadline still bounds them, and the cancellation is seen again
// right after it. Also: with_timeout and when_any of awaitables that are not tasks (scope::join,
// channel recv, event and wait_group waits, sleeps).
#include <weft/runtime.hpp>
#include <weft/sync.hpp>

#include "weft_test.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <system_error>

using weft::result;
using weft::task;
using weft::testing::ms_since;
using namespace std::chrono_literals;

namespace {

weft::runtime_options two_workers() {
    return weft::runtime_options{.workers = weft::testing::test_workers(2)};
}

task<result<void>> nap(std::chrono::nanoseconds d) {
    co_return co_await weft::sleep_for(d);
}

/// What a task that was cancelled saw: before, inside and after its shield.
struct shielded_report {
    std::error_code before; // its first await (cancelled)
    std::error_code inside; // what the shield yielded
    std::error_code after;  // its first await after the shield
    double shield_ms = 0;   // how long the shield took
};

/// Waits to be cancelled, then runs `cleanup` shielded with deadline `d`.
task<> cancelled_then_shield(
    weft::sync::event& started,
    shielded_report& rep,
    std::chrono::milliseconds d,
    std::chrono::nanoseconds cleanup) {
    started.set();
    rep.before = (co_await weft::sleep_for(1h)).error();
    auto t0 = std::chrono::steady_clock::now();
    rep.inside = (co_await weft::shield(d, nap(cleanup))).error();
    rep.shield_ms = ms_since(t0);
    rep.after = (co_await weft::sleep_for(1ms)).error();
}

task<>
cancel_and_join(shielded_report& rep, std::chrono::milliseconds d, std::chrono::nanoseconds c) {
    weft::sync::event started; // a task cancelled before it starts would not run at all
    auto h = weft::spawn(cancelled_then_shield(started, rep, d, c));
    (void)co_await started.wait();
    h.cancel();
    co_await h;
}

} // namespace

TEST_CASE("a cancelled task's sleep inside a shield completes normally", "[runtime][shield]") {
    shielded_report rep;
    weft::run(cancel_and_join(rep, 1h, 20ms), two_workers());
    CHECK(rep.before == std::errc::operation_canceled);
    CHECK(rep.inside == std::error_code{});
    CHECK(rep.shield_ms >= 15); // the sleep really slept
    CHECK(rep.after == std::errc::operation_canceled);
}

TEST_CASE("the shield's deadline cuts a hung cleanup with timed_out", "[runtime][shield]") {
    shielded_report rep;
    weft::run(cancel_and_join(rep, 20ms, 1h), two_workers());
    CHECK(rep.before == std::errc::operation_canceled);
    CHECK(rep.inside == std::errc::timed_out);
    CHECK(rep.shield_ms < 10'000);
    CHECK(rep.after == std::errc::operation_canceled);
}

namespace {

/// A "connection" task: serves until cancelled, then sends its goodbye on `conn` (unbuffered:
/// the send waits for the peer to receive), shielded.
task<> serve(
    weft::sync::event& started,
    weft::sync::channel<int> conn,
    std::error_code& served,
    std::error_code& goodbye) {
    started.set();
    served = (co_await weft::sleep_for(1h)).error();
    goodbye = (co_await weft::shield(30s, conn.send(99))).error();
}

} // namespace

TEST_CASE(
    "a cancelled connection task writes its final reply inside a shield", "[runtime][shield]") {
    std::error_code served;
    std::error_code goodbye;
    int got = 0;
    weft::run(
        [&]() -> task<> {
            weft::sync::channel<int> conn;
            weft::sync::event started;
            auto h = weft::spawn(serve(started, conn, served, goodbye));
            (void)co_await started.wait();
            h.cancel();
            auto v = co_await conn.recv();
            got = v ? *v : -1;
            co_await h;
        },
        two_workers());
    CHECK(served == std::errc::operation_canceled);
    CHECK(goodbye == std::error_code{});
    CHECK(got == 99);
}

namespace {

struct during_report {
    std::error_code inner;  // the wait inside the shield
    std::error_code shield; // what the shield yielded
    std::error_code after;  // the task's next await
};

task<result<void>>
wait_inside(weft::sync::event& inside, weft::sync::event& release, std::error_code& inner) {
    inside.set();
    auto r = co_await release.wait();
    inner = r.error();
    co_return r;
}

task<> shielded_wait(weft::sync::event& inside, weft::sync::event& release, during_report& rep) {
    rep.shield = (co_await weft::shield(1h, wait_inside(inside, release, rep.inner))).error();
    rep.after = (co_await weft::sleep_for(1ms)).error();
}

} // namespace

TEST_CASE(
    "a cancellation arriving inside a shield does not reach it, and is seen right after",
    "[runtime][shield]") {
    during_report rep;
    weft::run(
        [&]() -> task<> {
            weft::sync::event inside;
            weft::sync::event release;
            auto h = weft::spawn(shielded_wait(inside, release, rep));
            (void)co_await inside.wait();
            h.cancel(); // fires the task's armed hooks now: none reaches the shielded wait
            release.set();
            co_await h;
        },
        two_workers());
    CHECK(rep.inner == std::error_code{});
    CHECK(rep.shield == std::error_code{});
    CHECK(rep.after == std::errc::operation_canceled);
}

// --- with_timeout and when_any of awaitables ---------------------------------------------------

namespace {

task<> sleeper(std::atomic<int>& ended, std::atomic<int>& cancelled) {
    auto r = co_await weft::sleep_for(1h);
    if (r.error() == std::errc::operation_canceled) {
        cancelled.fetch_add(1);
    }
    ended.fetch_add(1);
}

} // namespace

TEST_CASE("with_timeout of scope::join cuts the children and waits for them", "[runtime][shield]") {
    std::atomic<int> ended{0};
    std::atomic<int> cancelled{0};
    std::error_code r;
    std::size_t left = 1;
    auto t0 = std::chrono::steady_clock::now();
    weft::run(
        [&]() -> task<> {
            weft::scope s;
            for (int i = 0; i < 4; ++i) {
                s.spawn(sleeper(ended, cancelled));
            }
            r = (co_await weft::with_timeout(20ms, s.join())).error();
            left = s.size();
        },
        two_workers());
    CHECK(ms_since(t0) < 10'000);
    CHECK(r == std::errc::timed_out);
    CHECK(left == 0);
    CHECK(ended.load() == 4);
    CHECK(cancelled.load() == 4);
}

TEST_CASE("with_timeout of a channel recv and of event and wait_group waits", "[runtime][shield]") {
    weft::run(
        []() -> task<> {
            weft::sync::channel<int> ch;
            auto v = co_await weft::with_timeout(10ms, ch.recv());
            REQUIRE(v.has_value()); // a recv_result, not an error: empty, and says why
            CHECK(!*v);
            CHECK(v->error() == std::errc::timed_out);

            weft::sync::channel<int> full(1);
            (void)co_await full.send(7);
            auto w = co_await weft::with_timeout(1h, full.recv());
            REQUIRE(w.has_value());
            CHECK(**w == 7);

            weft::sync::event ev;
            CHECK((co_await weft::with_timeout(10ms, ev.wait())).error() == std::errc::timed_out);
            ev.set();
            CHECK((co_await weft::with_timeout(1h, ev.wait())).has_value());

            weft::sync::wait_group wg;
            wg.add(1);
            CHECK((co_await weft::with_timeout(10ms, wg.wait())).error() == std::errc::timed_out);
            wg.done();
            CHECK((co_await weft::with_timeout(1h, wg.wait())).has_value());
        },
        two_workers());
}

namespace {

task<> short_nap() {
    (void)co_await weft::sleep_for(10ms);
}

} // namespace

TEST_CASE("when_any of a scope join and a sleep", "[runtime][shield]") {
    std::atomic<int> ended{0};
    std::atomic<int> cancelled{0};
    std::size_t first = 9;
    std::size_t left = 1;
    std::size_t second = 9;
    weft::run(
        [&]() -> task<> {
            weft::scope s;
            for (int i = 0; i < 3; ++i) {
                s.spawn(sleeper(ended, cancelled));
            }
            // join() yields void: the sleep goes in as a task<void> beside it.
            first = (co_await weft::when_any(s.join(), short_nap())).index;
            left = s.size();
            weft::sync::event never;
            second = (co_await weft::when_any(never.wait(), weft::sleep_for(10ms))).index;
        },
        two_workers());
    CHECK(first == 1);
    CHECK(left == 0); // the losing join cancelled the children and waited for them
    CHECK(ended.load() == 3);
    CHECK(cancelled.load() == 3);
    CHECK(second == 1);
}

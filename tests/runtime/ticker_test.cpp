// weft::ticker: the missed-tick policies (pure schedule arithmetic, no real time), real ticks at
// their scheduled times, reset, and cancellation of a pending tick.
#include <weft/runtime.hpp>

#include "weft_test.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <system_error>
#include <vector>

using weft::missed_tick;
using weft::task;
using weft::detail::next_tick;
using namespace std::chrono_literals;

namespace {

const weft::clock::time_point t0{1000s}; // any origin: the schedule is relative to it

/// Waits for one tick of `t`; the error it ended with, or none.
task<std::error_code> tick_error(weft::ticker& t) {
    auto r = co_await t.tick();
    co_return r ? std::error_code{} : r.error();
}

} // namespace

TEST_CASE(
    "a tick taken on time is followed one period later, under every policy", "[runtime][ticker]") {
    for (auto p : {missed_tick::burst, missed_tick::delay, missed_tick::skip}) {
        CHECK(next_tick(t0, t0, 10ms, p) == t0 + 10ms);
        CHECK(next_tick(t0, t0 + 3ms, 10ms, p) == t0 + 10ms);
        CHECK(next_tick(t0, t0 + 10ms - 1ns, 10ms, p) == t0 + 10ms);
    }
}

TEST_CASE("burst keeps the original schedule: missed ticks are due at once", "[runtime][ticker]") {
    // Taken 35 ms late: the ticks at +10, +20, +30 are all already due, one after the other.
    weft::clock::time_point s = t0;
    const weft::clock::time_point now = t0 + 35ms;
    std::vector<weft::clock::time_point> due;
    for (int i = 0; i < 4; ++i) {
        s = next_tick(s, now, 10ms, missed_tick::burst);
        due.push_back(s);
    }
    CHECK(due == std::vector<weft::clock::time_point>{t0 + 10ms, t0 + 20ms, t0 + 30ms, t0 + 40ms});
}

TEST_CASE("delay moves the schedule to the late tick's time", "[runtime][ticker]") {
    CHECK(next_tick(t0, t0 + 35ms, 10ms, missed_tick::delay) == t0 + 45ms);
    CHECK(next_tick(t0, t0 + 10ms, 10ms, missed_tick::delay) == t0 + 20ms); // exactly one behind
}

TEST_CASE("skip drops the missed ticks and stays on the original grid", "[runtime][ticker]") {
    CHECK(next_tick(t0, t0 + 35ms, 10ms, missed_tick::skip) == t0 + 40ms);
    CHECK(next_tick(t0, t0 + 40ms, 10ms, missed_tick::skip) == t0 + 50ms); // on a due time: next
    CHECK(next_tick(t0, t0 + 10ms, 10ms, missed_tick::skip) == t0 + 20ms);
    CHECK(next_tick(t0, t0 + 1h + 5ms, 10ms, missed_tick::skip) == t0 + 1h + 10ms);
}

TEST_CASE("ticks come at their scheduled times and yield them", "[runtime][ticker]") {
    // Real time: a 2 ms ticker, five ticks. Each yields the scheduled time, start + k period,
    // and never comes before it.
    std::vector<weft::clock::time_point> got, woke;
    const weft::clock::time_point start = weft::clock::now();
    weft::run(
        [&]() -> task<> {
            weft::ticker t(start, 2ms);
            for (int i = 0; i < 5; ++i) {
                auto at = co_await t.tick();
                REQUIRE(at);
                got.push_back(*at);
                woke.push_back(weft::clock::now());
            }
        },
        weft::runtime_options{.workers = weft::testing::test_workers(2)});
    REQUIRE(got.size() == 5);
    for (std::size_t i = 0; i < got.size(); ++i) {
        CHECK(got[i] == start + static_cast<int>(i) * 2ms);
        CHECK(woke[i] >= got[i]);
    }
}

TEST_CASE(
    "reset starts the schedule again from now, with a new period if given", "[runtime][ticker]") {
    weft::ticker t(1h);
    CHECK(t.period() == 1h);
    CHECK(t.policy() == missed_tick::burst);
    const auto before = weft::clock::now();
    t.reset(5ms);
    CHECK(t.period() == 5ms);
    CHECK(t.next() >= before + 5ms);
    CHECK(t.next() <= weft::clock::now() + 5ms);
    weft::ticker z(weft::clock::now(), 0s);
    CHECK(
        z.period() >
        weft::clock::duration::zero()); // a zero period is 1 ns, not a spin on one time
}

TEST_CASE(
    "a cancelled task's pending tick ends with operation_canceled and keeps the schedule",
    "[runtime][ticker]") {
    // One worker: the yield lets the child run until it waits in tick(), then the cancel comes.
    weft::run(
        [&]() -> task<> {
            weft::ticker t(1h, missed_tick::skip);
            const auto due = t.next();
            auto h = weft::spawn(tick_error(t));
            co_await weft::yield_now();
            h.cancel();
            const std::error_code e = co_await h;
            CHECK(e == std::errc::operation_canceled);
            CHECK(t.next() == due);
        },
        weft::runtime_options{.workers = weft::testing::one_worker});
}

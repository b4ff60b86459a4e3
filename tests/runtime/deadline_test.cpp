// weft::deadline and weft::with_deadline: a deadline passed down a call chain bounds each call
// with what is left of it.
#include <weft/runtime.hpp>

#include "weft_test.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <system_error>

using weft::deadline;
using weft::result;
using weft::task;
using namespace std::chrono_literals;

namespace {

task<result<int>> call_taking(weft::clock::duration d, int v) {
    auto r = co_await weft::sleep_for(d); // sleep-ok: a call that takes d, cut by deadlines
    if (!r) {
        co_return r.error();
    }
    co_return v;
}

} // namespace

TEST_CASE("deadline arithmetic: remaining, expired, never, earliest", "[runtime][deadline]") {
    const auto d = deadline::after(1h);
    CHECK_FALSE(d.expired());
    CHECK(d.remaining() > 59min);
    CHECK(d.remaining() <= 1h);
    const auto past = deadline::after(-5s);
    CHECK(past.expired());
    CHECK(past.remaining() == weft::clock::duration::zero());
    CHECK(deadline::never().is_never());
    CHECK(d < deadline::never());
    CHECK(earliest(d, deadline::never()) == d);
    CHECK(earliest(deadline::never(), past) == past);
    const weft::clock::time_point tp = d; // goes wherever weft takes a time point
    CHECK(tp == d.time());
}

TEST_CASE("with_deadline bounds each call of a chain by what is left", "[runtime][deadline]") {
    // One 50 ms deadline for two calls: the first (5 ms) fits, the second (1 h) is cut at the
    // deadline with timed_out, well before its own length.
    const auto t0 = weft::clock::now();
    auto [first, second] = weft::run(
        [&]() -> task<std::pair<result<int>, result<int>>> {
            const auto d = deadline::after(50ms);
            auto a = co_await weft::with_deadline(d, call_taking(5ms, 1));
            auto b = co_await weft::with_deadline(d, call_taking(1h, 2));
            co_return std::pair{a, b};
        },
        weft::runtime_options{.workers = weft::testing::test_workers(2)});
    REQUIRE(first);
    CHECK(*first == 1);
    REQUIRE_FALSE(second);
    CHECK(second.error() == std::errc::timed_out);
    const auto took = weft::clock::now() - t0;
    CHECK(took >= 50ms);
    CHECK(took < 30s);
}

TEST_CASE(
    "with_deadline: a passed deadline times out at once, never does not bound",
    "[runtime][deadline]") {
    weft::run(
        [&]() -> task<> {
            auto late = co_await weft::with_deadline(deadline::after(-1s), call_taking(1h, 1));
            REQUIRE_FALSE(late);
            CHECK(late.error() == std::errc::timed_out);
            auto free = co_await weft::with_deadline(deadline::never(), call_taking(1ms, 7));
            REQUIRE(free);
            CHECK(*free == 7);
            const auto soon = deadline::after(1ms);
            auto slept = co_await weft::sleep_until(soon); // sleep-ok: a deadline is a time point
            CHECK(slept);
        },
        weft::runtime_options{.workers = weft::testing::test_workers(2)});
}

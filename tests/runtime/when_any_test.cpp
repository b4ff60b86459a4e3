// weft::when_any: the first task to finish wins; the losers are cancelled and awaited.
#include <weft/runtime.hpp>

#include "weft_test.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <random>
#include <system_error>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

using weft::task;
using weft::testing::test_error;
using namespace std::chrono_literals;

namespace {

/// What a losing child observed.
struct loser_report {
    std::atomic<bool> started{false};
    std::atomic<bool> finished{false};
    std::atomic<bool> cancelled{false};

    /// Not running: it never started, or it ended.
    bool settled() const { return started.load() == finished.load(); }
    /// Stopped by the cancellation: it never ran (cancelled before it started), or it ran and its
    /// sleep was cut short.
    bool stopped_by_cancel() const {
        return !started.load() || (finished.load() && cancelled.load());
    }
};

task<int> sleep_an_hour(loser_report& rep, int v) {
    rep.started.store(true);
    auto r = co_await weft::sleep_for(1h);
    rep.cancelled.store(r.error() == std::errc::operation_canceled);
    rep.finished.store(true);
    co_return v;
}

task<int> value_after_yields(int v, int yields) {
    for (int i = 0; i < yields; ++i) {
        co_await weft::yield_now();
    }
    co_return v;
}

/// Returns `v` once both losers have started (they then wait out an hour), so that there are
/// running losers to cancel.
task<int> value_once_losers_started(int v, const loser_report& x, const loser_report& y) {
    co_await weft::testing::yield_until([&] { return x.started.load() && y.started.load(); });
    co_return v;
}

task<int> throw_after_yields(int code, int yields) {
    for (int i = 0; i < yields; ++i) {
        co_await weft::yield_now();
    }
    throw test_error(code);
    co_return 0;
}

task<> void_after_yields(int yields) {
    for (int i = 0; i < yields; ++i) {
        co_await weft::yield_now();
    }
}

task<int> sleep_then(std::chrono::microseconds d, int v) {
    co_await weft::sleep_for(d);
    co_return v;
}

} // namespace

TEST_CASE("when_any returns the first task to finish, with its index", "[runtime][when_any]") {
    loser_report a, c;
    auto [index, value, losers_done, losers_cancelled] = weft::run(
        [&]() -> task<std::tuple<std::size_t, int, bool, bool>> {
            auto r = co_await weft::when_any(
                sleep_an_hour(a, 1), value_once_losers_started(2, a, c), sleep_an_hour(c, 3));
            // The losers were cancelled and awaited before when_any returned.
            co_return std::tuple{
                r.index,
                r.value,
                a.finished.load() && c.finished.load(),
                a.cancelled.load() && c.cancelled.load()};
        },
        weft::runtime_options{.workers = weft::testing::test_workers(2)});
    CHECK(index == 1);
    CHECK(value == 2);
    CHECK(losers_done);
    CHECK(losers_cancelled);
}

TEST_CASE(
    "when_any of a vector returns the first to finish and awaits the losers",
    "[runtime][when_any]") {
    std::vector<loser_report> reps(5);
    std::vector<bool> settled(5, false);
    auto [index, value] = weft::run(
        [&]() -> task<std::pair<std::size_t, int>> {
            std::vector<task<int>> ts;
            for (int i = 0; i < 5; ++i) {
                if (i == 3) {
                    ts.push_back(value_after_yields(30, 0));
                } else {
                    ts.push_back(sleep_an_hour(reps[static_cast<std::size_t>(i)], i));
                }
            }
            auto r = co_await weft::when_any(std::move(ts));
            // No loser still runs once when_any returns.
            for (std::size_t i = 0; i < reps.size(); ++i) {
                settled[i] = reps[i].settled();
            }
            co_return std::pair{r.index, r.value};
        },
        weft::runtime_options{.workers = weft::testing::test_workers(3)});
    CHECK(index == 3);
    CHECK(value == 30);
    for (std::size_t i = 0; i < reps.size(); ++i) {
        if (i != 3) {
            INFO("loser " << i);
            // The winner needs no yield, so a loser may be cancelled before it starts; then it
            // never runs.
            CHECK(settled[i]);
            CHECK(reps[i].stopped_by_cancel());
        }
    }
}

TEST_CASE("when_any rethrows the winner's exception", "[runtime][when_any]") {
    loser_report a;
    bool settled = false;
    int code = weft::run(
        [&]() -> task<int> {
            try {
                co_await weft::when_any(sleep_an_hour(a, 0), throw_after_yields(31, 1));
            } catch (const test_error& e) {
                settled = a.settled();
                co_return e.code;
            }
            co_return -1;
        },
        weft::runtime_options{.workers = weft::testing::test_workers(2)});
    CHECK(code == 31);
    CHECK(settled);
    CHECK(a.stopped_by_cancel());
}

TEST_CASE("when_any of one task returns it", "[runtime][when_any]") {
    auto r = weft::run(
        []() -> task<int> {
            auto w = co_await weft::when_any(value_after_yields(8, 2));
            co_return w.index == 0 ? w.value : -1;
        },
        weft::runtime_options{.workers = weft::testing::test_workers(1)});
    CHECK(r == 8);
}

TEST_CASE(
    "when_any of void tasks gives the winner's index and std::monostate", "[runtime][when_any]") {
    auto index = weft::run(
        []() -> task<std::size_t> {
            weft::when_any_result<void> r =
                co_await weft::when_any(void_after_yields(50), void_after_yields(0));
            [[maybe_unused]] std::monostate m = r.value;
            co_return r.index;
        },
        weft::runtime_options{.workers = weft::testing::one_worker});
    CHECK(index == 1);
}

TEST_CASE(
    "when_any of tasks that finish at about the same time picks one of them",
    "[runtime][when_any]") {
    weft::runtime rt(weft::runtime_options{.workers = weft::testing::test_workers(4)});
    std::mt19937 rng(5);
    for (int i = 0; i < 200; ++i) {
        auto d1 = std::chrono::microseconds(rng() % 100);
        auto d2 = std::chrono::microseconds(rng() % 100);
        auto r = rt.block_on([](auto a, auto b) -> task<std::pair<std::size_t, int>> {
            auto w = co_await weft::when_any(sleep_then(a, 10), sleep_then(b, 11));
            co_return std::pair{w.index, w.value};
        }(d1, d2));
        REQUIRE(r.first < 2);
        REQUIRE(r.second == 10 + static_cast<int>(r.first));
    }
}

// weft::yield_now: a yielding task lets the other queued tasks run before it continues.
#include <weft/runtime.hpp>

#include "weft_test.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

using weft::join_handle;
using weft::task;

namespace {

/// Appends `id` to `log` `n` times, yielding after each. One worker: no lock needed.
task<> take_turns(std::string& log, char id, int n) {
    for (int i = 0; i < n; ++i) {
        log.push_back(id);
        co_await weft::yield_now();
    }
}

task<> wait_for_flag(std::atomic<bool>& flag, std::atomic<bool>& ok) {
    ok = co_await weft::testing::yield_until([&] { return flag.load(std::memory_order_acquire); });
}

task<> set_true(std::atomic<bool>& flag) {
    flag.store(true, std::memory_order_release);
    co_return;
}

/// Longest run of one character in `s`.
std::size_t longest_run(const std::string& s) {
    std::size_t best = 0, run = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        run = (i > 0 && s[i] == s[i - 1]) ? run + 1 : 1;
        best = std::max(best, run);
    }
    return best;
}

} // namespace

TEST_CASE("two tasks that yield on one worker alternate", "[runtime][yield]") {
    constexpr int turns = 500;
    std::string log = weft::run(
        []() -> task<std::string> {
            std::string l;
            auto a = weft::spawn(take_turns(l, 'a', turns));
            auto b = weft::spawn(take_turns(l, 'b', turns));
            co_await a;
            co_await b;
            co_return l;
        },
        weft::runtime_options{.workers = weft::testing::one_worker});
    REQUIRE(log.size() == 2 * turns);
    INFO(log);
    CHECK(longest_run(log) == 1);
}

TEST_CASE(
    "two tasks that yield on one worker alternate, whatever the scheduler tick's phase",
    "[runtime][yield]") {
    // The worker loop does something different every 61st turn (its fairness tick). Where that
    // tick falls depends on how many turns the worker took before: main shifts it by yielding
    // alone 0..121 times before it starts each pair, so every phase of the tick is tried (run's
    // own start-up leaves the phase to chance, which made a single pair fail now and then).
    constexpr int turns = 100;
    std::vector<std::size_t> longest = weft::run(
        []() -> task<std::vector<std::size_t>> {
            std::vector<std::size_t> runs;
            for (int phase = 0; phase < 122; ++phase) {
                for (int i = 0; i < phase; ++i) {
                    co_await weft::yield_now();
                }
                std::string l;
                auto a = weft::spawn(take_turns(l, 'a', turns));
                auto b = weft::spawn(take_turns(l, 'b', turns));
                co_await a;
                co_await b;
                runs.push_back(longest_run(l));
            }
            co_return runs;
        },
        weft::runtime_options{.workers = weft::testing::one_worker});
    REQUIRE(longest.size() == 122);
    for (std::size_t phase = 0; phase < longest.size(); ++phase) {
        INFO("phase " << phase);
        CHECK(longest[phase] == 1);
    }
}

TEST_CASE("yield_now lets a task queued behind the yielder run", "[runtime][yield]") {
    // One worker: the waiter can only see the flag if yielding lets the setter run.
    std::atomic<bool> flag{false}, ok{false};
    weft::run(
        [&]() -> task<> {
            auto w = weft::spawn(wait_for_flag(flag, ok));
            auto s = weft::spawn(set_true(flag));
            co_await w;
            co_await s;
        },
        weft::runtime_options{.workers = weft::testing::one_worker});
    CHECK(ok.load());
}

TEST_CASE("yield_now resumes the task on a worker of the same runtime", "[runtime][yield]") {
    const std::size_t workers = weft::testing::test_workers(3);
    weft::runtime rt(weft::runtime_options{.workers = workers});
    bool ok = rt.block_on([](std::size_t n) -> task<bool> {
        for (int i = 0; i < 100; ++i) {
            co_await weft::yield_now();
            if (weft::current_workers() != n) {
                co_return false;
            }
        }
        co_return true;
    }(workers));
    CHECK(ok);
    CHECK(rt.metrics().total().yields >= 100);
}

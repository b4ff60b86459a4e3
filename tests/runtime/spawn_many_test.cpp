// weft::spawn_many and weft::join_all: batch spawn set up like spawn, results in order, join_all
// waits for every child and rethrows the lowest-index failure.
#include <weft/runtime.hpp>

#include "weft_test.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstddef>
#include <stdexcept>
#include <vector>

using weft::join_handle;
using weft::task;
using weft::testing::test_error;
using namespace std::chrono_literals;

namespace {

task<int> square(std::size_t i) {
    co_return static_cast<int>(i * i);
}

task<int> after_yields(int v, int yields) {
    for (int i = 0; i < yields; ++i) {
        co_await weft::yield_now();
    }
    co_return v;
}

// Child 3 fails late, child 7 early, the others finish after more yields than either.
task<int> child_of_twenty(std::size_t i, std::atomic<int>& finished) {
    const int yields = i == 3 ? 20 : i == 7 ? 0 : 50;
    for (int k = 0; k < yields; ++k) {
        co_await weft::yield_now();
    }
    finished.fetch_add(1);
    if (i == 3 || i == 7) {
        throw test_error(static_cast<int>(i));
    }
    co_return static_cast<int>(i);
}

// The code of the failure join_all rethrew.
task<int> lowest_failure(std::atomic<int>& finished) {
    auto hs = weft::spawn_many(20, [&](std::size_t i) { return child_of_twenty(i, finished); });
    int code = 0;
    try {
        (void)co_await weft::join_all(std::move(hs));
    } catch (const test_error& e) {
        code = e.code;
    }
    co_return code;
}

task<> bump(std::atomic<int>& n) {
    n.fetch_add(1);
    co_return;
}

task<bool> sees_cancellation(std::atomic<int>& started) {
    started.fetch_add(1, std::memory_order_release);
    auto r = co_await weft::sleep_for(1h);
    co_return r.error() == std::errc::operation_canceled;
}

weft::runtime_options workers(std::size_t n) {
    return weft::runtime_options{.workers = weft::testing::test_workers(n)};
}

} // namespace

TEST_CASE("spawn_many of N returns handles whose results are in order", "[runtime][spawn_many]") {
    const std::size_t n = GENERATE(std::size_t{0}, std::size_t{1}, std::size_t{5000});
    auto v = weft::run(
        [n]() -> task<std::vector<int>> {
            auto hs = weft::spawn_many(n, [](std::size_t i) { return square(i); });
            CHECK(hs.size() == n);
            std::vector<int> out;
            for (auto& h : hs) {
                out.push_back(co_await h);
            }
            co_return out;
        },
        workers(4));
    REQUIRE(v.size() == n);
    for (std::size_t i = 0; i < n; ++i) {
        REQUIRE(v[i] == static_cast<int>(i * i));
    }
}

TEST_CASE("spawn_many of a vector of tasks, joined with join_all", "[runtime][spawn_many]") {
    auto v = weft::run(
        []() -> task<std::vector<int>> {
            std::vector<task<int>> ts;
            for (int i = 0; i < 100; ++i) {
                ts.push_back(after_yields(i, i % 7));
            }
            co_return co_await weft::join_all(weft::spawn_many(std::move(ts), "child"));
        },
        workers(3));
    REQUIRE(v.size() == 100);
    for (int i = 0; i < 100; ++i) {
        REQUIRE(v[static_cast<std::size_t>(i)] == i);
    }
}

TEST_CASE("join_all of void tasks waits for all", "[runtime][spawn_many]") {
    std::atomic<int> n{0};
    weft::run(
        [&]() -> task<> {
            co_await weft::join_all(weft::spawn_many(1000, [&](std::size_t) { return bump(n); }));
        },
        workers(3));
    CHECK(n.load() == 1000);
}

TEST_CASE(
    "join_all rethrows the lowest-index failure after every child has finished",
    "[runtime][spawn_many]") {
    std::atomic<int> finished{0};
    const int code = weft::run([&] { return lowest_failure(finished); }, workers(2));
    CHECK(code == 3);
    CHECK(finished.load() == 20); // not cancelled: every child ran to its end
}

TEST_CASE("spawn_many children inherit the spawner's cancellation", "[runtime][spawn_many]") {
    std::atomic<int> started{0};
    auto v = weft::run(
        [&]() -> task<std::vector<bool>> {
            auto inner = weft::spawn([&]() -> task<std::vector<bool>> {
                co_return co_await weft::join_all(
                    weft::spawn_many(10, [&](std::size_t) { return sees_cancellation(started); }));
            });
            // Every child is running (sleeping): the cancellation reaches them through the link.
            if (!co_await weft::testing::yield_until(
                    [&] { return started.load(std::memory_order_acquire) == 10; })) {
                throw std::runtime_error("the children did not start");
            }
            inner.cancel();
            co_return co_await inner;
        },
        workers(2));
    REQUIRE(v.size() == 10);
    for (bool c : v) {
        CHECK(c);
    }
}

TEST_CASE("a throwing fn leaves no task behind", "[runtime][spawn_many]") {
    std::atomic<int> n{0};
    bool threw = false;
    weft::run(
        [&]() -> task<> {
            try {
                auto hs = weft::spawn_many(10, [&](std::size_t i) {
                    if (i == 5) {
                        throw std::runtime_error("no");
                    }
                    return bump(n);
                });
            } catch (const std::runtime_error&) {
                threw = true;
            }
            co_return;
        },
        workers(2));
    CHECK(threw);
    CHECK(n.load() == 0); // none of the five made ran
}

TEST_CASE("spawn_many outside a runtime throws", "[runtime][spawn_many]") {
    std::atomic<int> n{0};
    CHECK_THROWS_AS(
        (void)weft::spawn_many(3, [&](std::size_t) { return bump(n); }), std::logic_error);
    CHECK(n.load() == 0);
}

// Structured concurrency at a million children: when_all, a scope and spawn_many + join_all each
// finish a million trivial children with every result accounted for, in order.
#include <weft/runtime.hpp>

#include "weft_test.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstddef>
#include <vector>

using weft::task;

namespace {

// The sanitizers make each child 10-50 times dearer: the tests run fewer children there.
using weft::testing::under_sanitizer;

constexpr std::size_t million = under_sanitizer ? 50'000 : 1'000'000;

task<int> identity(std::size_t i) {
    co_return static_cast<int>(i);
}

// Writes its own slot (no two children share one) and counts itself.
task<> fill(std::vector<int>& out, std::atomic<long>& sum, std::size_t i) {
    out[i] = static_cast<int>(i);
    sum.fetch_add(static_cast<long>(i), std::memory_order_relaxed);
    co_return;
}

long triangle(std::size_t n) {
    return static_cast<long>(n) * static_cast<long>(n - 1) / 2;
}

weft::runtime_options workers() {
    return weft::runtime_options{.workers = weft::testing::test_workers(4)};
}

} // namespace

namespace {
/// How many entries of `v` do not hold their own index.
std::size_t out_of_place(const std::vector<int>& v) {
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < v.size(); ++i) {
        wrong += v[i] != static_cast<int>(i) ? 1 : 0;
    }
    return wrong;
}
} // namespace

TEST_CASE("when_all of a million children yields every result in order", "[runtime][million]") {
    auto v = weft::run(
        []() -> task<std::vector<int>> {
            std::vector<task<int>> ts;
            ts.reserve(million);
            for (std::size_t i = 0; i < million; ++i) {
                ts.push_back(identity(i));
            }
            co_return co_await weft::when_all(std::move(ts));
        },
        workers());
    REQUIRE(v.size() == million);
    CHECK(out_of_place(v) == 0);
}

TEST_CASE("a scope with a million children runs every one", "[runtime][million]") {
    std::vector<int> out(million, -1);
    std::atomic<long> sum{0};
    weft::run(
        [&]() -> task<> {
            weft::scope s;
            for (std::size_t i = 0; i < million; ++i) {
                s.spawn(fill(out, sum, i));
            }
            co_await s.join();
        },
        workers());
    CHECK(sum.load() == triangle(million));
    CHECK(out_of_place(out) == 0);
}

TEST_CASE(
    "spawn_many of a million children, joined with join_all, in order", "[runtime][million]") {
    auto v = weft::run(
        []() -> task<std::vector<int>> {
            co_return co_await weft::join_all(
                weft::spawn_many(million, [](std::size_t i) { return identity(i); }));
        },
        workers());
    REQUIRE(v.size() == million);
    CHECK(out_of_place(v) == 0);
}

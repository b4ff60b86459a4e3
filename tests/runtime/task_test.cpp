// weft::task<T>: values, void, exceptions, move-only ownership, laziness, symmetric transfer.
#include <weft/runtime.hpp>

#include "../sync/sync_test.hpp" // run_in_child
#include "weft_test.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <type_traits>
#include <utility>

using weft::task;
using weft::testing::counted;
using weft::testing::lifetime_counts;
using weft::testing::test_error;

namespace {

task<int> forty_two() {
    co_return 42;
}

task<int> add(int a, int b) {
    co_return a + b;
}

task<> set_flag(bool& flag) {
    flag = true;
    co_return;
}

task<int> throws_test_error(int code) {
    throw test_error(code);
    co_return 0;
}

task<> void_throws(int code) {
    throw test_error(code);
    co_return;
}

task<std::unique_ptr<int>> make_unique_int(int v) {
    co_return std::make_unique<int>(v);
}

task<int> take_counted(counted c) {
    co_return c.value;
}

task<long> depth_sum(int depth) {
    if (depth == 0) {
        co_return 0;
    }
    co_return depth + co_await depth_sum(depth - 1);
}

weft::runtime_options one_worker() {
    return weft::runtime_options{.workers = weft::testing::one_worker};
}

} // namespace

TEST_CASE("a task produces its value through co_await", "[runtime][task]") {
    int v = weft::run(
        []() -> task<int> { co_return co_await add(co_await forty_two(), 8); }, one_worker());
    CHECK(v == 50);
}

TEST_CASE("a void task runs to completion through co_await", "[runtime][task]") {
    bool flag = false;
    weft::run([&]() -> task<> { co_await set_flag(flag); }, one_worker());
    CHECK(flag);
}

TEST_CASE("an exception thrown in a task reaches the awaiter", "[runtime][task]") {
    int code = weft::run(
        []() -> task<int> {
            try {
                co_await throws_test_error(7);
            } catch (const test_error& e) {
                co_return e.code;
            }
            co_return -1;
        },
        one_worker());
    CHECK(code == 7);
}

TEST_CASE("an exception thrown in a void task reaches the awaiter", "[runtime][task]") {
    int code = weft::run(
        []() -> task<int> {
            try {
                co_await void_throws(9);
            } catch (const test_error& e) {
                co_return e.code;
            }
            co_return -1;
        },
        one_worker());
    CHECK(code == 9);
}

TEST_CASE("an exception that escapes the main task is rethrown by run", "[runtime][task]") {
    CHECK_THROWS_AS(
        weft::run([]() -> task<int> { co_return co_await throws_test_error(3); }, one_worker()),
        test_error);
}

TEST_CASE("a task is move-only and a moved-from task is empty", "[runtime][task]") {
    STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<task<int>>);
    STATIC_REQUIRE_FALSE(std::is_copy_assignable_v<task<int>>);
    STATIC_REQUIRE(std::is_nothrow_move_constructible_v<task<int>>);
    STATIC_REQUIRE(std::is_nothrow_move_assignable_v<task<int>>);

    task<int> a = forty_two();
    CHECK(a.valid());
    task<int> b = std::move(a);
    CHECK_FALSE(a.valid()); // NOLINT(bugprone-use-after-move): the point of the test
    CHECK(b.valid());
    task<int> c;
    CHECK_FALSE(c.valid());
    c = std::move(b);
    CHECK(c.valid());
    CHECK_FALSE(b.valid()); // NOLINT(bugprone-use-after-move)

    int v = weft::run(
        [t = std::move(c)]() mutable -> task<int> { co_return co_await std::move(t); },
        one_worker());
    CHECK(v == 42);
}

TEST_CASE("a task does not run until it is awaited", "[runtime][task]") {
    bool ran = false;
    bool ran_before_await = true;
    weft::run(
        [&]() -> task<> {
            task<> t = set_flag(ran);
            ran_before_await = ran;
            co_await std::move(t);
        },
        one_worker());
    CHECK_FALSE(ran_before_await);
    CHECK(ran);
}

TEST_CASE("destroying a task that never ran frees it without running it", "[runtime][task]") {
    lifetime_counts counts;
    bool ran = false;
    {
        task<> t = set_flag(ran);
        task<int> u = take_counted(counted(counts, 5));
        CHECK(counts.alive() == 1); // the parameter copy lives in the frame
    }
    CHECK_FALSE(ran);
    CHECK(counts.alive() == 0);
}

TEST_CASE("a task can be awaited as an lvalue", "[runtime][task]") {
    int v = weft::run(
        []() -> task<int> {
            task<int> t = add(1, 2);
            co_return co_await t;
        },
        one_worker());
    CHECK(v == 3);
}

TEST_CASE("a task can produce a move-only value", "[runtime][task]") {
    int v = weft::run(
        []() -> task<int> {
            std::unique_ptr<int> p = co_await make_unique_int(11);
            co_return *p;
        },
        one_worker());
    CHECK(v == 11);
}

TEST_CASE("a task's parameters live in its frame until it finishes", "[runtime][task]") {
    lifetime_counts counts;
    int v = weft::run(
        [&]() -> task<int> { co_return co_await take_counted(counted(counts, 21)); }, one_worker());
    CHECK(v == 21);
    CHECK(counts.alive() == 0);
}

TEST_CASE("deeply nested inline awaits do not overflow the stack", "[runtime][task]") {
    // 100,000 nested frames: resuming the chain on the way out is symmetric transfer, not
    // recursion.
    constexpr int depth = 100'000;
    long sum = weft::run([]() -> task<long> { co_return co_await depth_sum(depth); }, one_worker());
    CHECK(sum == static_cast<long>(depth) * (depth + 1) / 2);
}

TEST_CASE("a task returning a string hands it over intact", "[runtime][task]") {
    std::string s =
        weft::run([]() -> task<std::string> { co_return std::string(1000, 'x'); }, one_worker());
    CHECK(s == std::string(1000, 'x'));
}

TEST_CASE("awaiting the same task twice stops with a message", "[runtime][task][death]") {
    // The first await takes the frame: the second finds the task empty and the assert fires,
    // instead of resuming a finished coroutine (a crash, or worse).
    auto out = weft::testing::run_in_child([] {
        weft::run(
            []() -> task<int> {
                task<int> t = add(1, 2);
                int a = co_await t;
                int b = co_await t;
                co_return a + b;
            },
            one_worker());
    });
    INFO(out.err);
    CHECK(out.died());
    CHECK(out.err.find("co_await on an empty weft::task") != std::string::npos);
}

// The callable forms of weft::spawn, weft::go, scope::spawn, runtime::spawn and block_on: the
// callable and its arguments live in the task's frame until it finishes.
//
// Each spawned lambda captures a std::string longer than the small-string buffer and a
// std::vector, and reads them only after the spawning statement has ended (it waits for a gate
// opened after it): were the closure destroyed with that statement, the reads would touch freed
// heap memory, which AddressSanitizer reports.
#include <weft/runtime.hpp>

#include "weft_test.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

using weft::task;
using weft::testing::counted;
using weft::testing::lifetime_counts;
using weft::testing::test_error;

namespace {

const std::string long_text(100, 's'); // past any small-string buffer: the bytes are on the heap
const std::vector<int> numbers{1, 2, 3, 4, 5};
const std::size_t expected = long_text.size() + 15;

/// A coroutine lambda with heap-owning captures that reads them once `gate` opens.
auto reader(const std::atomic<bool>& gate) {
    std::string s = long_text;
    std::vector<int> v = numbers;
    return [s, v, &gate]() -> task<std::size_t> {
        co_await weft::testing::yield_until([&] { return gate.load(); });
        co_return static_cast<std::size_t>(std::count(s.begin(), s.end(), 's')) +
            static_cast<std::size_t>(std::accumulate(v.begin(), v.end(), 0));
    };
}

weft::runtime_options options() {
    return weft::runtime_options{.workers = weft::testing::test_workers(2)};
}

task<int> take_unique(std::unique_ptr<int> p, int add) {
    co_return *p + add;
}

task<int> value_of_counted(const counted& c) {
    co_await weft::yield_now();
    co_return c.value;
}

} // namespace

TEST_CASE("weft::spawn(lambda) keeps the closure alive until the task ends", "[runtime][spawn]") {
    std::size_t got = weft::run(
        []() -> task<std::size_t> {
            std::atomic<bool> gate{false};
            auto h = weft::spawn(reader(gate));
            gate = true;
            co_return co_await h;
        },
        options());
    CHECK(got == expected);
}

TEST_CASE("weft::spawn(named, f, args...) passes the name and the arguments", "[runtime][spawn]") {
    std::mutex mu;
    std::string seen_name;
    auto opts = options();
    opts.on_detached_exception = [&](const char* name, std::exception_ptr) {
        std::lock_guard lk(mu);
        seen_name = name != nullptr ? name : "(null)";
    };
    std::size_t got = weft::run(
        []() -> task<std::size_t> {
            std::atomic<bool> gate{false};
            auto h = weft::spawn(
                weft::named("adder"),
                [](std::string s,
                   std::vector<int> v,
                   const std::atomic<bool>& g) -> task<std::size_t> {
                    co_await weft::testing::yield_until([&] { return g.load(); });
                    co_return static_cast<std::size_t>(std::count(s.begin(), s.end(), 's')) +
                        static_cast<std::size_t>(std::accumulate(v.begin(), v.end(), 0));
                },
                long_text,
                numbers,
                std::cref(gate));
            gate = true;
            std::size_t v = co_await h;
            // A detached failure reports the name given first.
            auto failing = weft::spawn(weft::named("failing"), []() -> task<> {
                throw test_error(1);
                co_return;
            });
            failing.detach();
            co_return v;
        },
        std::move(opts));
    CHECK(got == expected);
    std::lock_guard lk(mu);
    CHECK(seen_name == "failing");
}

TEST_CASE("weft::go(lambda) keeps the closure alive until the task ends", "[runtime][spawn]") {
    std::atomic<std::size_t> got{0};
    std::atomic<bool> gate{false}; // out here: the second task may outlive main's frame
    bool finished = weft::run(
        [&]() -> task<bool> {
            auto body = reader(gate);
            weft::go([body, &got]() -> task<> { got = co_await body(); });
            weft::go(weft::named("go"), reader(gate)); // the result is dropped, the reads are not
            gate = true;
            co_return co_await weft::testing::yield_until([&] { return got.load() != 0; });
        },
        options());
    CHECK(finished);
    CHECK(got == expected);
}

TEST_CASE("scope::spawn(lambda) keeps the closure alive until the child ends", "[runtime][scope]") {
    std::size_t got = weft::run(
        []() -> task<std::size_t> {
            std::atomic<bool> gate{false};
            std::atomic<std::size_t> sum{0};
            weft::scope s;
            auto body = reader(gate);
            s.spawn([body, &sum]() -> task<> { sum += co_await body(); });
            s.spawn(
                weft::named("second"),
                [](decltype(body) b, std::atomic<std::size_t>& out) -> task<> {
                    out += co_await b();
                },
                body,
                std::ref(sum));
            s.spawn(reader(gate)); // the value is discarded; the reads still happen
            gate = true;
            co_await s.join();
            co_return sum.load();
        },
        options());
    CHECK(got == 2 * expected);
}

TEST_CASE("runtime::spawn and block_on take a callable and keep it alive", "[runtime][spawn]") {
    weft::runtime rt(options());
    std::atomic<bool> gate{false};
    auto h = rt.spawn(reader(gate));
    auto second = rt.spawn(weft::named("second"), reader(gate));
    gate = true;
    std::size_t a = rt.block_on([&h]() -> task<std::size_t> { co_return co_await h; });
    std::size_t b = rt.block_on(
        [](weft::join_handle<std::size_t> j) -> task<std::size_t> { co_return co_await j; },
        std::move(second));
    std::atomic<bool> open{true};
    std::size_t c = rt.block_on(reader(open));
    CHECK(a == expected);
    CHECK(b == expected);
    CHECK(c == expected);
}

TEST_CASE("move-only arguments and callables are moved into the task", "[runtime][spawn]") {
    int v = weft::run(
        []() -> task<int> {
            auto h = weft::spawn(take_unique, std::make_unique<int>(40), 2);
            auto p = std::make_unique<int>(7);
            auto owner = [p = std::move(p)]() -> task<int> {
                co_await weft::yield_now();
                co_return *p;
            };
            auto k = weft::spawn(std::move(owner));
            int a = co_await h;
            int b = co_await k;
            co_return a + b;
        },
        options());
    CHECK(v == 49);
}

TEST_CASE("an lvalue argument is copied, and the copies die with the task", "[runtime][spawn]") {
    lifetime_counts counts;
    int v = weft::run(
        [&]() -> task<int> {
            counted c(counts, 5);
            auto h = weft::spawn(value_of_counted, c);
            int got = co_await h;
            CHECK(counts.copied == 1);  // one copy into the frame; the rest are moves
            CHECK(counts.alive() == 1); // only `c`: the frame's copies are gone with the task
            co_return got;
        },
        options());
    CHECK(v == 5);
    CHECK(counts.alive() == 0);
}

TEST_CASE("an exception from the callable form reaches the join", "[runtime][spawn]") {
    int code = weft::run(
        []() -> task<int> {
            auto h = weft::spawn(
                [](int c) -> task<int> {
                    co_await weft::yield_now();
                    throw test_error(c);
                },
                7);
            try {
                co_await h;
            } catch (const test_error& e) {
                co_return e.code;
            }
            co_return -1;
        },
        options());
    CHECK(code == 7);
}

// The callable overloads never take a task, so the task forms (and their name) are chosen as
// before.
static_assert(weft::detail::task_factory<task<int> (*)()>);
static_assert(weft::detail::task_factory<task<int> (*)(int), long>);
static_assert(!weft::detail::task_factory<task<int>>);
static_assert(!weft::detail::task_factory<task<int>, const char*>);
static_assert(!weft::detail::task_factory<int (*)()>);
static_assert(!weft::detail::task_factory<weft::named, task<int> (*)()>);

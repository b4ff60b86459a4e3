// weft::spawn, weft::go, weft::join_handle and weft::runtime::spawn.
#include <weft/runtime.hpp>

#include "../sync/sync_test.hpp" // run_in_child
#include "weft_test.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

using weft::join_handle;
using weft::task;
using weft::testing::test_error;
using namespace std::chrono_literals;

namespace {

task<int> value_of(int v) {
    co_return v;
}

task<int> throws_test_error(int code) {
    throw test_error(code);
    co_return 0;
}

task<> set_after_yield(std::atomic<bool>& flag) {
    co_await weft::yield_now();
    flag.store(true, std::memory_order_release);
}

task<> void_throws(int code) {
    throw test_error(code);
    co_return;
}

task<> noop() {
    co_return;
}

task<> count_one(std::atomic<int>& n) {
    n.fetch_add(1);
    co_return;
}

task<> throw_after_start(std::atomic<bool>& started, int code) {
    started.store(true, std::memory_order_release);
    throw test_error(code);
    co_return;
}

/// Collects what on_detached_exception saw. The handler runs on a worker.
struct detached_log {
    std::mutex mu;
    std::vector<std::string> names;
    std::vector<int> codes;
    std::atomic<int> count{0};

    weft::runtime_options options(std::size_t workers) {
        weft::runtime_options o{.workers = workers};
        o.on_detached_exception = [this](const char* name, std::exception_ptr e) {
            int code = -1;
            try {
                std::rethrow_exception(e);
            } catch (const test_error& te) {
                code = te.code;
            } catch (...) {
            }
            std::lock_guard lk(mu);
            names.emplace_back(name != nullptr ? name : "(null)");
            codes.push_back(code);
            count.fetch_add(1, std::memory_order_release);
        };
        return o;
    }
};

task<std::uint64_t> join_sum(std::vector<join_handle<int>> hs) {
    std::uint64_t sum = 0;
    for (auto& h : hs) {
        sum += static_cast<std::uint64_t>(co_await h);
    }
    co_return sum;
}

// --- random spawn trees ---------------------------------------------------------------------

/// Value and children of a tree node, from its seed alone: the same tree however it is run.
struct node_shape {
    std::uint64_t value;
    int children;
    int how; // 0: spawn + join, 1: inline co_await, 2: when_all
};

node_shape shape_of(std::uint64_t seed, int depth) {
    std::uint64_t r = weft::testing::splitmix64(seed);
    node_shape s;
    s.value = r % 1000;
    s.children = depth == 0 ? 0 : static_cast<int>((r >> 16) % 5); // 0..4, mean 2
    if (depth >= 8 && s.children == 0) {
        s.children = 2; // keep the top of the tree bushy
    }
    s.how = static_cast<int>((r >> 32) % 3);
    return s;
}

std::uint64_t child_seed(std::uint64_t seed, int i) {
    return weft::testing::splitmix64(seed ^ (0x1234567ull * static_cast<std::uint64_t>(i + 1)));
}

std::uint64_t tree_sum_sequential(std::uint64_t seed, int depth) {
    node_shape s = shape_of(seed, depth);
    std::uint64_t sum = s.value;
    for (int i = 0; i < s.children; ++i) {
        sum += tree_sum_sequential(child_seed(seed, i), depth - 1);
    }
    return sum;
}

task<std::uint64_t> tree_sum(std::uint64_t seed, int depth) {
    node_shape s = shape_of(seed, depth);
    std::uint64_t sum = s.value;
    if (s.how == 0) {
        std::vector<join_handle<std::uint64_t>> hs;
        for (int i = 0; i < s.children; ++i) {
            hs.push_back(weft::spawn(tree_sum(child_seed(seed, i), depth - 1)));
        }
        for (auto& h : hs) {
            sum += co_await h;
        }
    } else if (s.how == 1) {
        for (int i = 0; i < s.children; ++i) {
            sum += co_await tree_sum(child_seed(seed, i), depth - 1);
        }
    } else {
        std::vector<task<std::uint64_t>> ts;
        for (int i = 0; i < s.children; ++i) {
            ts.push_back(tree_sum(child_seed(seed, i), depth - 1));
        }
        for (std::uint64_t v : co_await weft::when_all(std::move(ts))) {
            sum += v;
        }
    }
    co_return sum;
}

std::uint64_t check_tree(std::size_t workers, std::uint64_t seed) {
    return weft::run(tree_sum(seed, 10), weft::runtime_options{.workers = workers});
}

// --- outside spawns ------------------------------------------------------------------------

/// From `threads` plain threads at once: runtime::spawn `per_thread` tasks each, join them with
/// block_on, and also block_on a task directly. Returns the number of threads whose sums matched.
int outside_spawns(weft::runtime& rt, int threads, int per_thread) {
    std::atomic<int> ok{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) {
        ts.emplace_back([&, t] {
            while (!go.load(std::memory_order_acquire)) {
                std::this_thread::yield();
            }
            std::vector<join_handle<int>> hs;
            std::uint64_t expected = 0;
            for (int i = 0; i < per_thread; ++i) {
                int v = t * 100'000 + i;
                expected += static_cast<std::uint64_t>(v);
                hs.push_back(rt.spawn(value_of(v)));
            }
            std::uint64_t got = rt.block_on(join_sum(std::move(hs)));
            int direct = rt.block_on(value_of(t));
            if (got == expected && direct == t) {
                ok.fetch_add(1);
            }
        });
    }
    go.store(true, std::memory_order_release);
    for (auto& th : ts) {
        th.join();
    }
    return ok.load();
}

} // namespace

TEST_CASE("a spawned task's value is delivered through its join handle", "[runtime][spawn]") {
    int v = weft::run(
        []() -> task<int> {
            join_handle<int> h = weft::spawn(value_of(5), "five");
            CHECK(h.valid());
            int r = co_await h;
            CHECK_FALSE(h.valid()); // joined: the handle is consumed
            co_return r;
        },
        weft::runtime_options{.workers = weft::testing::test_workers(2)});
    CHECK(v == 5);
}

TEST_CASE("a void spawned task can be joined", "[runtime][spawn]") {
    std::atomic<bool> flag{false};
    weft::run(
        [&]() -> task<> {
            join_handle<> h = weft::spawn(set_after_yield(flag));
            co_await h;
        },
        weft::runtime_options{.workers = weft::testing::test_workers(2)});
    CHECK(flag.load());
}

TEST_CASE("many void tasks are spawned and joined", "[runtime][spawn]") {
    std::atomic<int> count{0};
    weft::run(
        [&]() -> task<> {
            std::vector<join_handle<>> hs;
            for (int i = 0; i < 1000; ++i) {
                hs.push_back(weft::spawn(count_one(count)));
            }
            for (auto& h : hs) {
                co_await h;
            }
        },
        weft::runtime_options{.workers = weft::testing::test_workers(4)});
    CHECK(count.load() == 1000);
}

TEST_CASE("run and block_on accept a void task", "[runtime][spawn]") {
    weft::run(noop(), weft::runtime_options{.workers = weft::testing::test_workers(1)});
    weft::runtime rt(weft::runtime_options{.workers = weft::testing::test_workers(1)});
    rt.block_on(noop());
    CHECK_THROWS_AS(rt.block_on(void_throws(1)), test_error);
}

TEST_CASE("a void spawned task's exception is rethrown by its join", "[runtime][spawn]") {
    int code = weft::run(
        []() -> task<int> {
            try {
                co_await weft::spawn(void_throws(2));
            } catch (const test_error& e) {
                co_return e.code;
            }
            co_return -1;
        },
        weft::runtime_options{.workers = weft::testing::test_workers(2)});
    CHECK(code == 2);
}

TEST_CASE("a spawned task's exception is rethrown by its join", "[runtime][spawn]") {
    int code = weft::run(
        []() -> task<int> {
            auto h = weft::spawn(throws_test_error(17));
            try {
                co_await h;
            } catch (const test_error& e) {
                co_return e.code;
            }
            co_return -1;
        },
        weft::runtime_options{.workers = weft::testing::test_workers(2)});
    CHECK(code == 17);
}

TEST_CASE("join of an already-finished task does not suspend", "[runtime][spawn]") {
    auto [ready, value] = weft::run(
        []() -> task<std::pair<bool, int>> {
            auto h = weft::spawn(value_of(8));
            CHECK(co_await weft::testing::yield_until([&] { return h.is_done(); }));
            auto aw = h.operator co_await();
            bool ready_now = aw.await_ready();
            int v = co_await h;
            co_return std::pair{ready_now, v};
        },
        weft::runtime_options{.workers = weft::testing::one_worker});
    CHECK(ready);
    CHECK(value == 8);
}

TEST_CASE("is_done turns true once the spawned task has finished", "[runtime][spawn]") {
    auto [before, after, empty] = weft::run(
        []() -> task<std::tuple<bool, bool, bool>> {
            auto h = weft::spawn(value_of(1));
            bool b = h.is_done(); // one worker: the task cannot have run yet
            bool done = co_await weft::testing::yield_until([&] { return h.is_done(); });
            co_await h;
            co_return std::tuple{b, done, h.is_done()};
        },
        weft::runtime_options{.workers = weft::testing::one_worker});
    CHECK_FALSE(before);
    CHECK(after);
    CHECK_FALSE(empty); // a joined (empty) handle is not "done"
}

TEST_CASE("a detached task runs to completion", "[runtime][spawn]") {
    std::atomic<bool> flag{false};
    bool seen = weft::run(
        [&]() -> task<bool> {
            auto h = weft::spawn(set_after_yield(flag));
            h.detach();
            CHECK_FALSE(h.valid());
            co_return co_await weft::testing::yield_until(
                [&] { return flag.load(std::memory_order_acquire); });
        },
        weft::runtime_options{.workers = weft::testing::test_workers(2)});
    CHECK(seen);
}

TEST_CASE("dropping a join handle detaches the task", "[runtime][spawn]") {
    std::atomic<bool> flag{false};
    bool seen = weft::run(
        [&]() -> task<bool> {
            { [[maybe_unused]] auto h = weft::spawn(set_after_yield(flag)); }
            co_return co_await weft::testing::yield_until(
                [&] { return flag.load(std::memory_order_acquire); });
        },
        weft::runtime_options{.workers = weft::testing::test_workers(2)});
    CHECK(seen);
}

TEST_CASE("go runs a task detached", "[runtime][spawn]") {
    std::atomic<bool> flag{false};
    bool seen = weft::run(
        [&]() -> task<bool> {
            weft::go(set_after_yield(flag), "setter");
            co_return co_await weft::testing::yield_until(
                [&] { return flag.load(std::memory_order_acquire); });
        },
        weft::runtime_options{.workers = weft::testing::test_workers(2)});
    CHECK(seen);
}

TEST_CASE(
    "a detached task's exception goes to on_detached_exception with the task's name",
    "[runtime][spawn]") {
    detached_log log;
    std::atomic<bool> started_go{false}, started_spawn{false}, started_done{false};
    {
        weft::runtime rt(log.options(weft::testing::test_workers(2)));
        rt.block_on([](std::atomic<bool>& a, std::atomic<bool>& b, std::atomic<bool>& c) -> task<> {
            // Detached before it runs (go), while it may be running (drop), and after it finished.
            weft::go(throw_after_start(a, 1), "by go");
            { [[maybe_unused]] auto h = weft::spawn(throw_after_start(b, 2), "by drop"); }
            auto h = weft::spawn(throw_after_start(c, 3), "after finish");
            co_await weft::testing::yield_until([&] { return h.is_done(); });
            h.detach(); // on a worker
        }(started_go, started_spawn, started_done));
        REQUIRE(weft::testing::wait_until(
            [&] { return log.count.load(std::memory_order_acquire) == 3; }));
    }
    std::vector<std::pair<std::string, int>> seen;
    for (std::size_t i = 0; i < log.names.size(); ++i) {
        seen.emplace_back(log.names[i], log.codes[i]);
    }
    std::sort(seen.begin(), seen.end());
    CHECK(
        seen == std::vector<std::pair<std::string, int>>{
                    {"after finish", 3}, {"by drop", 2}, {"by go", 1}});
}

TEST_CASE(
    "an unnamed detached task's exception reaches the handler with a null name",
    "[runtime][spawn]") {
    detached_log log;
    std::atomic<bool> started{false};
    {
        weft::runtime rt(log.options(weft::testing::one_worker));
        rt.block_on([](std::atomic<bool>& s) -> task<> {
            weft::go(throw_after_start(s, 4));
            co_return;
        }(started));
        REQUIRE(weft::testing::wait_until(
            [&] { return log.count.load(std::memory_order_acquire) == 1; }));
    }
    REQUIRE(log.names.size() == 1);
    CHECK(log.names[0] == "(null)");
    CHECK(log.codes[0] == 4);
}

TEST_CASE(
    "a runtime::spawn handle dropped on a plain thread after the task threw reaches "
    "on_detached_exception",
    "[runtime][spawn]") {
    detached_log log;
    std::atomic<bool> started{false};
    weft::runtime rt(log.options(weft::testing::one_worker));
    auto h = rt.spawn(throw_after_start(started, 5), "outside");
    REQUIRE(weft::testing::wait_until([&] { return h.is_done(); }));
    h.detach(); // on the test's thread, not a worker
    rt.shutdown();
    CHECK(log.count.load() == 1);
}

TEST_CASE("cancel has no effect on a finished task", "[runtime][spawn]") {
    int v = weft::run(
        []() -> task<int> {
            auto h = weft::spawn(value_of(3));
            co_await weft::testing::yield_until([&] { return h.is_done(); });
            h.cancel();
            h.cancel(); // idempotent
            co_return co_await h;
        },
        weft::runtime_options{.workers = weft::testing::one_worker});
    CHECK(v == 3);
}

TEST_CASE("weft::spawn outside a runtime throws std::logic_error", "[runtime][spawn]") {
    CHECK_THROWS_AS(weft::spawn(value_of(1)), std::logic_error);
    CHECK_THROWS_AS(weft::go(value_of(1)), std::logic_error);
}

TEST_CASE("a join handle is move-only and a moved-from handle is empty", "[runtime][spawn]") {
    STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<join_handle<int>>);
    STATIC_REQUIRE(std::is_nothrow_move_constructible_v<join_handle<int>>);
    int v = weft::run(
        []() -> task<int> {
            auto a = weft::spawn(value_of(6));
            join_handle<int> b = std::move(a);
            CHECK_FALSE(a.valid()); // NOLINT(bugprone-use-after-move)
            join_handle<int> c;
            c = std::move(b);
            co_return co_await c;
        },
        weft::runtime_options{.workers = weft::testing::test_workers(2)});
    CHECK(v == 6);
}

TEST_CASE("joining the same handle twice stops with a message", "[runtime][spawn][death]") {
    // The first join takes the task's frame and frees it: the second finds the handle empty and
    // the assert fires, instead of reading a freed frame.
    auto out = weft::testing::run_in_child([] {
        weft::run(
            []() -> task<int> {
                auto h = weft::spawn(value_of(3));
                int a = co_await h;
                int b = co_await h;
                co_return a + b;
            },
            weft::runtime_options{.workers = weft::testing::one_worker});
    });
    INFO(out.err);
    CHECK(out.died());
    CHECK(out.err.find("co_await on an empty weft::join_handle") != std::string::npos);
}

TEST_CASE("1,000,000 spawned tasks are all joined with the right sum", "[runtime][spawn]") {
    constexpr int n = 1'000'000;
    auto sum = weft::run(
        []() -> task<std::uint64_t> {
            std::vector<join_handle<int>> hs;
            hs.reserve(n);
            for (int i = 0; i < n; ++i) {
                hs.push_back(weft::spawn(value_of(i)));
            }
            std::uint64_t s = 0;
            for (auto& h : hs) {
                s += static_cast<std::uint64_t>(co_await h);
            }
            co_return s;
        },
        weft::runtime_options{.workers = weft::testing::test_workers(4)});
    CHECK(sum == static_cast<std::uint64_t>(n) * (n - 1) / 2);
}

TEST_CASE("random spawn trees of depth 10 produce the sequential sum", "[runtime][spawn]") {
    for (std::uint64_t seed : {1ull, 2ull, 3ull}) {
        for (std::size_t workers : {1u, 2u, 4u}) { // fixed: the test covers each count itself
            INFO("seed " << seed << ", " << workers << " workers");
            CHECK(check_tree(workers, seed) == tree_sum_sequential(seed, 10));
        }
    }
}

TEST_CASE("8 outside threads spawn and block_on at once", "[runtime][spawn]") {
    weft::runtime rt(weft::runtime_options{.workers = weft::testing::test_workers(4)});
    CHECK(outside_spawns(rt, 8, 1000) == 8);
    CHECK(rt.metrics().injected >= 8 * 1001);
}

TEST_CASE("stress: random spawn trees", "[.][stress][runtime][spawn]") {
    const int iters = weft::testing::stress_iters(200);
    for (int i = 0; i < iters; ++i) {
        auto seed = static_cast<std::uint64_t>(1000 + i);
        // 2..8 workers in turn, or WEFT_WORKERS for every iteration when set.
        std::size_t workers =
            weft::testing::test_workers(2 + static_cast<std::size_t>(i % 7)); // 2..8
        INFO("seed " << seed << ", " << workers << " workers");
        REQUIRE(check_tree(workers, seed) == tree_sum_sequential(seed, 10));
    }
}

TEST_CASE("stress: outside threads spawn and block_on at once", "[.][stress][runtime][spawn]") {
    const int iters = weft::testing::stress_iters(200);
    for (int i = 0; i < iters; ++i) {
        // 2..8 workers in turn, or WEFT_WORKERS for every iteration when set.
        std::size_t workers = weft::testing::test_workers(2 + static_cast<std::size_t>(i % 7));
        INFO("iteration " << i << ", " << workers << " workers");
        weft::runtime rt(weft::runtime_options{.workers = workers});
        REQUIRE(outside_spawns(rt, 8, 50) == 8);
    }
}

// weft::spawn_blocking: values, exceptions, and the worker stays free while the call blocks.
#include <weft/runtime.hpp>

#include "weft_test.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <semaphore>
#include <string>
#include <thread>
#include <vector>

using weft::join_handle;
using weft::task;
using weft::testing::test_error;

namespace {

task<> release_one(std::binary_semaphore& sem) {
    sem.release();
    co_return;
}

task<int> blocking_square(int v) {
    co_return co_await weft::spawn_blocking([v] { return v * v; });
}

} // namespace

TEST_CASE("spawn_blocking returns the callable's value", "[runtime][spawn_blocking]") {
    int v = weft::run(
        []() -> task<int> { co_return co_await weft::spawn_blocking([] { return 6 * 7; }); },
        weft::runtime_options{.workers = weft::testing::test_workers(1)});
    CHECK(v == 42);
}

TEST_CASE("spawn_blocking runs a void callable", "[runtime][spawn_blocking]") {
    std::atomic<bool> ran{false};
    weft::run(
        [&]() -> task<> { co_await weft::spawn_blocking([&] { ran.store(true); }); },
        weft::runtime_options{.workers = weft::testing::test_workers(1)});
    CHECK(ran.load());
}

TEST_CASE("spawn_blocking rethrows the callable's exception", "[runtime][spawn_blocking]") {
    int code = weft::run(
        []() -> task<int> {
            try {
                co_await weft::spawn_blocking([]() -> int { throw test_error(13); });
            } catch (const test_error& e) {
                co_return e.code;
            }
            co_return -1;
        },
        weft::runtime_options{.workers = weft::testing::test_workers(1)});
    CHECK(code == 13);
}

TEST_CASE("spawn_blocking takes move-only callables and results", "[runtime][spawn_blocking]") {
    int v = weft::run(
        []() -> task<int> {
            auto p = std::make_unique<int>(5);
            // A named lambda, moved in. GCC 12 destroys a lambda with an init-capture twice when
            // the lambda is a temporary inside a co_await expression (a compiler bug, with or
            // without weft): `co_await spawn_blocking([p = std::move(p)] {...})` double-frees.
            auto give_back = [p = std::move(p)]() mutable { return std::move(p); };
            std::unique_ptr<int> q = co_await weft::spawn_blocking(std::move(give_back));
            co_return *q;
        },
        weft::runtime_options{.workers = weft::testing::test_workers(1)});
    CHECK(v == 5);
}

TEST_CASE(
    "spawn_blocking runs the call on another thread and resumes on a worker",
    "[runtime][spawn_blocking]") {
    const std::size_t workers = weft::testing::test_workers(2);
    auto [same_thread, on_worker] = weft::run(
        [workers]() -> task<std::pair<bool, bool>> {
            auto caller = std::this_thread::get_id();
            auto callee = co_await weft::spawn_blocking([] { return std::this_thread::get_id(); });
            co_return std::pair{caller == callee, weft::current_workers() == workers};
        },
        weft::runtime_options{.workers = workers});
    CHECK_FALSE(same_thread);
    CHECK(on_worker);
}

TEST_CASE("spawn_blocking does not block the worker", "[runtime][spawn_blocking]") {
    // One worker. The blocking call waits for a semaphore that only another task releases; that
    // task can run only while the worker is free. On failure the wait times out instead of hanging.
    bool acquired = weft::run(
        []() -> task<bool> {
            std::binary_semaphore sem{0};
            auto releaser = weft::spawn(release_one(sem)); // queued behind us on the one worker
            bool got = co_await weft::spawn_blocking(
                [&] { return sem.try_acquire_for(weft::testing::patience); });
            co_await releaser;
            co_return got;
        },
        weft::runtime_options{.workers = weft::testing::one_worker});
    CHECK(acquired);
}

TEST_CASE("many spawn_blocking calls share a bounded pool", "[runtime][spawn_blocking]") {
    constexpr int n = 64;
    weft::runtime_options opts{.workers = weft::testing::test_workers(2)};
    opts.max_blocking_threads = 4;
    weft::runtime rt(std::move(opts));
    int sum = rt.block_on([]() -> task<int> {
        std::vector<join_handle<int>> hs;
        for (int i = 0; i < n; ++i) {
            hs.push_back(weft::spawn(blocking_square(i)));
        }
        int s = 0;
        for (auto& h : hs) {
            s += co_await h;
        }
        co_return s;
    }());
    CHECK(sum == (n - 1) * n * (2 * n - 1) / 6);
    CHECK(rt.metrics().blocking_threads <= 4);
}

TEST_CASE("idle spawn_blocking threads exit after the keep-alive", "[runtime][spawn_blocking]") {
    weft::runtime_options opts{.workers = weft::testing::one_worker};
    opts.blocking_keep_alive = std::chrono::milliseconds(1);
    weft::runtime rt(std::move(opts));
    CHECK(rt.block_on(blocking_square(3)) == 9);
    CHECK(weft::testing::wait_until([&] { return rt.metrics().blocking_threads == 0; }));
}

TEST_CASE("shutdown waits for a running spawn_blocking call", "[runtime][spawn_blocking]") {
    std::atomic<bool> finished{false};
    std::binary_semaphore entered{0}, leave{0};
    {
        weft::runtime rt(weft::runtime_options{.workers = weft::testing::one_worker});
        rt.block_on(
            [](std::atomic<bool>& f,
               std::binary_semaphore& in,
               std::binary_semaphore& out) -> task<> {
                weft::go(
                    [](std::atomic<bool>& f2,
                       std::binary_semaphore& in2,
                       std::binary_semaphore& out2) -> task<> {
                        co_await weft::spawn_blocking([&] {
                            in2.release();
                            (void)out2.try_acquire_for(weft::testing::patience);
                        });
                        f2.store(true);
                    }(f, in, out));
                co_return;
            }(finished, entered, leave));
        REQUIRE(entered.try_acquire_for(weft::testing::patience));
        std::thread releaser([&] { leave.release(); });
        rt.shutdown(); // must wait for the call and the task that awaits it
        releaser.join();
    }
    CHECK(finished.load());
}

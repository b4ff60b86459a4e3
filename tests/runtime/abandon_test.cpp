// A runtime that ends with tasks still suspended (main returned while others wait on a channel or
// an event nobody will complete): the tasks are abandoned, as runtime.hpp documents. These tests
// check what the user relies on then: run() returns main's result (no false deadlock report), a
// later wake-up of an abandoned task from a plain thread does nothing, and the runtime leaves no
// descriptor or worker memory behind. The abandoned frames themselves stay allocated, so each
// scenario runs in a forked child that exits without the leak check.
#include <weft/runtime.hpp>
#include <weft/sync.hpp>

#include "../sync/sync_test.hpp" // run_in_child

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>
#include <vector>

#include <dirent.h>
#include <unistd.h>

namespace {

weft::task<> recv_on(weft::sync::channel<int>* ch) {
    (void)co_await ch->recv();
}

weft::task<> wait_on(weft::sync::event* ev) {
    (void)co_await ev->wait();
}

/// Open descriptors of this process.
int open_fds() {
    int n = 0;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (::readdir(d) != nullptr) {
            ++n;
        }
        ::closedir(d);
    }
    return n;
}

/// Resident memory of this process, in KiB.
long resident_kib() {
    std::ifstream statm("/proc/self/statm");
    long size = 0;
    long resident = 0;
    statm >> size >> resident;
    return resident * 4;
}

} // namespace

TEST_CASE(
    "main returning while other tasks stay blocked is a normal return, never a deadlock",
    "[runtime][abandon]") {
    // main's worker finishes main and parks as the last one: the deadlock check then sees every
    // remaining task blocked while block_on's waiter is still registered. It must not report, and
    // must not touch the waiter block_on is about to free (ASan saw a use after free here).
    auto out = weft::testing::run_in_child([] {
        const int rounds = weft::testing::stress_iters(300);
        int reported = 0;
        for (int round = 0; round < rounds; ++round) {
            auto* ch = new weft::sync::channel<int>(); // outlives the abandoned tasks
            weft::runtime_options opts;
            opts.workers = weft::testing::test_workers(2);
            try {
                const int r = weft::run(
                    [ch]() -> weft::task<int> {
                        auto a = weft::spawn(recv_on(ch));
                        auto b = weft::spawn(recv_on(ch));
                        co_await weft::yield_now();
                        co_return 7;
                    },
                    std::move(opts));
                if (r != 7) {
                    std::_Exit(5);
                }
            } catch (const std::system_error&) {
                ++reported;
            }
        }
        std::fprintf(stderr, "false deadlock reports: %d of %d\n", reported, rounds);
        std::_Exit(reported == 0 ? 3 : 4);
    });
    INFO(out.err.substr(0, 2000));
    CHECK(out.exited);
    CHECK(out.status == 3);
    CHECK(out.err.find("deadlock!") == std::string::npos);
}

TEST_CASE("waking an abandoned task after its runtime is gone does nothing", "[runtime][abandon]") {
    // The abandoned tasks' waiters name their runtime as home: a plain thread that later sets the
    // event or sends on the channel must not reach a freed scheduler (or a newer runtime that
    // got its address).
    auto out = weft::testing::run_in_child([] {
        const int rounds = weft::testing::stress_iters(100);
        for (int round = 0; round < rounds; ++round) {
            auto* ev = new weft::sync::event();
            auto* ch = new weft::sync::channel<int>();
            {
                weft::runtime rt(weft::runtime_options{.workers = weft::testing::test_workers(2)});
                auto a = rt.spawn(wait_on(ev));
                auto b = rt.spawn(recv_on(ch));
                // Both are parked once the runtime is idle; the join handles are dropped.
                (void)rt.block_on([]() -> weft::task<> { co_return; }());
            }
            // A newer runtime, which may get the old one's address.
            weft::runtime next(weft::runtime_options{.workers = weft::testing::test_workers(2)});
            std::thread waker([ev, ch, round] {
                ev->set();
                (void)ch->try_send(round);
            });
            waker.join();
            const int got = next.block_on([]() -> weft::task<int> { co_return 1; }());
            if (got != 1) {
                std::_Exit(5);
            }
        }
        std::_Exit(3);
    });
    INFO(out.err.substr(0, 2000));
    CHECK(out.exited);
    CHECK(out.status == 3);
}

TEST_CASE(
    "runtimes that abandon tasks leave no descriptor and no worker memory behind",
    "[runtime][abandon]") {
    auto out = weft::testing::run_in_child([] {
        const int rounds = 300;
        // One runtime first: what the process keeps once (the frame depot, allocator arenas).
        auto one_round = [] {
            auto* ch = new weft::sync::channel<int>();
            weft::runtime_options opts;
            opts.workers = weft::testing::test_workers(2);
            (void)weft::run(
                [ch]() -> weft::task<int> {
                    auto a = weft::spawn(recv_on(ch));
                    co_await weft::yield_now();
                    co_return 0;
                },
                std::move(opts));
        };
        one_round();
        const int fds_before = open_fds();
        const long kib_before = resident_kib();
        for (int round = 0; round < rounds; ++round) {
            one_round();
        }
        const int fds_after = open_fds();
        const long grown_kib = resident_kib() - kib_before;
        std::fprintf(
            stderr,
            "descriptors %d -> %d, resident memory grew by %ld KiB over %d runtimes\n",
            fds_before,
            fds_after,
            grown_kib,
            rounds);
        if (fds_after != fds_before) {
            std::_Exit(4);
        }
#if WEFT_FRAME_CACHE // under the sanitizers the allocator's quarantine makes RSS meaningless
        // Each round abandons a frame, a channel and the runtime's 1.5 KiB tombstone; the 2 MiB
        // of frame memory each worker thread carved from must be reused, not kept per thread.
        if (grown_kib > 16 * 1024) {
            std::_Exit(5);
        }
#endif
        std::_Exit(3);
    });
    INFO(out.err.substr(0, 2000));
    CHECK(out.exited);
    CHECK(out.status == 3);
}

TEST_CASE(
    "shutdown ends when tasks loop on sleep_for and yield_now ignoring operation_canceled",
    "[runtime][abandon]") {
    // Such tasks never finish. Shutdown must give them shutdown_grace, report them, abandon them
    // and return; a sleep that fails at once must still give the worker back.
    auto out = weft::testing::run_in_child([] {
        ::alarm(60); // a hang fails the test (SIGALRM) instead of the CTest timeout
        weft::runtime_options opts;
        opts.workers = weft::testing::test_workers(2);
        opts.shutdown_grace = std::chrono::milliseconds(200);
        const auto start = std::chrono::steady_clock::now();
        const int r = weft::run(
            []() -> weft::task<int> {
                for (int i = 0; i < 2; ++i) {
                    auto sleeper = weft::spawn([]() -> weft::task<> {
                        for (;;) {
                            (void)co_await weft::sleep_for(std::chrono::milliseconds(1));
                        }
                    }());
                    auto yielder = weft::spawn([]() -> weft::task<> {
                        for (;;) {
                            co_await weft::yield_now();
                        }
                    }());
                }
                co_await weft::sleep_for(std::chrono::milliseconds(5));
                co_return 9;
            },
            std::move(opts));
        const auto took = std::chrono::steady_clock::now() - start;
        std::fprintf(
            stderr,
            "run returned %d after %lld ms\n",
            r,
            static_cast<long long>(
                std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
        std::_Exit(r == 9 ? 3 : 4);
    });
    INFO(out.err.substr(0, 2000));
    CHECK(out.exited);
    CHECK(out.status == 3);
    CHECK(
        out.err.find("tasks still running 200 ms after the stop was requested") !=
        std::string::npos);
}

// Large allocations fail while this is set (failing_new.cpp replaces this test binary's global
// operator new).
namespace weft::testing {
extern std::atomic<bool> fail_large_allocations;
} // namespace weft::testing

#if WEFT_FRAME_CACHE // failing_new.cpp replaces operator new only without the sanitizers
TEST_CASE(
    "running out of memory while shutdown wakes many sleepers does not terminate",
    "[runtime][abandon]") {
    // Shutdown fires every timer and queues its task: 100,000 sleepers need the worker's wake-up
    // list to grow to 1 MiB. With allocations of 256 KiB and more failing, that growth fails; the
    // wake-ups must wait for room (the woken tasks run and finish), not throw bad_alloc out of a
    // noexcept path into std::terminate.
    auto out = weft::testing::run_in_child([] {
        ::alarm(60);
        constexpr int sleepers = 100'000;
        std::atomic<int> started{0};
        std::atomic<int> cancelled{0};
        weft::runtime_options opts;
        opts.workers = 1;
        const int r = weft::run(
            [&]() -> weft::task<int> {
                for (int i = 0; i < sleepers; ++i) {
                    weft::go([](std::atomic<int>& s, std::atomic<int>& c) -> weft::task<> {
                        s.fetch_add(1);
                        auto slept = co_await weft::sleep_for(std::chrono::hours(1));
                        if (!slept && slept.error() == std::errc::operation_canceled) {
                            c.fetch_add(1);
                        }
                    }(started, cancelled));
                }
                (void)co_await weft::testing::yield_until(
                    [&] { return started.load() == sleepers; });
                weft::testing::fail_large_allocations.store(true);
                co_return 11;
            },
            std::move(opts));
        weft::testing::fail_large_allocations.store(false);
        std::fprintf(
            stderr,
            "run returned %d, %d of %d sleepers cancelled\n",
            r,
            cancelled.load(),
            sleepers);
        std::_Exit(r == 11 && cancelled.load() == sleepers ? 3 : 4);
    });
    INFO(out.err.substr(0, 2000));
    CHECK(out.exited);
    CHECK(out.status == 3);
}
#endif

#if WEFT_FRAME_CACHE
namespace {
// One link of a chain of spawned tasks that keeps the worker's deque non-empty, so that wake-ups
// pile up in its wake-up list; once `stop` is set, the last link makes large allocations fail.
weft::task<> keep_busy(const std::atomic<bool>& stop) {
    if (!stop.load()) {
        weft::go(keep_busy(stop));
        co_return;
    }
    weft::testing::fail_large_allocations.store(true);
}
} // namespace

TEST_CASE(
    "running out of memory while the wake-up list moves under the deque does not terminate",
    "[runtime][abandon]") {
    // 40,000 sleepers are cancelled while the deque is never empty: their wake-ups fill the list
    // (grown while memory lasts). Then large allocations fail, and the list must reach the deque
    // (which would have to grow past 256 KiB to take them all) without throwing bad_alloc out of
    // the worker loop into std::terminate: the woken tasks still run.
    auto out = weft::testing::run_in_child([] {
        ::alarm(60);
        constexpr int sleepers = 40'000;
        std::atomic<int> started{0};
        std::atomic<int> cancelled{0};
        std::atomic<bool> stop{false};
        weft::runtime_options opts;
        opts.workers = 1;
        const int r = weft::run(
            [&]() -> weft::task<int> {
                std::vector<weft::join_handle<>> handles;
                handles.reserve(sleepers);
                for (int i = 0; i < sleepers; ++i) {
                    handles.push_back(
                        weft::spawn([](std::atomic<int>& s, std::atomic<int>& c) -> weft::task<> {
                            s.fetch_add(1);
                            if (!co_await weft::sleep_for(std::chrono::hours(1))) {
                                c.fetch_add(1);
                            }
                        }(started, cancelled)));
                    if (i % 512 == 511) { // the sleepers run: the deque stays small
                        (void)co_await weft::testing::yield_until(
                            [&] { return started.load() == i + 1; });
                    }
                }
                (void)co_await weft::testing::yield_until(
                    [&] { return started.load() == sleepers; });
                weft::go(keep_busy(stop));
                for (auto& h : handles) {
                    h.cancel(); // the sleeper's wake-up joins the list
                }
                stop.store(true);
                (void)co_await weft::testing::yield_until(
                    [&] { return cancelled.load() == sleepers; });
                weft::testing::fail_large_allocations.store(false);
                for (auto& h : handles) {
                    co_await h;
                }
                co_return 12;
            },
            std::move(opts));
        weft::testing::fail_large_allocations.store(false);
        std::fprintf(
            stderr,
            "run returned %d, %d of %d sleepers cancelled\n",
            r,
            cancelled.load(),
            sleepers);
        std::_Exit(r == 12 && cancelled.load() == sleepers ? 3 : 4);
    });
    INFO(out.err.substr(0, 2000));
    CHECK(out.exited);
    CHECK(out.status == 3);
}
#endif

#if WEFT_FRAME_CACHE
TEST_CASE(
    "a sleep that cannot grow the timer queue throws bad_alloc into its task",
    "[runtime][abandon]") {
    // 20,000 sleepers while large allocations fail: the timer queue (16 bytes an entry) cannot
    // grow past 8,192 entries. The sleeps that find it full get bad_alloc, not std::terminate
    // from a noexcept registration; the others are cancelled by the shutdown.
    auto out = weft::testing::run_in_child([] {
        ::alarm(60);
        constexpr int sleepers = 20'000;
        std::atomic<int> started{0};
        std::atomic<int> cancelled{0};
        std::atomic<int> out_of_memory{0};
        weft::runtime_options opts;
        opts.workers = 1;
        const int r = weft::run(
            [&]() -> weft::task<int> {
                weft::testing::fail_large_allocations.store(true);
                for (int i = 0; i < sleepers; ++i) {
                    weft::go(
                        [](std::atomic<int>& s,
                           std::atomic<int>& c,
                           std::atomic<int>& oom) -> weft::task<> {
                            s.fetch_add(1);
                            try {
                                if (!co_await weft::sleep_for(std::chrono::hours(1))) {
                                    c.fetch_add(1);
                                }
                            } catch (const std::bad_alloc&) {
                                oom.fetch_add(1);
                            }
                        }(started, cancelled, out_of_memory));
                    if (i % 512 == 511) { // the sleepers run: the deque stays small
                        (void)co_await weft::testing::yield_until(
                            [&] { return started.load() == i + 1; });
                    }
                }
                (void)co_await weft::testing::yield_until(
                    [&] { return started.load() == sleepers; });
                weft::testing::fail_large_allocations.store(false);
                co_return 13;
            },
            std::move(opts));
        std::fprintf(
            stderr,
            "run returned %d; %d sleeps cancelled, %d out of memory\n",
            r,
            cancelled.load(),
            out_of_memory.load());
        std::_Exit(
            r == 13 && out_of_memory.load() > 0 &&
                    cancelled.load() + out_of_memory.load() == sleepers
                ? 3
                : 4);
    });
    INFO(out.err.substr(0, 2000));
    CHECK(out.exited);
    CHECK(out.status == 3);
}
#endif

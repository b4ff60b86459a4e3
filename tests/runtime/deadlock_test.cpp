// The deadlock report of weft::run / runtime::block_on (runtime/src/scheduler.cpp,
// check_deadlock): every task waits on a weft primitive and nothing can wake one, so run() throws
// std::system_error(weft::errc::deadlock) instead of hanging. (The sync tests cover each kind of
// wait; these check the runtime's side of it.) The deadlocked tasks are abandoned, as documented,
// so each scenario runs in a forked child that exits without the leak check.
#include <weft/runtime.hpp>
#include <weft/sync.hpp>

#include "../sync/sync_test.hpp" // run_in_child

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <system_error>
#include <thread>

#include <unistd.h>

namespace {

weft::task<> recv_forever() {
    weft::sync::channel<int> ch; // nobody else can send on it
    (void)co_await ch.recv();
}

/// Runs `main` on 2 workers; true if run() reported a deadlock.
template <class Main>
bool reports_deadlock(Main main) {
    weft::runtime_options opts;
    opts.workers = weft::testing::test_workers(2);
    try {
        weft::run(std::move(main), std::move(opts));
    } catch (const std::system_error& e) {
        return e.code() == weft::errc::deadlock;
    }
    return false;
}

} // namespace

TEST_CASE(
    "a main task that deadlocks at once is reported every time (the waiter registers late)",
    "[runtime][deadlock]") {
    // run() queues the main task, then registers the waiter the report releases: the workers
    // can all be asleep, their last check done, before it registers. 200 rounds; a miss hangs
    // (the CTest timeout fails it).
    auto out = weft::testing::run_in_child([] {
        for (int round = 0; round < 200; ++round) {
            if (!reports_deadlock([]() -> weft::task<> { co_await recv_forever(); })) {
                std::fprintf(stderr, "round %d: no deadlock reported\n", round);
                std::_Exit(4);
            }
        }
        std::_Exit(3);
    });
    INFO(out.err.substr(0, 2000));
    CHECK(out.exited);
    CHECK(out.status == 3);
}

TEST_CASE("a deadlock behind a join is reported with the joiner counted", "[runtime][deadlock]") {
    auto out = weft::testing::run_in_child([] {
        const bool reported = reports_deadlock([]() -> weft::task<> {
            auto h = weft::spawn(recv_forever());
            co_await h;
        });
        std::_Exit(reported ? 3 : 4);
    });
    INFO(out.err);
    CHECK(out.exited);
    CHECK(out.status == 3);
    CHECK(out.err.find("all tasks are asleep - deadlock!") != std::string::npos);
    CHECK(out.err.find("1 joining, 1 on channels") != std::string::npos);
}

TEST_CASE("a deadlock inside when_all and when_any is reported", "[runtime][deadlock]") {
    // The parent awaiting the group counts as blocked on a join, like a join_handle await.
    auto out = weft::testing::run_in_child([] {
        ::alarm(60); // a missed report hangs: fail on SIGALRM rather than the CTest timeout
        for (int round = 0; round < 50; ++round) {
            if (!reports_deadlock([]() -> weft::task<> {
                    (void)co_await weft::when_all(recv_forever(), recv_forever());
                })) {
                std::_Exit(4);
            }
            if (!reports_deadlock([]() -> weft::task<> {
                    (void)co_await weft::when_any(recv_forever(), recv_forever());
                })) {
                std::_Exit(5);
            }
        }
        std::_Exit(3);
    });
    INFO(out.err.substr(0, 2000));
    CHECK(out.exited);
    CHECK(out.status == 3);
}

TEST_CASE("a deadlock right after a spawn_blocking call is reported", "[runtime][deadlock]") {
    // The job's wake-up runs the task, which blocks for good, while the job still counts as in
    // flight: the check the last parked worker ran saw the pool busy. The pool re-runs it when
    // its last job has finished.
    auto out = weft::testing::run_in_child([] {
        ::alarm(60);
        for (int round = 0; round < 100; ++round) {
            if (!reports_deadlock([]() -> weft::task<> {
                    const int v = co_await weft::spawn_blocking([] { return 1; });
                    (void)v;
                    co_await recv_forever();
                })) {
                std::_Exit(4);
            }
        }
        std::_Exit(3);
    });
    INFO(out.err.substr(0, 2000));
    CHECK(out.exited);
    CHECK(out.status == 3);
}

namespace {

/// Waits until `flag` is set, then long enough for the detector to have run (it would have
/// reported by then: every worker parks within microseconds).
void after_tasks_block(const std::atomic<bool>& flag) {
    while (!flag.load()) {
        std::this_thread::yield();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(30)); // sleep-ok: let the detector look
}

} // namespace

TEST_CASE(
    "a task waiting for a plain thread or another runtime is not reported as a deadlock",
    "[runtime][deadlock]") {
    // Every task waits on a primitive only something outside the runtime will complete: a plain
    // thread's blocking_send, its event::set, its unlock, another runtime's send. These are
    // correct programs; run must return their value, not throw errc::deadlock.
    auto out = weft::testing::run_in_child([] {
        ::alarm(60);
        weft::runtime_options opts;
        opts.workers = weft::testing::test_workers(2);
        {
            weft::sync::channel<int> ch;
            std::atomic<bool> waiting{false};
            std::thread t([&] {
                after_tasks_block(waiting);
                (void)ch.blocking_send(5);
            });
            try {
                const int v = weft::run(
                    [&]() -> weft::task<int> {
                        waiting.store(true);
                        auto r = co_await ch.recv();
                        co_return r ? *r : -1;
                    },
                    opts);
                t.join();
                if (v != 5) {
                    std::_Exit(4);
                }
            } catch (const std::system_error&) {
                std::fputs("blocking_send reported as a deadlock\n", stderr);
                std::_Exit(5);
            }
        }
        {
            weft::sync::event ev;
            std::atomic<bool> waiting{false};
            std::thread t([&] {
                after_tasks_block(waiting);
                ev.set();
            });
            try {
                weft::run(
                    [&]() -> weft::task<> {
                        waiting.store(true);
                        (void)co_await ev.wait();
                    },
                    opts);
                t.join();
            } catch (const std::system_error&) {
                std::fputs("event::set reported as a deadlock\n", stderr);
                std::_Exit(6);
            }
        }
        {
            weft::sync::mutex m;
            std::atomic<bool> waiting{false};
            std::atomic<bool> locked{false};
            std::thread t([&] {
                auto g = m.blocking_lock();
                locked.store(true);
                after_tasks_block(waiting);
            });
            while (!locked.load()) {
                std::this_thread::yield();
            }
            try {
                weft::run(
                    [&]() -> weft::task<> {
                        waiting.store(true);
                        auto g = co_await m.lock();
                    },
                    opts);
                t.join();
            } catch (const std::system_error&) {
                std::fputs("a mutex held by a plain thread reported as a deadlock\n", stderr);
                std::_Exit(7);
            }
        }
        {
            weft::sync::channel<int> ch;
            std::atomic<bool> waiting{false};
            weft::runtime other(weft::runtime_options{.workers = 1});
            try {
                auto sender = other.spawn([&]() -> weft::task<> {
                    while (!waiting.load()) {
                        co_await weft::yield_now();
                    }
                    constexpr auto pause = std::chrono::milliseconds(30);
                    (void)co_await weft::sleep_for(pause); // sleep-ok: after the check
                    (void)co_await ch.send(8);
                });
                sender.detach(); // it ends once main has received; ~runtime waits for it
                const int v = weft::run(
                    [&]() -> weft::task<int> {
                        waiting.store(true);
                        auto r = co_await ch.recv();
                        co_return r ? *r : -1;
                    },
                    opts);
                if (v != 8) {
                    std::_Exit(4);
                }
            } catch (const std::system_error&) {
                std::fputs("another runtime's send reported as a deadlock\n", stderr);
                std::_Exit(8);
            }
        }
        std::_Exit(3);
    });
    INFO(out.err.substr(0, 2000));
    CHECK(out.exited);
    CHECK(out.status == 3);
}

TEST_CASE(
    "a deadlock put off for a plain thread is reported once that thread has ended",
    "[runtime][deadlock]") {
    // The plain thread exists while every task blocks, so the first check must stand back; it
    // then ends without touching anything, and no worker ever wakes again: only the watchdog's
    // repeated check can report the deadlock. A miss hangs (the alarm fails it).
    auto out = weft::testing::run_in_child([] {
        ::alarm(60);
        std::atomic<bool> blocked{false};
        std::thread t([&] { after_tasks_block(blocked); });
        const bool reported = reports_deadlock([&]() -> weft::task<> {
            blocked.store(true);
            co_await recv_forever();
        });
        t.join();
        std::_Exit(reported ? 3 : 4);
    });
    INFO(out.err.substr(0, 2000));
    CHECK(out.exited);
    CHECK(out.status == 3);
}

TEST_CASE(
    "a plain thread that wakes a task and ends while the detector looks is not a deadlock",
    "[runtime][deadlock]") {
    // The thread hands the blocked task its value and exits at once, at a different moment of the
    // detector's check each round. A check that confirmed "nothing moved" before it read the
    // process's threads would find every task blocked (its snapshot) and no plain thread (gone by
    // then): a false deadlock. A plain thread's signal handler taking SIGTERM is exactly this.
    auto out = weft::testing::run_in_child([] {
        ::alarm(120);
        weft::runtime_options opts;
        opts.workers = weft::testing::test_workers(2);
        for (int round = 0; round < 400; ++round) {
            weft::sync::channel<int> ch(1);
            std::atomic<bool> waiting{false};
            std::thread t([&, round] {
                while (!waiting.load()) {
                    std::this_thread::yield();
                }
                // Spin 0 to ~100 us: sweeps the send across the detector's check.
                const auto until =
                    std::chrono::steady_clock::now() + std::chrono::microseconds((round * 7) % 100);
                while (std::chrono::steady_clock::now() < until) {
                }
                (void)ch.blocking_send(round);
            });
            try {
                const int v = weft::run(
                    [&]() -> weft::task<int> {
                        waiting.store(true);
                        auto r = co_await ch.recv();
                        co_return r ? *r : -1;
                    },
                    opts);
                t.join();
                if (v != round) {
                    std::_Exit(4);
                }
            } catch (const std::system_error&) {
                std::fprintf(stderr, "round %d: reported as a deadlock\n", round);
                std::_Exit(5);
            }
        }
        std::_Exit(3);
    });
    INFO(out.err.substr(0, 2000));
    CHECK(out.exited);
    CHECK(out.status == 3);
}

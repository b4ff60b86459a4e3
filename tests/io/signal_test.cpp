// weft::io::signal_set and weft::io::drain on both backends: signals reach the tasks that listen,
// every listening set gets each one, none is lost while nobody reads, the old disposition comes
// back, bad input is refused, and the grace period of a shutdown cancels what overstays it.
//
// Signals are sent as from outside, with kill(getpid()): weft's threads block them, so the
// handler runs on sysmon or on the test's main thread, a moment later. Two different signals
// pending at once may be delivered in either order, and two of one kind may merge: the tests
// send the next one of a kind only after the last was received.

#include <weft/sync.hpp>

#include "io_test_support.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <csignal>

using namespace std::chrono_literals;
using weft::io::signal_set;
using namespace weft::io::testing;

namespace {

void (*handler_of(int sig))(int) {
    struct sigaction sa {};
    ::sigaction(sig, nullptr, &sa);
    return sa.sa_handler;
}

} // namespace

TEST_CASE("a signal reaches the task that awaits it", "[io][signal]") {
    WEFT_IO_TEST_PROLOGUE();
    int got = 0;
    run([&]() -> weft::task<> {
        auto sigs = signal_set::open({SIGUSR1, SIGTERM});
        REQUIRE(sigs);
        auto waiter = weft::spawn([](signal_set& s) -> weft::task<weft::result<int>> {
            co_return co_await s.next();
        }(*sigs));
        co_await weft::yield_now();
        ::kill(::getpid(), SIGUSR1); // process-directed, as `kill -USR1 <pid>` is
        auto r = co_await waiter;
        REQUIRE(r);
        got = *r;
    });
    CHECK(got == SIGUSR1);
}

TEST_CASE("signals that arrive before next() are kept", "[io][signal]") {
    WEFT_IO_TEST_PROLOGUE();
    std::vector<int> got;
    run([&]() -> weft::task<> {
        auto sigs = signal_set::open({SIGUSR1, SIGUSR2, SIGHUP});
        REQUIRE(sigs);
        ::kill(::getpid(), SIGUSR2);
        ::kill(::getpid(), SIGHUP);
        ::kill(::getpid(), SIGUSR1);
        for (int i = 0; i < 3; ++i) {
            auto r = co_await sigs->next();
            REQUIRE(r);
            got.push_back(*r);
        }
    });
    std::sort(got.begin(), got.end());
    CHECK(got == std::vector<int>{SIGHUP, SIGUSR1, SIGUSR2});
}

TEST_CASE("every set listening for a signal gets it", "[io][signal]") {
    WEFT_IO_TEST_PROLOGUE();
    int a = 0;
    int b = 0;
    int c = 0;
    int d = 0;
    run([&]() -> weft::task<> {
        auto s1 = signal_set::open({SIGUSR2});
        auto s2 = signal_set::open({SIGUSR2, SIGWINCH});
        auto s3 = signal_set::open({SIGWINCH});
        REQUIRE(s1);
        REQUIRE(s2);
        REQUIRE(s3);
        ::kill(::getpid(), SIGUSR2);
        auto r1 = co_await s1->next();
        auto r2 = co_await s2->next();
        REQUIRE(r1);
        REQUIRE(r2);
        a = *r1;
        b = *r2;
        ::kill(::getpid(), SIGWINCH);
        auto r3 = co_await s3->next();
        auto r4 = co_await s2->next();
        REQUIRE(r3);
        REQUIRE(r4);
        c = *r3;
        d = *r4;
    });
    CHECK(a == SIGUSR2);
    CHECK(b == SIGUSR2);
    CHECK(c == SIGWINCH);
    CHECK(d == SIGWINCH);
}

TEST_CASE("closing the last set restores the disposition the signal had", "[io][signal]") {
    WEFT_IO_TEST_PROLOGUE();
    ::signal(SIGUSR1, SIG_IGN);
    bool ours_while_open = false;
    bool kept_while_one_left = false;
    run([&]() -> weft::task<> {
        auto s1 = signal_set::open({SIGUSR1});
        auto s2 = signal_set::open({SIGUSR1});
        REQUIRE(s1);
        REQUIRE(s2);
        ours_while_open = handler_of(SIGUSR1) != SIG_IGN;
        s1->close();
        kept_while_one_left = handler_of(SIGUSR1) != SIG_IGN;
        ::kill(::getpid(), SIGUSR1);
        auto r = co_await s2->next();
        REQUIRE(r);
        co_return;
    }); // s2 closes here
    CHECK(ours_while_open);
    CHECK(kept_while_one_left);
    CHECK(handler_of(SIGUSR1) == SIG_IGN);
    ::signal(SIGUSR1, SIG_DFL);
}

TEST_CASE("signals that cannot be caught are refused", "[io][signal]") {
    WEFT_IO_TEST_PROLOGUE();
    CHECK(signal_set::open({SIGKILL}).error() == std::errc::invalid_argument);
    CHECK(signal_set::open({SIGSTOP}).error() == std::errc::invalid_argument);
    CHECK(signal_set::open({SIGSEGV}).error() == std::errc::invalid_argument);
    CHECK(signal_set::open({0}).error() == std::errc::invalid_argument);
    CHECK(signal_set::open({65}).error() == std::errc::invalid_argument);
    CHECK(signal_set::open({}).error() == std::errc::invalid_argument);
    CHECK(signal_set::open({SIGUSR1, SIGKILL}).error() == std::errc::invalid_argument);
    CHECK(handler_of(SIGUSR1) == SIG_DFL); // the refused open installed nothing
}

TEST_CASE("next() ends on close and under with_timeout", "[io][signal]") {
    WEFT_IO_TEST_PROLOGUE();
    std::error_code on_close;
    std::error_code on_timeout;
    std::error_code empty;
    run([&]() -> weft::task<> {
        auto s = signal_set::open({SIGUSR1});
        REQUIRE(s);
        auto t = co_await weft::with_timeout(20ms, s->next());
        REQUIRE(!t);
        on_timeout = t.error();
        auto waiter = weft::spawn([](signal_set& set) -> weft::task<weft::result<int>> {
            co_return co_await set.next();
        }(*s));
        co_await weft::yield_now();
        s->close();
        auto r = co_await waiter;
        REQUIRE(!r);
        on_close = r.error();
        signal_set none;
        auto e = co_await none.next();
        REQUIRE(!e);
        empty = e.error();
    });
    CHECK(on_timeout == std::errc::timed_out);
    CHECK(on_close == std::errc::bad_file_descriptor);
    CHECK(empty == std::errc::bad_file_descriptor);
}

TEST_CASE("a thousand signals in a row are all delivered", "[io][signal][stress]") {
    WEFT_IO_TEST_PROLOGUE();
    // A sender task on one worker, the receiver on any: each signal is sent once the last one
    // was received, so none can merge with another, and none may be lost.
    constexpr int rounds = 1000;
    int received = 0;
    run([&]() -> weft::task<> {
        auto s = signal_set::open({SIGUSR2});
        REQUIRE(s);
        weft::sync::channel<int> ack(1);
        auto sender = weft::spawn(
            [](weft::sync::channel<int>& acks) -> weft::task<> {
                for (int k = 0; k < rounds; ++k) {
                    ::kill(::getpid(), SIGUSR2);
                    if (!co_await acks.recv()) {
                        co_return;
                    }
                }
            },
            std::ref(ack));
        for (int k = 0; k < rounds; ++k) {
            auto r = co_await s->next();
            if (!r || *r != SIGUSR2) {
                break;
            }
            ++received;
            (void)co_await ack.send(k);
        }
        ack.close();
        co_await sender;
    });
    CHECK(received == rounds);
}

TEST_CASE("drain waits for children that finish within the grace period", "[io][signal]") {
    WEFT_IO_TEST_PROLOGUE();
    bool in_time = false;
    int finished = 0;
    run([&]() -> weft::task<> {
        std::atomic<int> done{0};
        weft::scope s;
        for (int i = 0; i < 10; ++i) {
            s.spawn([&done]() -> weft::task<> {
                co_await weft::yield_now();
                done.fetch_add(1);
            });
        }
        in_time = co_await weft::io::drain(s, 10s);
        finished = done.load();
    });
    CHECK(in_time);
    CHECK(finished == 10);
}

TEST_CASE("drain cancels the children that overstay the grace period", "[io][signal]") {
    WEFT_IO_TEST_PROLOGUE();
    bool in_time = true;
    int quick = 0;
    int stuck_ended = 0;
    std::array<std::error_code, 3> stuck_saw;
    run([&]() -> weft::task<> {
        weft::sync::channel<int> never; // nobody sends: the stuck children wait until cancelled
        std::atomic<int> quick_done{0};
        std::atomic<int> stuck_done{0};
        std::array<std::error_code, 3> seen;
        weft::scope s;
        s.spawn([&quick_done]() -> weft::task<> {
            quick_done.fetch_add(1);
            co_return;
        });
        for (std::size_t i = 0; i < seen.size(); ++i) {
            s.spawn([&never, &stuck_done, &seen, i]() -> weft::task<> {
                auto r = co_await never.recv();
                seen[i] = r.error();
                stuck_done.fetch_add(1);
            });
        }
        in_time = co_await weft::io::drain(s, 30ms);
        quick = quick_done.load();
        stuck_ended = stuck_done.load();
        stuck_saw = seen;
    });
    CHECK_FALSE(in_time);
    CHECK(quick == 1);
    CHECK(stuck_ended == 3);
    for (const auto& e : stuck_saw) {
        CHECK(e); // ended by the cancellation: no value, the channel still open
        CHECK(e != weft::errc::channel_closed);
    }
}

// join_handle::cancel: a task cancelled before it first runs never runs; a running task sees the
// request at its awaits, and its joins pass it on.
#include <weft/weft.hpp>

#include <atomic>
#include <system_error>

using namespace std::chrono_literals;
namespace ws = weft::sync;

weft::task<int> slow_value(bool& ran) {
    ran = true;
    co_await weft::sleep_for(20ms);
    co_return 5;
}

weft::task<int> worker(ws::channel<int> ch, std::atomic<bool>& started) {
    started.store(true);
    int bits = 0;
    for (;;) { // a compute loop: yield_now still yields when cancelled, then returns the error
        auto y = co_await weft::yield_now();
        if (!y) {
            bits |= y.error() == std::errc::operation_canceled ? 1 : 0;
            break;
        }
    }
    auto ready = co_await ch.recv(); // can complete at once: does so, cancelled or not
    if (ready && *ready == 1) {
        bits |= 2;
    }
    auto waiting = co_await ch.recv(); // would have to wait: fails at once instead
    if (!waiting && waiting.error() == std::errc::operation_canceled) {
        bits |= 4;
    }
    auto slept = co_await weft::sleep_for(1h); // the same for a sleep
    if (slept.error() == std::errc::operation_canceled) {
        bits |= 8;
    }
    bool child_ran = false;
    auto child = weft::spawn(slow_value(child_ran)); // not started yet: one worker, and it is busy
    try {
        (void)co_await child; // the join passes the cancellation on: the child never runs
    } catch (const weft::cancelled_error&) {
        bits |= child_ran ? 0 : 16;
    }
    co_return bits;
}

int main() {
    // One worker, so that the order is fixed: a spawned task runs only when main waits.
    return weft::run(
        []() -> weft::task<int> {
            bool ran = false;
            auto early = weft::spawn(slow_value(ran));
            early.cancel(); // before it first ran: its body never runs, its join throws
            try {
                (void)co_await early;
                co_return 1;
            } catch (const weft::cancelled_error& e) {
                if (ran || e.code() != std::errc::operation_canceled) {
                    co_return 2;
                }
            }

            ws::channel<int> ch(1);
            if (!co_await ch.send(1)) {
                co_return 3;
            }
            std::atomic<bool> started{false};
            auto h = weft::spawn(worker(ch, started));
            while (!started.load()) {
                co_await weft::yield_now(); // let it start
            }
            h.cancel(); // a request: the running task sees it at its next await
            int bits = co_await h;
            co_return bits == 31 ? 0 : 4;
        },
        weft::runtime_options{.workers = 1});
}

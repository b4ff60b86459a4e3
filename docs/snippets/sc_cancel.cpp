// join_handle::cancel: what a cancelled task's awaits return, and what is not a cancellation point.
#include <weft/weft.hpp>

#include <atomic>
#include <system_error>

using namespace std::chrono_literals;
namespace ws = weft::sync;

weft::task<int> slow_value() {
    co_await weft::sleep_for(20ms);
    co_return 5;
}

weft::task<int> worker(ws::channel<int> ch, std::atomic<bool>& go_on) {
    while (!go_on.load()) {         // computation and yield_now are not cancellation points:
        co_await weft::yield_now(); // this loop runs on after cancel() until go_on is set
    }
    int bits = 0;
    auto ready = co_await ch.recv(); // can complete at once: does so, cancelled or not
    if (ready && *ready == 1) {
        bits |= 1;
    }
    auto waiting = co_await ch.recv(); // would have to wait: fails at once instead
    if (!waiting && waiting.error() == std::errc::operation_canceled) {
        bits |= 2;
    }
    auto slept = co_await weft::sleep_for(1h); // the same for a sleep
    if (slept.error() == std::errc::operation_canceled) {
        bits |= 4;
    }
    auto child = weft::spawn(slow_value()); // a spawned task has its own cancellation...
    if (co_await child == 5) {              // ...and joining it is not a cancellation point
        bits |= 8;
    }
    co_return bits;
}

int main() {
    return weft::run([]() -> weft::task<int> {
        ws::channel<int> ch(1);
        if (!co_await ch.send(1)) {
            co_return 1;
        }
        std::atomic<bool> go_on{false};
        auto h = weft::spawn(worker(ch, go_on));
        h.cancel(); // a request: the task sees it at its next cancellation point
        go_on.store(true);
        int bits = co_await h;
        co_return bits == 15 ? 0 : 2;
    });
}

// Go: context.WithCancel (join_handle::cancel) and context.WithTimeout (weft::with_timeout).
#include <weft/weft.hpp>

#include <system_error>

using namespace std::chrono_literals;

// A loop that stops when its task is cancelled: every weft await is a `<-ctx.Done()`.
weft::task<std::error_code> poll_forever() {
    for (;;) {
        if (auto r = co_await weft::sleep_for(1ms); !r) {
            co_return r.error(); // operation_canceled (or timed_out under with_timeout)
        }
    }
}

weft::task<weft::result<int>> slow_answer() {
    if (auto r = co_await weft::sleep_for(1h); !r) {
        co_return r.error();
    }
    co_return 42;
}

int main() {
    return weft::run([]() -> weft::task<int> {
        auto h = weft::spawn(poll_forever());
        co_await weft::sleep_for(10ms);
        h.cancel();                       // cancel()
        std::error_code why = co_await h; // the join still waits for the task to end
        if (why != std::errc::operation_canceled) {
            co_return 1;
        }

        weft::result<int> r = co_await weft::with_timeout(20ms, slow_answer());
        if (r || r.error() != std::errc::timed_out) { // ctx.Err() == context.DeadlineExceeded
            co_return 2;
        }
        co_return 0;
    });
}

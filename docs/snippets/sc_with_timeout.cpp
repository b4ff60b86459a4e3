// with_timeout: what the await yields for each kind of task, when the deadline fires or not.
#include <weft/weft.hpp>

#include <system_error>

using namespace std::chrono_literals;

weft::task<> nap(std::chrono::milliseconds d) {
    co_await weft::sleep_for(d);
}

weft::task<weft::result<int>> careful(std::chrono::milliseconds d) {
    if (auto r = co_await weft::sleep_for(d); !r) {
        co_return r.error(); // timed_out: the reason the child was cancelled with
    }
    co_return 1;
}

weft::task<int> stubborn(std::chrono::milliseconds d) {
    co_await weft::sleep_for(d); // ignores the cancellation and produces a value anyway
    co_return 7;
}

int main() {
    return weft::run([]() -> weft::task<int> {
        weft::result<void> a = co_await weft::with_timeout(10ms, nap(1h));
        weft::result<int> b = co_await weft::with_timeout(10ms, careful(1h));
        weft::result<int> c = co_await weft::with_timeout(10ms, stubborn(1h));
        weft::result<int> d = co_await weft::with_timeout(1h, careful(1ms));
        bool ok = a.error() == std::errc::timed_out    // task<void>: timed_out
                  && b.error() == std::errc::timed_out // task<result<U>>: the child's result
                  && c && *c == 7                      // task<U>: a value is never dropped
                  && d && *d == 1;                     // in time: the child's result
        co_return ok ? 0 : 1;
    });
}

// An installed weft, used the way the README shows: <weft/weft.hpp>, weft::run, spawn, when_all,
// with_timeout. Exits 0 and prints "ok" when every answer is right.
#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>
#include <system_error>
#include <tuple>
#include <utility>

using namespace std::chrono_literals;

namespace {

weft::task<int> fib(int n) {
    if (n < 2) {
        co_return n;
    }
    auto left = weft::spawn(fib(n - 1));
    int right = co_await fib(n - 2);
    co_return co_await left + right;
}

weft::task<> nap() {
    co_await weft::sleep_for(1h);
}

} // namespace

int main() {
    weft::runtime_options opts;
    opts.workers = 2;
    int failures = weft::run(
        []() -> weft::task<int> {
            int bad = 0;
            bad += co_await fib(20) != 6765;
            auto [a, b] = co_await weft::when_all(fib(10), fib(11));
            bad += a != 55 || b != 89;
            weft::result<void> r = co_await weft::with_timeout(1ms, nap());
            bad += r.has_value() || r.error() != std::errc::timed_out;
            weft::result<int> t = co_await weft::with_timeout(1h, fib(5));
            bad += !t || *t != 5;
            co_return bad;
        },
        std::move(opts));
    std::printf("weft_install_test: %s\n", failures == 0 ? "ok" : "FAILED");
    return failures == 0 ? 0 : 1;
}

// timeout: the README's first program — a deadline that bounds a compute-bound fork-join tree.
//
//     $ ./timeout
//     fib(40): timed out after 100 ms
//
// fib(40) is about 330 million tasks: seconds of work on any machine. with_timeout cancels it at
// 100 ms, and the cancellation reaches every task of the tree (the ones fib joins, and the ones
// it spawned that have not started), so the program ends soon after the deadline. It exits 0
// when the deadline cut fib short, as it should on any machine of today.

#include <weft/runtime.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>

using namespace std::chrono_literals;

namespace {

weft::task<std::int64_t> fib(int n) {
    if (n < 2) {
        co_return n;
    }
    auto left = weft::spawn(fib(n - 1));      // may run on another core
    std::int64_t right = co_await fib(n - 2); // runs inline (symmetric transfer)
    co_return co_await left + right;
}

weft::task<int> amain() {
    const auto start = std::chrono::steady_clock::now();
    weft::result<std::int64_t> r = co_await weft::with_timeout(100ms, fib(40));
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    if (!r) {
        std::printf(
            "fib(40): %s after %lld ms\n", r.error().message().c_str(), static_cast<long long>(ms));
        co_return r.error() == std::errc::timed_out ? 0 : 1;
    }
    std::printf(
        "fib(40) = %lld in %lld ms: faster than the deadline\n",
        static_cast<long long>(*r),
        static_cast<long long>(ms));
    co_return 1;
}

} // namespace

int main() {
    return weft::run(amain()); // one worker per core (WEFT_WORKERS overrides)
}

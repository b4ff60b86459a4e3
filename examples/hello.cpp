// hello: the smallest tour of weft's runtime — run, spawn, sleep_for and when_all.
//
//     $ ./hello
//     task 2 woke after 10 ms
//     task 1 woke after 20 ms
//     task 0 woke after 30 ms
//     sum of squares: 5
//
// Three tasks sleep concurrently, so the program takes about 30 ms, not 60. It needs no I/O, so it
// builds even where weft::io does not.

#include <weft/runtime.hpp>

#include <chrono>
#include <cstdio>

using namespace std::chrono_literals;

namespace {

// A task is lazy: nothing runs until it is awaited or spawned.
weft::task<int> nap(int i) {
    const auto d = 10ms * (3 - i);
    co_await weft::sleep_for(d); // suspends the task, never the worker thread
    std::printf("task %d woke after %lld ms\n", i, static_cast<long long>(d.count()));
    const int square = i * i;
    co_return square;
}

weft::task<int> amain() {
    auto first = weft::spawn(nap(0));                      // runs concurrently from here on
    auto [a, b] = co_await weft::when_all(nap(1), nap(2)); // both at once; waits for both
    const int c = co_await first;                          // joins the spawned task
    std::printf("sum of squares: %d\n", a + b + c);
    co_return 0;
}

} // namespace

int main() {
    return weft::run(amain()); // one worker per core (WEFT_WORKERS overrides); returns amain's 0
}

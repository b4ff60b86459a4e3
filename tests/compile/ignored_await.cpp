// Compiled by check_ignored_await.cmake, never linked: with -DCASE=0 it must compile warning-free
// (the results are looked at, or dropped on purpose with a (void) cast); with -DCASE=n, n > 0,
// the one await that ignores its result must fail the compile under -Werror=unused-result. clang
// only: g++ 12 does not warn for an ignored co_await value of class type (detail/nodiscard.hpp).
#include <weft/io.hpp>
#include <weft/runtime.hpp>
#include <weft/sync.hpp>

weft::task<weft::result<void>> fallible() {
    co_return weft::result<void>{};
}

weft::task<int>
used(weft::sync::channel<int> ch, weft::sync::semaphore& sem, weft::io::tcp_stream& conn) {
    int fails = 0;
    if (!co_await ch.send(1)) {
        ++fails;
    }
    (void)co_await ch.send(2); // dropped on purpose: no warning
    auto r = co_await fallible();
    fails += r ? 0 : 1;
    if (auto a = co_await sem.acquire(); !a) {
        ++fails;
    }
    if (!co_await conn.write_all("x")) {
        ++fails;
    }
    co_await weft::sleep_for(std::chrono::milliseconds(1)); // result<void> of a sleep: discardable
    co_return fails;
}

weft::task<>
ignored(weft::sync::channel<int> ch, weft::sync::semaphore& sem, weft::io::tcp_stream& conn) {
#if CASE == 1
    co_await ch.send(1);
#elif CASE == 2
    co_await fallible();
#elif CASE == 3
    co_await sem.acquire();
#elif CASE == 4
    co_await conn.write_all("x");
#elif CASE == 5
    co_await weft::spawn(fallible());
#endif
    (void)ch;
    (void)sem;
    (void)conn;
    co_return;
}

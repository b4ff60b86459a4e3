// Go: time.Sleep, sleeping until a deadline, and a ticker written as a loop.
#include <weft/weft.hpp>

using namespace std::chrono_literals;

int main() {
    return weft::run([]() -> weft::task<int> {
        auto t0 = weft::clock::now();          // weft::clock is std::chrono::steady_clock
        co_await weft::sleep_for(15ms);        // time.Sleep(15 * time.Millisecond)
        co_await weft::sleep_until(t0 + 30ms); // sleep until a deadline
        if (weft::clock::now() - t0 < 30ms) {  // a sleep is never cut short early...
            co_return 1;                       // ...unless the task is cancelled
        }

        // time.NewTicker(5 * time.Millisecond): sleep until the next tick, three times.
        int ticks = 0;
        auto next = weft::clock::now();
        for (int i = 0; i < 3; ++i) {
            next += 5ms;
            if (co_await weft::sleep_until(next)) {
                ++ticks;
            }
        }
        co_return ticks == 3 ? 0 : 2;
    });
}

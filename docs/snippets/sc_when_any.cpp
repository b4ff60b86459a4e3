// when_any: the first task to finish wins; the others are cancelled and awaited before it returns.
#include <weft/weft.hpp>

#include <atomic>

using namespace std::chrono_literals;

weft::task<int> reply_after(std::chrono::milliseconds d, int v, std::atomic<bool>& cancelled) {
    auto r = co_await weft::sleep_for(d);
    if (!r) {
        cancelled.store(true);
        co_return -1;
    }
    co_return v;
}

int main() {
    return weft::run([]() -> weft::task<int> {
        std::atomic<bool> slow_cancelled{false}, fast_cancelled{false};
        auto r = co_await weft::when_any(
            reply_after(1h, 1, slow_cancelled), reply_after(5ms, 2, fast_cancelled));
        // r.index: the winner's position among the arguments; r.value: its value.
        bool ok = r.index == 1 && r.value == 2 && slow_cancelled.load() && !fast_cancelled.load();
        co_return ok ? 0 : 1;
    });
}

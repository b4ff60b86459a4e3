// Go: `go bump(&hits)` and a goroutine whose result is waited for.
#include <weft/weft.hpp>

#include <atomic>

weft::task<int> square(int x) {
    co_return x* x;
}

weft::task<> bump(std::atomic<int>& hits) {
    hits.fetch_add(1);
    co_return;
}

int main() {
    std::atomic<int> hits{0};
    int v = weft::run([&]() -> weft::task<int> {
        weft::go(bump(hits));            // go bump(&hits): detached, runs on its own
        auto h = weft::spawn(square(7)); // go, keeping a handle: join, cancel or detach it
        co_return co_await h;            // the value, or the task's exception rethrown
    });
    // The runtime drains its queues before run returns, so bump has run by now.
    return v == 49 && hits.load() == 1 ? 0 : 1;
}

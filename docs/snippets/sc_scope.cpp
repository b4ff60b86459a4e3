// weft::scope: a task group whose children never outlive it; cancel() reaches running children
// and children spawned later.
#include <weft/weft.hpp>

#include <atomic>

using namespace std::chrono_literals;

weft::task<> leaf(std::atomic<int>& done) {
    co_await weft::sleep_for(1ms);
    done.fetch_add(1);
}

weft::task<> branch(weft::scope& s, std::atomic<int>& done) {
    for (int i = 0; i < 3; ++i) {
        s.spawn(leaf(done)); // children may spawn more children into the same scope
    }
    co_return;
}

weft::task<> forever(std::atomic<int>& cancelled) {
    auto r = co_await weft::sleep_for(1h);
    if (!r) {
        cancelled.fetch_add(1);
    }
}

int main() {
    return weft::run([]() -> weft::task<int> {
        std::atomic<int> done{0};
        {
            weft::scope s;
            s.spawn(branch(s, done));
            s.spawn(branch(s, done));
            co_await s.join(); // every child, grandchildren included, has finished
        }
        if (done.load() != 6) {
            co_return 1;
        }

        std::atomic<int> cancelled{0};
        weft::scope s;
        s.spawn(forever(cancelled));
        s.cancel();                  // the running child...
        s.spawn(forever(cancelled)); // ...and every child spawned from now on
        co_await s.join();
        co_return cancelled.load() == 2 ? 0 : 2;
    });
}

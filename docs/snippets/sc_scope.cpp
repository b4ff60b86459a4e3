// weft::scope: a task group whose children never outlive it; cancel() reaches running children,
// and children spawned later never run.
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

weft::task<> forever(std::atomic<int>& started, std::atomic<int>& cancelled) {
    started.fetch_add(1);
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

        std::atomic<int> started{0}, cancelled{0};
        weft::scope s;
        s.spawn(forever(started, cancelled));
        while (started.load() == 0) {
            co_await weft::yield_now(); // let it start
        }
        s.cancel();                           // the running child's sleep ends at once...
        s.spawn(forever(started, cancelled)); // ...and a child spawned from now on never runs
        co_await s.join(); // no rethrow: a child stopped by the cancel() has not failed
        co_return started.load() == 1 && cancelled.load() == 1 ? 0 : 2;
    });
}

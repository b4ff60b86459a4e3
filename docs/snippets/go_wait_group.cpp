// Go: sync.WaitGroup with wg.Add(1) before `go`, wg.Done() in the goroutine, wg.Wait().
#include <weft/weft.hpp>

#include <vector>

namespace ws = weft::sync;

weft::task<> work(int i, std::vector<int>& out, ws::wait_group& wg) {
    out[static_cast<std::size_t>(i)] = i * 10;
    wg.done(); // no defer in C++: call done() on every path (or use a scope, see errgroup)
    co_return;
}

int main() {
    std::vector<int> out(8);
    bool ok = weft::run([&]() -> weft::task<bool> {
        ws::wait_group wg;
        for (int i = 0; i < 8; ++i) {
            wg.add(1);
            weft::go(work(i, out, wg));
        }
        co_return static_cast<bool>(co_await wg.wait()); // result<void>: fails only if cancelled
    });
    return ok && out == std::vector<int>{0, 10, 20, 30, 40, 50, 60, 70} ? 0 : 1;
}

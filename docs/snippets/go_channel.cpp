// Go: make(chan int, 4), a producer that closes it, and `for v := range ch`.
#include <weft/weft.hpp>

namespace ws = weft::sync;

weft::task<> produce(ws::sender<int> out, int n) {
    for (int i = 1; i <= n; ++i) {
        if (!co_await out.send(i)) { // result<void>: channel_closed, or cancelled
            co_return;
        }
    }
    out.close();
}

int main() {
    int sum = weft::run([]() -> weft::task<int> {
        ws::channel<int> ch(4); // buffered; ws::channel<int>() is unbuffered
        weft::go(produce(ch, 100));
        int total = 0;
        while (auto v = co_await ch.recv()) { // empty once closed and drained
            total += *v;
        }
        co_return total;
    });
    return sum == 5050 ? 0 : 1;
}

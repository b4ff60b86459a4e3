// Go: select with a default case, and select with a timeout (`case <-time.After(d)`).
#include <weft/weft.hpp>

#include <string>

using namespace std::chrono_literals;
namespace ws = weft::sync;

int main() {
    return weft::run([]() -> weft::task<int> {
        ws::channel<std::string> msgs(1);

        // select { case m := <-msgs: ...; default: ... }
        auto polled = co_await ws::select(msgs.recv_case(), ws::default_case);
        if (polled.index() != 1) { // nothing was ready: the default fired
            co_return 1;
        }

        // select { case m := <-msgs: ...; case <-time.After(20 * time.Millisecond): ... }
        auto timed = co_await ws::select(msgs.recv_case(), ws::after(20ms));
        if (timed.index() != 1) { // 20 ms passed
            co_return 2;
        }

        if (!co_await msgs.send("hello")) {
            co_return 3;
        }
        auto got = co_await ws::select(msgs.recv_case(), ws::after(1s));
        if (got.index() != 0 || *got.get<0>() != "hello") { // get<0>(): a recv_result
            co_return 4;
        }
        co_return 0;
    });
}

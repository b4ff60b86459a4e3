// Go: net.Listen("tcp", ...) and an accept loop with one goroutine per connection (an echo server).
#include <weft/weft.hpp>

#include <array>
#include <string>
#include <string_view>

using namespace std::chrono_literals;
namespace wio = weft::io;

weft::task<> serve(wio::tcp_stream conn) {
    std::array<char, 256> buf;
    for (;;) {
        auto n = co_await conn.read(buf); // result<size_t>; 0 is the end of the stream
        if (!n || *n == 0) {
            co_return;
        }
        if (!co_await conn.write_all(std::string_view(buf.data(), *n))) {
            co_return;
        }
    }
}

weft::task<> accept_loop(wio::tcp_listener& ln) {
    for (;;) {
        auto conn = co_await ln.accept(); // result<tcp_stream>
        if (!conn) {
            co_return; // closed, or cancelled
        }
        weft::go(serve(std::move(*conn)));
    }
}

int main() {
    return weft::run([]() -> weft::task<int> {
        auto ln = wio::tcp_listener::bind("127.0.0.1:0"); // port 0: the kernel picks one
        if (!ln) {
            co_return 1;
        }
        auto port = ln->local_address().value().port();
        auto server = weft::spawn(accept_loop(*ln));

        auto c = co_await wio::tcp_stream::connect("127.0.0.1:" + std::to_string(port), 2s);
        if (!c || !co_await c->write_all(std::string_view("ping"))) {
            co_return 2;
        }
        std::array<char, 4> back;
        if (!co_await c->read_exact(back)) {
            co_return 3;
        }
        c->close();
        server.cancel(); // stop accepting (ln->close() would too)
        co_await server;
        co_return std::string_view(back.data(), back.size()) == "ping" ? 0 : 4;
    });
}

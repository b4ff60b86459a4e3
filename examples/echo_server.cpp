// echo_server: a TCP echo server with one task per connection, the smallest useful weft::io
// server, made robust.
//
//     $ ./echo_server 7000                # port 0 picks a free one
//     echo_server listening on 127.0.0.1:7000 (io backend: io_uring)
//     $ nc 127.0.0.1 7000                 # type a line, get it back
//
// Each connection gets its own task with a 4 KiB buffer: read what has arrived, write it back,
// until the client closes. A task costs a few hundred bytes plus its buffer, so tens of thousands
// of connections are fine. Workers: one per core (WEFT_WORKERS overrides); the io backend is
// io_uring where the kernel allows it, else epoll (WEFT_IO_BACKEND=epoll forces it). SIGINT or
// SIGTERM shuts it down gracefully (graceful.hpp): no new connections, 2 s for the open ones to
// end, then the rest are cancelled, and it exits 0.

#include <weft/io.hpp>
#include <weft/runtime.hpp>

#include "graceful.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>

using namespace std::chrono_literals;

namespace {

// One connection: echo until the client closes (read gives 0) or anything fails.
weft::task<> serve(weft::io::tcp_stream conn) {
    // Answer small messages at once rather than waiting for the client's ACK (Nagle off).
    (void)conn.set_nodelay(true);
    std::array<std::byte, 4096> buf; // lives in the task's frame
    for (;;) {
        auto n = co_await conn.read(buf); // result<size_t>: bytes read, 0 at end of stream
        if (!n || *n == 0) {
            co_return; // error or EOF: done (the destructor closes the socket)
        }
        if (!co_await conn.write_all({buf.data(), *n})) {
            co_return;
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    std::optional<std::uint16_t> port = 7000;
    if (argc > 2 || (argc == 2 && !(port = examples::parse_number<std::uint16_t>(argv[1])))) {
        std::fprintf(stderr, "usage: echo_server [port]   (default 7000; 0 picks a free port)\n");
        return 2;
    }
    // Until SIGINT or SIGTERM; then stop accepting, give the connections 2 s, cancel the rest.
    return weft::run(examples::listen_and_serve("echo_server", *port, serve, 2s));
}

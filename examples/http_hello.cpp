// http_hello: an HTTP/1.1 "Hello, World!" server — keep-alive, pipelining, and a 400 for anything
// it does not understand. A task per connection, as in echo_server.cpp.
//
//     $ ./http_hello 8080                 # port 0 picks a free one
//     http_hello listening on 127.0.0.1:8080 (io backend: io_uring)
//     $ curl -i http://127.0.0.1:8080/
//     HTTP/1.1 200 OK
//     ...
//     Hello, World!
//
// How a connection is served (serve() below):
//   1. read whatever has arrived into an 8 KiB buffer (max_request: the largest request accepted);
//   2. parse as many complete requests as the buffer holds — a pipelining client sends several
//      before it reads any answer — and append one response per request, in order, to `out`;
//   3. send all of `out` with one write (one system call for the whole batch);
//   4. keep the bytes of an incomplete request at the front of the buffer and go back to 1.
// A malformed request, or one that does not fit in max_request, is answered `400 Bad Request` and
// the connection is closed. So is everything after "Connection: close" (or an HTTP/1.0 request
// without "Connection: keep-alive"). Nothing a client sends can crash the server: the parser only
// looks at bytes inside the buffer (http_request.hpp; tests/fuzz/ fuzzes it), and every I/O failure
// just ends that one connection.
//
// Kept simple on purpose: no chunked request bodies (Transfer-Encoding gets 400), every method and
// path gets the same answer, and there is no idle timeout (see set_read_deadline in
// <weft/io/tcp_stream.hpp> to add one). SIGINT or SIGTERM shuts it down gracefully, as
// echo_server does (graceful.hpp).

#include <weft/io.hpp>
#include <weft/runtime.hpp>

#include "graceful.hpp"
#include "http_request.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

using namespace std::chrono_literals;

namespace {

using http_hello::max_request;
using http_hello::parse_request;
using http_hello::parse_status;
using http_hello::parsed_request;

// ---- responses -----------------------------------------------------------------------------

constexpr std::string_view bad_request = "HTTP/1.1 400 Bad Request\r\n"
                                         "Content-Type: text/plain\r\n"
                                         "Content-Length: 12\r\n"
                                         "Connection: close\r\n"
                                         "\r\n"
                                         "Bad Request\n";

/// The Date header's value ("Sun, 06 Nov 1994 08:49:37 GMT"), formatted at most once a second per
/// worker thread. Go's net/http and hyper send it too, so the benchmarks compare like with like.
std::string_view http_date() {
    thread_local std::time_t formatted_at = 0;
    thread_local std::array<char, 64> text{};
    thread_local std::size_t length = 0;
    const std::time_t now = std::time(nullptr);
    if (now != formatted_at) {
        std::tm tm{};
        gmtime_r(&now, &tm);
        length = std::strftime(text.data(), text.size(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        formatted_at = now;
    }
    return {text.data(), length};
}

void append_hello(std::string& out, const parsed_request& req) {
    out += "HTTP/1.1 200 OK\r\n"
           "Server: weft\r\n"
           "Content-Type: text/plain\r\n"
           "Content-Length: 13\r\n"
           "Date: ";
    out += http_date();
    if (!req.keep_alive) {
        out += "\r\nConnection: close";
    } else if (req.http10) {
        out += "\r\nConnection: keep-alive"; // HTTP/1.0 closes unless told otherwise
    }
    out += "\r\n\r\nHello, World!";
}

// ---- a connection ----------------------------------------------------------------------------

weft::task<> serve(weft::io::tcp_stream conn) {
    (void)conn.set_nodelay(true);     // answers go out at once, not after the client's next ACK
    std::array<char, max_request> in; // unanswered bytes, in[0, used); lives in the task's frame
    std::size_t used = 0;
    std::string out; // the answers to one batch of requests
    bool keep_open = true;

    while (keep_open) {
        auto n = co_await conn.read(std::span(in).subspan(used)); // never an empty span: see below
        if (!n || *n == 0) {
            co_return; // error, or the client closed: done (the destructor closes the socket)
        }
        used += *n;

        // Answer every complete request in the buffer, in order (pipelining).
        out.clear();
        std::size_t pos = 0;
        while (keep_open) {
            const parsed_request req = parse_request({in.data() + pos, used - pos});
            if (req.status == parse_status::incomplete && used - pos < in.size()) {
                break; // wait for the rest of it
            }
            if (req.status != parse_status::complete) {
                out += bad_request; // malformed, or too large to ever fit in the buffer
                keep_open = false;
                break;
            }
            append_hello(out, req);
            pos += req.length;
            keep_open = req.keep_alive;
        }
        if (!out.empty() && !co_await conn.write_all(out)) { // the whole batch, one write
            co_return;
        }
        // Keep the start of the next request, if any, at the front: `used` stays below
        // in.size(), so the next read has room.
        std::memmove(in.data(), in.data() + pos, used - pos);
        used -= pos;
    }

    // Closing while the client still sends would make the kernel reset the connection, and the
    // client could lose our last answer. So: send FIN, then drop what still comes, for at most 1 s.
    (void)conn.shutdown(weft::io::shutdown_how::write);
    conn.set_read_deadline(weft::clock::now() + 1s);
    for (int i = 0; i < 16; ++i) {
        auto n = co_await conn.read(std::span(in));
        if (!n || *n == 0) {
            break;
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    std::optional<std::uint16_t> port = 8080;
    if (argc > 2 || (argc == 2 && !(port = examples::parse_number<std::uint16_t>(argv[1])))) {
        std::fprintf(stderr, "usage: http_hello [port]   (default 8080; 0 picks a free port)\n");
        return 2;
    }
    return weft::run(examples::listen_and_serve("http_hello", *port, serve, 2s));
}

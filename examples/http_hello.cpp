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
// looks at bytes inside the buffer, and every I/O failure just ends that one connection.
//
// Kept simple on purpose: no chunked request bodies (Transfer-Encoding gets 400), every method and
// path gets the same answer, and there is no idle timeout (see set_read_deadline in
// <weft/io/tcp_stream.hpp> to add one).

#include <weft/io.hpp>
#include <weft/runtime.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
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

// ---- the HTTP/1.1 request parser: plain functions over bytes, no I/O -------------------------

/// The most a request (request line, headers and body) may take; more is answered with 400.
constexpr std::size_t max_request = 8192;

enum class parse_status { complete, incomplete, bad };

struct parsed_request {
    parse_status status = parse_status::incomplete;
    std::size_t length = 0; ///< bytes the request takes, body included (when complete)
    bool keep_alive = true; ///< false: answer, then close the connection
    bool http10 = false;    ///< an HTTP/1.0 request (keep-alive must then be said explicitly)
};

/// RFC 9110 `tchar`: the characters of a method or a header name.
bool is_tchar(char c) noexcept {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return true;
    }
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) noexcept {
    return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

/// Visible characters and (in field values) spaces and tabs; no CR, LF, NUL or other controls.
bool is_field_text(std::string_view s) noexcept {
    return std::all_of(s.begin(), s.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u == '\t' || (u >= 0x20 && u != 0x7f);
    });
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

/// Takes the next line off `rest` (without its CRLF, or its bare LF, which RFC 9112 lets a server
/// accept). False when `rest` holds no complete line yet.
bool next_line(std::string_view& rest, std::string_view& line) noexcept {
    const auto lf = rest.find('\n');
    if (lf == std::string_view::npos) {
        return false;
    }
    line = rest.substr(0, lf);
    if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
    }
    rest.remove_prefix(lf + 1);
    return true;
}

/// Parses the request at the start of `buf`. Every complete line is checked as soon as it is
/// there, so garbage is rejected at once rather than when the buffer fills up.
parsed_request parse_request(std::string_view buf) {
    parsed_request req;
    std::string_view rest = buf;
    std::string_view line;

    // request-line = method SP request-target SP HTTP-version; empty lines before it are skipped.
    do {
        if (!next_line(rest, line)) {
            return req;
        }
    } while (line.empty());
    const auto sp1 = line.find(' ');
    const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) {
        req.status = parse_status::bad;
        return req;
    }
    const std::string_view method = line.substr(0, sp1);
    const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = line.substr(sp2 + 1);
    if (!is_token(method) || target.empty() || !is_field_text(target) ||
        target.find_first_of(" \t") != std::string_view::npos ||
        (version != "HTTP/1.1" && version != "HTTP/1.0")) {
        req.status = parse_status::bad;
        return req;
    }
    req.http10 = version == "HTTP/1.0";

    // field-line = field-name ":" OWS field-value OWS, until an empty line.
    std::size_t content_length = 0;
    bool has_length = false;
    bool says_close = false;
    bool says_keep_alive = false;
    for (;;) {
        if (!next_line(rest, line)) {
            return req; // incomplete
        }
        if (line.empty()) {
            break;
        }
        const auto colon = line.find(':');
        const std::string_view name = line.substr(0, colon);
        if (colon == std::string_view::npos || !is_token(name)) { // also rejects "Name : v"
            req.status = parse_status::bad;
            return req;
        }
        const std::string_view value = trim(line.substr(colon + 1));
        if (!is_field_text(value)) {
            req.status = parse_status::bad;
            return req;
        }
        if (iequals(name, "Content-Length")) {
            std::size_t n = 0;
            const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
            if (value.empty() || ec != std::errc{} || end != value.data() + value.size() ||
                (has_length && n != content_length)) {
                req.status = parse_status::bad;
                return req;
            }
            content_length = n;
            has_length = true;
        } else if (iequals(name, "Transfer-Encoding")) {
            req.status = parse_status::bad; // chunked bodies are not supported by this example
            return req;
        } else if (iequals(name, "Connection")) {
            // A comma-separated list of options: "close", "keep-alive", others ignored.
            std::string_view opts = value;
            while (!opts.empty()) {
                const auto comma = opts.find(',');
                const std::string_view opt = trim(opts.substr(0, comma));
                says_close = says_close || iequals(opt, "close");
                says_keep_alive = says_keep_alive || iequals(opt, "keep-alive");
                opts =
                    comma == std::string_view::npos ? std::string_view{} : opts.substr(comma + 1);
            }
        }
    }

    // HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 closes unless told to keep it.
    req.keep_alive = !says_close && (!req.http10 || says_keep_alive);

    const std::size_t head = buf.size() - rest.size();
    if (content_length > max_request - head) {
        req.status = parse_status::bad; // the body would not fit: oversized
        return req;
    }
    if (rest.size() < content_length) {
        return req; // incomplete: the body is still arriving
    }
    req.status = parse_status::complete;
    req.length = head + content_length;
    return req;
}

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

weft::task<int> listen_and_serve(std::uint16_t port) {
    auto listener = weft::io::tcp_listener::bind(weft::io::address::ipv4_loopback(port));
    if (!listener) {
        std::fprintf(
            stderr,
            "http_hello: cannot listen on 127.0.0.1:%u: %s\n",
            port,
            listener.error().message().c_str());
        co_return 1;
    }
    const auto bound = listener->local_address();
    std::printf(
        "http_hello listening on %s (io backend: %s)\n",
        bound ? bound->to_string().c_str() : "?",
        weft::io::to_string(weft::io::current_backend()));
    std::fflush(stdout); // a script may be waiting for this line to learn the port

    for (;;) {
        auto conn = co_await listener->accept();
        if (!conn) {
            // Running out of descriptors is retried inside accept(); anything else ends the loop.
            std::fprintf(stderr, "http_hello: accept: %s\n", conn.error().message().c_str());
            co_return 1;
        }
        weft::go(serve(std::move(*conn)), "http connection");
    }
}

std::optional<std::uint16_t> parse_port(const char* s) {
    std::uint16_t port = 0;
    const char* end = s + std::strlen(s);
    const auto [p, ec] = std::from_chars(s, end, port);
    if (ec != std::errc{} || p != end || p == s) {
        return std::nullopt;
    }
    return port;
}

} // namespace

int main(int argc, char** argv) {
    std::optional<std::uint16_t> port = 8080;
    if (argc > 2 || (argc == 2 && !(port = parse_port(argv[1])))) {
        std::fprintf(stderr, "usage: http_hello [port]   (default 8080; 0 picks a free port)\n");
        return 2;
    }
    return weft::run(listen_and_serve(*port));
}

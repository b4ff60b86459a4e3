// buffered_reader and buffered_writer: over an in-memory stream (exact control of what each read
// returns and of every write-out), and over real sockets on both backends
// (tests/io/CMakeLists.txt registers each case twice).

#include <weft/io/buffered.hpp>

#include "io_test_support.hpp"

#include <array>
#include <csignal>
#include <cstddef>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <sys/socket.h>

using namespace std::chrono_literals;
using weft::io::buffered_reader;
using weft::io::buffered_writer;
using weft::io::tcp_stream;
using namespace weft::io::testing;

namespace {

/// A stream in memory. Each read returns the rest of the current chunk, at most max_read bytes
/// and at most the span's size; after the last chunk it returns 0 (or read_error, if set).
/// write_all records each write-out (or fails with write_error, if set).
struct memory_stream {
    std::vector<std::string> chunks;
    std::size_t max_read = std::numeric_limits<std::size_t>::max();
    std::error_code read_error;
    std::size_t chunk = 0;
    std::size_t pos = 0;
    std::vector<std::size_t> read_sizes; // the span size of each read call

    std::vector<std::string> writes;
    std::vector<const char*> write_data; // where each write-out's bytes were
    std::error_code write_error;

    weft::task<weft::result<std::size_t>> read(std::span<char> buf) {
        read_sizes.push_back(buf.size());
        while (chunk < chunks.size() && pos == chunks[chunk].size()) {
            ++chunk;
            pos = 0;
        }
        if (chunk == chunks.size()) {
            if (read_error) {
                co_return read_error;
            }
            co_return std::size_t{0};
        }
        const std::size_t n = std::min({buf.size(), max_read, chunks[chunk].size() - pos});
        std::memcpy(buf.data(), chunks[chunk].data() + pos, n);
        pos += n;
        co_return n;
    }

    weft::task<weft::result<void>> write_all(std::string_view data) {
        if (write_error) {
            co_return write_error;
        }
        writes.emplace_back(data);
        write_data.push_back(data.data());
        co_return weft::result<void>{};
    }
};

static_assert(weft::io::readable_stream<memory_stream>);
static_assert(weft::io::writable_stream<memory_stream>);
static_assert(weft::io::readable_stream<tcp_stream>);
static_assert(weft::io::writable_stream<tcp_stream>);
static_assert(weft::io::readable_stream<weft::io::unix_stream>);
static_assert(weft::io::writable_stream<weft::io::unix_stream>);
static_assert(!weft::io::readable_stream<std::string>);

/// Shaped like a stream, but its read yields an int and its write_all nothing a result holds.
struct wrong_results_stream {
    weft::task<int> read(std::span<char> buf);
    weft::task<> write_all(std::string_view data);
};
static_assert(!weft::io::readable_stream<wrong_results_stream>);
static_assert(!weft::io::writable_stream<wrong_results_stream>);

/// A peer that never stops sending 'x' and never a delimiter; counts what it handed out.
struct endless_stream {
    std::size_t handed_out = 0;
    weft::task<weft::result<std::size_t>> read(std::span<char> buf) {
        std::memset(buf.data(), 'x', buf.size());
        handed_out += buf.size();
        co_return buf.size();
    }
};

template <class F>
void run_one(F&& body) {
    run(std::forward<F>(body), weft::testing::one_worker);
}

/// A connected loopback TCP pair: (client, server).
weft::task<std::pair<tcp_stream, tcp_stream>> tcp_pair() {
    auto [l, a] = loopback_listener();
    auto accepting = weft::spawn(l.accept());
    auto c = co_await tcp_stream::connect(a, 5s);
    REQUIRE(c);
    auto s = co_await accepting;
    REQUIRE(s);
    co_return std::pair{std::move(*c), std::move(*s)};
}

/// Writes `data` one byte per send (TCP_NODELAY: mostly one segment each), then closes `s`.
weft::task<weft::result<void>> send_bytewise(tcp_stream s, std::string data) {
    if (auto r = s.set_nodelay(true); !r) {
        co_return r.error();
    }
    for (char ch : data) {
        if (auto r = co_await s.write_all(std::string_view(&ch, 1)); !r) {
            co_return r.error();
        }
    }
    s.close(); // now: the frame (and its parameter) may outlive the body until the join
    co_return weft::result<void>{};
}

} // namespace

// ---- the reader, in memory -------------------------------------------------------------------

TEST_CASE(
    "read_line strips CRLF and LF from lines that arrive one byte per read", "[io][buffered]") {
    memory_stream m;
    m.chunks = {"one\r\ntwo\n\r\n\nthree\r\n"};
    m.max_read = 1;
    std::vector<std::string> lines;
    std::error_code end;
    run_one([&]() -> weft::task<> {
        buffered_reader in(m, 4); // smaller than a line: the buffer grows
        for (;;) {
            auto line = co_await in.read_line();
            if (!line) {
                end = line.error();
                break;
            }
            lines.emplace_back(*line);
        }
    });
    CHECK(lines == std::vector<std::string>{"one", "two", "", "", "three"});
    CHECK(end == weft::io::errc::end_of_stream);
}

TEST_CASE("read_until keeps the delimiter and splits records at it", "[io][buffered]") {
    memory_stream m;
    m.chunks = {"a:bb", ":", ":ccc:d"};
    std::vector<std::string> records;
    std::string rest;
    std::error_code end;
    run_one([&]() -> weft::task<> {
        buffered_reader in(m);
        for (;;) {
            auto r = co_await in.read_until(':');
            if (!r) {
                end = r.error();
                break;
            }
            records.emplace_back(*r);
        }
        rest = in.buffer();
    });
    CHECK(records == std::vector<std::string>{"a:", "bb:", ":", "ccc:"});
    CHECK(end == weft::io::errc::unexpected_eof);
    CHECK(rest == "d");
}

TEST_CASE(
    "end of stream mid-line is unexpected_eof, between lines it is end_of_stream",
    "[io][buffered]") {
    std::error_code mid_line;
    std::string partial;
    std::error_code clean;
    std::error_code empty_stream;
    run_one([&]() -> weft::task<> {
        memory_stream a;
        a.chunks = {"whole\npart"};
        buffered_reader in(a);
        auto first = co_await in.read_line();
        REQUIRE(first);
        CHECK(*first == "whole");
        auto second = co_await in.read_line();
        REQUIRE(!second);
        mid_line = second.error();
        partial = in.buffer();

        memory_stream b;
        b.chunks = {"whole\n"};
        buffered_reader in_b(b);
        auto line = co_await in_b.read_line();
        REQUIRE(line);
        auto after = co_await in_b.read_line();
        REQUIRE(!after);
        clean = after.error();

        memory_stream c;
        buffered_reader in_c(c);
        auto none = co_await in_c.read_until('\n');
        REQUIRE(!none);
        empty_stream = none.error();
    });
    CHECK(mid_line == weft::io::errc::unexpected_eof);
    CHECK(partial == "part");
    CHECK(clean == weft::io::errc::end_of_stream);
    CHECK(empty_stream == weft::io::errc::end_of_stream);
}

TEST_CASE(
    "a peer that never sends the delimiter gets message_too_long and at most limit bytes "
    "buffered",
    "[io][buffered]") {
    endless_stream peer;
    std::error_code first;
    std::error_code again;
    std::size_t buffered_at_error = 0;
    std::size_t capacity_at_error = 0;
    std::size_t read_at_error = 0;
    std::size_t read_after_skip = 0;
    run_one([&]() -> weft::task<> {
        buffered_reader in(peer, 16, 1000);
        auto r = co_await in.read_line();
        REQUIRE(!r);
        first = r.error();
        buffered_at_error = in.buffered();
        capacity_at_error = in.capacity();
        read_at_error = peer.handed_out;
        in.consume(in.buffered()); // skip, and try again: the same bound holds
        auto r2 = co_await in.read_until('\n');
        REQUIRE(!r2);
        again = r2.error();
        read_after_skip = peer.handed_out;
    });
    CHECK(first == weft::io::errc::message_too_long);
    CHECK(again == weft::io::errc::message_too_long);
    CHECK(buffered_at_error == 1000);
    CHECK(capacity_at_error <= 1000);
    CHECK(read_at_error == 1000); // it never asked the stream for more than the limit
    CHECK(read_after_skip == 2000);
}

TEST_CASE("a line of exactly limit bytes is accepted, one more byte is not", "[io][buffered]") {
    std::string fits;
    std::error_code too_long;
    run_one([&]() -> weft::task<> {
        memory_stream a;
        a.chunks = {std::string(98, 'a') + "\r\n"};
        a.max_read = 7;
        buffered_reader in(a, 10, 100);
        auto r = co_await in.read_line();
        REQUIRE(r);
        fits = *r;

        memory_stream b;
        b.chunks = {std::string(99, 'b') + "\r\n"};
        buffered_reader in_b(b, 10, 100);
        auto r2 = co_await in_b.read_line();
        REQUIRE(!r2);
        too_long = r2.error();
    });
    CHECK(fits == std::string(98, 'a'));
    CHECK(too_long == weft::io::errc::message_too_long);
}

TEST_CASE("read_exact serves buffered bytes first, then reads the stream", "[io][buffered]") {
    memory_stream m;
    m.chunks = {"head\nXYZ", "0123", "456789", "tail"};
    std::string header;
    std::size_t buffered_after_header = 0;
    std::array<char, 13> body{};
    std::array<char, 8> big{};
    std::error_code short_read;
    run_one([&]() -> weft::task<> {
        buffered_reader in(m, 64);
        auto h = co_await in.read_line();
        REQUIRE(h);
        header = *h;
        buffered_after_header = in.buffered();
        auto r = co_await in.read_exact(body); // 3 buffered + 4 + 6 from two more reads
        REQUIRE(r);
        auto r2 = co_await in.read_exact(big); // only "tail" is left
        REQUIRE(!r2);
        short_read = r2.error();
    });
    CHECK(header == "head");
    CHECK(buffered_after_header == 3);
    CHECK(std::string_view(body.data(), body.size()) == "XYZ0123456789");
    CHECK(short_read == weft::io::errc::unexpected_eof);
}

TEST_CASE(
    "read_exact of at least the capacity reads straight into the caller's span", "[io][buffered]") {
    memory_stream m;
    m.chunks = {"ab", "cdefghijklmnop"};
    std::array<char, 16> out{};
    run_one([&]() -> weft::task<> {
        buffered_reader in(m, 4);
        auto p = co_await in.peek(1); // buffers "ab"
        REQUIRE(p);
        auto r = co_await in.read_exact(out);
        REQUIRE(r);
    });
    CHECK(std::string_view(out.data(), out.size()) == "abcdefghijklmnop");
    // The first read filled the 4-byte buffer; the second asked for the 14 bytes still missing.
    REQUIRE(m.read_sizes.size() == 2);
    CHECK(m.read_sizes[0] == 4);
    CHECK(m.read_sizes[1] == 14);
}

TEST_CASE("read returns buffered bytes before reading the stream again", "[io][buffered]") {
    memory_stream m;
    m.chunks = {"line\nrest", "more"};
    std::string got1;
    std::string got2;
    std::size_t reads_after_first = 0;
    std::size_t at_end = 99;
    run_one([&]() -> weft::task<> {
        buffered_reader in(m);
        auto l = co_await in.read_line();
        REQUIRE(l);
        std::array<char, 100> buf{};
        auto n = co_await in.read(buf);
        REQUIRE(n);
        got1.assign(buf.data(), *n);
        reads_after_first = m.read_sizes.size();
        auto n2 = co_await in.read(buf);
        REQUIRE(n2);
        got2.assign(buf.data(), *n2);
        auto n3 = co_await in.read(buf);
        REQUIRE(n3);
        at_end = *n3;
    });
    CHECK(got1 == "rest");
    CHECK(reads_after_first == 1); // served from the buffer
    CHECK(got2 == "more");
    CHECK(at_end == 0);
}

TEST_CASE("peek waits for n bytes without consuming, consume drops them", "[io][buffered]") {
    memory_stream m;
    m.chunks = {"ab", "cd", "ef"};
    std::string peeked;
    std::string after_consume;
    std::string at_eof;
    std::error_code over_limit;
    run_one([&]() -> weft::task<> {
        buffered_reader in(m, 8, 16);
        auto p = co_await in.peek(3);
        REQUIRE(p);
        peeked = *p;
        in.consume(1);
        after_consume = in.buffer();
        auto p2 = co_await in.peek(10); // only 5 more bytes exist
        REQUIRE(p2);
        at_eof = *p2;
        auto p3 = co_await in.peek(17);
        REQUIRE(!p3);
        over_limit = p3.error();
    });
    CHECK(peeked == "abcd");
    CHECK(after_consume == "bcd");
    CHECK(at_eof == "bcdef");
    CHECK(over_limit == weft::io::errc::message_too_long);
}

TEST_CASE("a read error is returned and the partial line stays buffered", "[io][buffered]") {
    memory_stream m;
    m.chunks = {"par"};
    m.read_error = std::make_error_code(std::errc::timed_out);
    std::error_code ec;
    std::string line;
    run_one([&]() -> weft::task<> {
        buffered_reader in(m);
        auto r = co_await in.read_line();
        REQUIRE(!r);
        ec = r.error();
        m.read_error = {};
        m.chunks.push_back("tial\n");
        auto r2 = co_await in.read_line();
        REQUIRE(r2);
        line = *r2;
    });
    CHECK(ec == std::errc::timed_out);
    CHECK(line == "partial");
}

// ---- the writer, in memory -------------------------------------------------------------------

TEST_CASE("small writes are coalesced into one write-out at flush", "[io][buffered]") {
    memory_stream m;
    std::size_t before_flush = 99;
    run_one([&]() -> weft::task<> {
        buffered_writer out(m, 4096);
        for (int i = 0; i < 100; ++i) {
            auto r = co_await out.write("0123456789");
            REQUIRE(r);
        }
        before_flush = m.writes.size();
        auto f = co_await out.flush();
        REQUIRE(f);
        auto f2 = co_await out.flush(); // nothing left: no write-out
        REQUIRE(f2);
    });
    CHECK(before_flush == 0);
    REQUIRE(m.writes.size() == 1);
    std::string want;
    for (int i = 0; i < 100; ++i) {
        want += "0123456789";
    }
    CHECK(m.writes[0] == want);
}

TEST_CASE("a full buffer is topped up and written out in capacity-sized pieces", "[io][buffered]") {
    memory_stream m;
    run_one([&]() -> weft::task<> {
        buffered_writer out(m, 64);
        for (int i = 0; i < 10; ++i) {
            auto r = co_await out.write("0123456789");
            REQUIRE(r);
        }
        auto f = co_await out.flush();
        REQUIRE(f);
    });
    REQUIRE(m.writes.size() == 2);
    CHECK(m.writes[0].size() == 64);
    CHECK(m.writes[1].size() == 36);
    std::string want;
    for (int i = 0; i < 10; ++i) {
        want += "0123456789";
    }
    CHECK(m.writes[0] + m.writes[1] == want);
}

TEST_CASE("a write larger than the buffer goes straight to the stream", "[io][buffered]") {
    memory_stream m;
    const std::string big(1000, 'z');
    run_one([&]() -> weft::task<> {
        buffered_writer out(m, 64);
        auto r = co_await out.write(big); // empty buffer: no copy at all
        REQUIRE(r);
        auto r2 = co_await out.write("ab");
        REQUIRE(r2);
        auto r3 = co_await out.write(big); // "ab" + 62 bytes, then the other 938 uncopied
        REQUIRE(r3);
        auto f = co_await out.flush();
        REQUIRE(f);
    });
    REQUIRE(m.writes.size() == 3);
    CHECK(m.write_data[0] == big.data());
    CHECK(m.writes[1] == "ab" + std::string(62, 'z'));
    CHECK(m.write_data[2] == big.data() + 62);
    CHECK(m.writes[2].size() == 938);
}

TEST_CASE("a failed write-out is returned and sticks to every later call", "[io][buffered]") {
    memory_stream m;
    m.write_error = std::make_error_code(std::errc::broken_pipe);
    std::error_code flush_ec;
    std::error_code write_ec;
    std::error_code kept;
    bool buffered_ok = false;
    run_one([&]() -> weft::task<> {
        buffered_writer out(m, 64);
        auto w = co_await out.write("fits");
        buffered_ok = w.has_value();
        auto f = co_await out.flush();
        REQUIRE(!f);
        flush_ec = f.error();
        m.write_error = {}; // even if the stream would work again
        auto w2 = co_await out.write("x");
        REQUIRE(!w2);
        write_ec = w2.error();
        kept = out.error();
    });
    CHECK(buffered_ok);
    CHECK(flush_ec == std::errc::broken_pipe);
    CHECK(write_ec == std::errc::broken_pipe);
    CHECK(kept == std::errc::broken_pipe);
    CHECK(m.writes.empty());
}

// ---- over sockets ----------------------------------------------------------------------------

TEST_CASE("lines a TCP peer sends one byte at a time are read whole", "[io][buffered]") {
    WEFT_IO_TEST_PROLOGUE();
    std::vector<std::string> lines;
    std::error_code end;
    bool sent = false;
    run([&]() -> weft::task<> {
        auto [c, s] = co_await tcp_pair();
        auto sender = weft::spawn(send_bytewise(std::move(s), "SET k v\r\nGET k\nPING\r\n\r\n"));
        buffered_reader in(c, 8, 64);
        for (;;) {
            auto line = co_await in.read_line();
            if (!line) {
                end = line.error();
                break;
            }
            lines.emplace_back(*line);
        }
        sent = (co_await sender).has_value();
    });
    CHECK(sent);
    CHECK(lines == std::vector<std::string>{"SET k v", "GET k", "PING", ""});
    CHECK(end == weft::io::errc::end_of_stream);
}

TEST_CASE(
    "a TCP peer that ends mid-line gives unexpected_eof with the bytes kept", "[io][buffered]") {
    WEFT_IO_TEST_PROLOGUE();
    std::error_code end;
    std::string partial;
    run([&]() -> weft::task<> {
        auto [c, s] = co_await tcp_pair();
        auto sender = weft::spawn(send_bytewise(std::move(s), "done\nunfinish"));
        buffered_reader in(c, 4);
        auto first = co_await in.read_line();
        REQUIRE(first);
        CHECK(*first == "done");
        auto second = co_await in.read_line();
        REQUIRE(!second);
        end = second.error();
        partial = in.buffer();
        auto ok = co_await sender;
        REQUIRE(ok);
    });
    CHECK(end == weft::io::errc::unexpected_eof);
    CHECK(partial == "unfinish");
}

TEST_CASE("a hostile TCP peer without newlines is cut off at the limit", "[io][buffered]") {
    WEFT_IO_TEST_PROLOGUE();
    std::error_code ec;
    std::size_t buffered_at_error = 0;
    std::size_t capacity_at_error = 0;
    run([&]() -> weft::task<> {
        auto [c, s] = co_await tcp_pair();
        // The peer pushes up to 4 MiB of 'x'; it fails (reset) once the reader gives up.
        auto flood = [](tcp_stream peer) -> weft::task<> {
            const std::string chunk(64 * 1024, 'x');
            for (int i = 0; i < 64; ++i) {
                if (!co_await peer.write_all(chunk)) {
                    co_return;
                }
            }
        };
        auto sender = weft::spawn(flood(std::move(s)));
        buffered_reader in(c, 1024, 4096);
        auto line = co_await in.read_line();
        REQUIRE(!line);
        ec = line.error();
        buffered_at_error = in.buffered();
        capacity_at_error = in.capacity();
        c.close();
        co_await sender;
    });
    CHECK(ec == weft::io::errc::message_too_long);
    CHECK(buffered_at_error == 4096);
    CHECK(capacity_at_error == 4096);
}

TEST_CASE("a read_line that times out keeps its partial line for the next call", "[io][buffered]") {
    WEFT_IO_TEST_PROLOGUE();
    std::error_code ec;
    std::string line;
    run([&]() -> weft::task<> {
        auto [c, s] = co_await tcp_pair();
        {
            auto&& awaited_ = co_await s.write_all(std::string_view("par"));
            REQUIRE(awaited_);
        }
        buffered_reader in(c);
        c.set_read_deadline(weft::clock::now() + 50ms); // nothing more comes before it passes
        auto r = co_await in.read_line();
        REQUIRE(!r);
        ec = r.error();
        c.set_read_deadline({});
        {
            auto&& awaited_ = co_await s.write_all(std::string_view("tial\n"));
            REQUIRE(awaited_);
        }
        auto r2 = co_await in.read_line();
        REQUIRE(r2);
        line = *r2;
    });
    CHECK(ec == std::errc::timed_out);
    CHECK(line == "partial");
}

TEST_CASE("buffered request and reply framing over a unix socket pair", "[io][buffered]") {
    WEFT_IO_TEST_PROLOGUE();
    std::vector<std::string> replies;
    bool served_ok = false;
    std::error_code end;
    run([&]() -> weft::task<> {
        auto p = weft::io::unix_stream::pair();
        REQUIRE(p);
        auto& [client, server] = *p;
        // Server: answers each line with its length, flushing when no request is buffered.
        auto serve = [](weft::io::unix_stream& conn) -> weft::task<weft::result<void>> {
            buffered_reader in(conn);
            buffered_writer out(conn);
            for (;;) {
                auto line = co_await in.read_line();
                if (!line) {
                    co_return line.error() == weft::io::errc::end_of_stream
                        ? weft::result<void>{}
                        : weft::result<void>{line.error()};
                }
                const std::string reply = std::to_string(line->size()) + "\n";
                if (auto r = co_await out.write(reply); !r) {
                    co_return r;
                }
                if (in.buffered() == 0) {
                    if (auto r = co_await out.flush(); !r) {
                        co_return r;
                    }
                }
            }
        };
        auto server_done = weft::spawn(serve(server));
        {
            auto&& awaited_ = co_await client.write_all(std::string_view("a\nbb\r\n\nccc\n"));
            REQUIRE(awaited_);
        }
        REQUIRE(client.shutdown(weft::io::shutdown_how::write));
        auto done = co_await server_done; // it stops at the end of the requests
        served_ok = done.has_value();
        server.close();
        buffered_reader in(client);
        for (;;) {
            auto r = co_await in.read_line();
            if (!r) {
                end = r.error();
                break;
            }
            replies.emplace_back(*r);
        }
    });
    CHECK(served_ok);
    CHECK(replies == std::vector<std::string>{"1", "2", "0", "3"});
    CHECK(end == weft::io::errc::end_of_stream);
}

TEST_CASE("a buffered writer's bytes reach a TCP peer intact and in order", "[io][buffered]") {
    WEFT_IO_TEST_PROLOGUE();
    std::string want;
    std::string got;
    run([&]() -> weft::task<> {
        auto [c, s] = co_await tcp_pair();
        auto reader = [](tcp_stream& peer, std::string& into) -> weft::task<> {
            std::array<char, 4096> buf{};
            for (;;) {
                auto n = co_await peer.read(buf);
                if (!n || *n == 0) {
                    co_return;
                }
                into.append(buf.data(), *n);
            }
        };
        auto receiving = weft::spawn(reader(s, got));
        buffered_writer out(c, 1024);
        for (int i = 0; i < 5000; ++i) {
            std::string piece = std::to_string(i) + (i % 7 == 0 ? std::string(3000, 'y') : ",");
            want += piece;
            auto r = co_await out.write(piece);
            REQUIRE(r);
        }
        auto f = co_await out.flush();
        REQUIRE(f);
        REQUIRE(c.shutdown(weft::io::shutdown_how::write));
        co_await receiving;
    });
    CHECK(got.size() == want.size());
    CHECK(got == want);
}

TEST_CASE(
    "a buffered writer to a reset peer fails with broken_pipe or connection_reset, no SIGPIPE",
    "[io][buffered]") {
    WEFT_IO_TEST_PROLOGUE();
    REQUIRE(std::signal(SIGPIPE, SIG_DFL) != SIG_ERR); // a SIGPIPE would kill the test
    std::error_code ec;
    std::error_code sticky;
    run([&]() -> weft::task<> {
        auto [c, s] = co_await tcp_pair();
        linger lg{1, 0};
        ::setsockopt(s.native_handle(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        s.close(); // RST
        buffered_writer out(c, 4096);
        const std::string chunk(1000, 'w');
        // The first write-outs may still land in the kernel's buffer; a later one must fail.
        for (int i = 0; i < 100000; ++i) {
            auto r = co_await out.write(chunk);
            if (!r) {
                ec = r.error();
                break;
            }
        }
        auto f = co_await out.flush();
        REQUIRE(!f);
        sticky = f.error();
    });
    CHECK((ec == std::errc::broken_pipe || ec == std::errc::connection_reset));
    CHECK(sticky == ec);
}

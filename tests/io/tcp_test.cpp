// tcp_listener and tcp_stream, on both backends (tests/io/CMakeLists.txt registers each case
// twice). Loopback and ephemeral ports only.

#include "io_test_support.hpp"

#include <array>
#include <atomic>
#include <csignal>
#include <string>
#include <thread>
#include <vector>
#include <weft_test.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>

using namespace std::chrono_literals;
using weft::io::address;
using weft::io::tcp_listener;
using weft::io::tcp_stream;
using namespace weft::io::testing;

namespace {

/// Echoes until EOF or an error, then closes.
weft::task<> echo(tcp_stream c) {
    std::array<std::byte, 4096> buf;
    for (;;) {
        auto n = co_await c.read(buf);
        if (!n || *n == 0) {
            co_return;
        }
        if (!co_await c.write_all({buf.data(), *n})) {
            co_return;
        }
    }
}

/// Accepts forever (until cancelled or the listener closes), one echo task per connection.
weft::task<> echo_server(tcp_listener& l) {
    for (;;) {
        auto c = co_await l.accept();
        if (!c) {
            co_return;
        }
        weft::go(echo(std::move(*c)));
    }
}

void set_linger_zero(int fd) {
    linger lg{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

weft::task<weft::result<std::size_t>> read_into(tcp_stream& s, std::span<std::byte> b) {
    co_return co_await s.read(b);
}

/// Sends `total` pattern bytes of stream `seed` in `chunk`-sized write_all calls.
weft::task<weft::result<void>>
send_pattern(tcp_stream& s, std::uint64_t seed, std::size_t total, std::size_t chunk) {
    std::vector<std::byte> buf(chunk);
    std::size_t sent = 0;
    while (sent < total) {
        std::size_t n = std::min(chunk, total - sent);
        fill_pattern({buf.data(), n}, seed, sent);
        if (auto r = co_await s.write_all({buf.data(), n}); !r) {
            co_return r.error();
        }
        sent += n;
    }
    co_return weft::result<void>{};
}

/// Receives `total` bytes and checks them against stream `seed`; reads of at most `max_read`.
/// Returns the number of bytes that matched (== total on success).
weft::task<weft::result<std::size_t>> recv_pattern(
    tcp_stream& s, std::uint64_t seed, std::size_t total, std::size_t max_read, bool vary = false) {
    std::vector<std::byte> buf(max_read);
    std::size_t got = 0;
    std::uint64_t rng = seed;
    while (got < total) {
        std::size_t want = std::min(max_read, total - got);
        if (vary) {
            rng = weft::testing::splitmix64(rng);
            want = 1 + rng % want;
        }
        auto n = co_await s.read({buf.data(), want});
        if (!n) {
            co_return n.error();
        }
        if (*n == 0) {
            co_return got; // early EOF
        }
        if (!check_pattern({buf.data(), *n}, seed, got)) {
            co_return got;
        }
        got += *n;
    }
    co_return got;
}

/// Counts live connection tasks (each holds one) and ended ones.
struct task_census {
    std::atomic<int> started{0};
    std::atomic<int> ended{0};
};

struct census_guard {
    task_census& c;
    explicit census_guard(task_census& t)
        : c(t) {
        ++c.started;
    }
    ~census_guard() { ++c.ended; }
    census_guard(const census_guard&) = delete;
};

weft::task<> counted_echo(tcp_stream c, task_census& census) {
    census_guard g(census);
    co_await echo(std::move(c));
}

/// A server that owns its connection tasks: cancelling it cancels them and waits for them.
weft::task<> owning_server(tcp_listener l, task_census& census) {
    census_guard g(census);
    weft::scope kids;
    for (;;) {
        auto c = co_await l.accept();
        if (!c) {
            break;
        }
        kids.spawn(counted_echo(std::move(*c), census));
    }
    kids.cancel();
    co_await kids.join();
}

/// A client that says hello and then waits for data that never comes.
weft::task<> idle_client(address a, task_census& census) {
    census_guard g(census);
    auto c = co_await tcp_stream::connect(a, 5s);
    if (!c) {
        co_return;
    }
    if (!co_await c->write_all(std::string_view("hi"))) {
        co_return;
    }
    std::array<std::byte, 2> echo_back{};
    if (!co_await c->read_exact(echo_back)) {
        co_return;
    }
    std::array<std::byte, 16> buf{};
    (void)co_await c->read(buf); // blocks until cancelled or shut down
}

} // namespace

TEST_CASE("a tcp client and server exchange a message", "[io][tcp]") {
    WEFT_IO_TEST_PROLOGUE();
    std::string got;
    run([&]() -> weft::task<> {
        auto [l, a] = loopback_listener();
        auto server = weft::spawn(echo_server(l));
        auto c = co_await tcp_stream::connect(a, 5s);
        REQUIRE(c);
        {
            auto&& awaited_ = co_await c->write_all(std::string_view("hello, weft"));
            REQUIRE(awaited_);
        }
        std::array<char, 11> buf{};
        {
            auto&& awaited_ = co_await c->read_exact(buf);
            REQUIRE(awaited_);
        }
        got.assign(buf.data(), buf.size());
        REQUIRE(c->peer_address().value() == a);
        REQUIRE(c->local_address().value().is_loopback());
        server.cancel();
        co_await server;
    });
    CHECK(got == "hello, weft");
}

TEST_CASE("connect to a closed port fails with connection_refused", "[io][tcp]") {
    WEFT_IO_TEST_PROLOGUE();
    std::error_code ec;
    run([&]() -> weft::task<> {
        address a;
        {
            auto [l, la] = loopback_listener();
            a = la;
        } // closed: nothing listens on the port now
        auto c = co_await tcp_stream::connect(a, 5s);
        REQUIRE(!c);
        ec = c.error();
    });
    CHECK(ec == std::errc::connection_refused);
}

TEST_CASE("connect by host name string resolves localhost", "[io][tcp]") {
    WEFT_IO_TEST_PROLOGUE();
    bool ok = false;
    run([&]() -> weft::task<> {
        auto [l, a] = loopback_listener();
        auto server = weft::spawn(echo_server(l));
        auto c = co_await tcp_stream::connect("localhost:" + std::to_string(a.port()), 5s);
        REQUIRE(c);
        {
            auto&& awaited_ = co_await c->write_all(std::string_view("x"));
            REQUIRE(awaited_);
        }
        std::array<char, 1> b{};
        {
            auto&& awaited_ = co_await c->read_exact(b);
            REQUIRE(awaited_);
        }
        ok = b[0] == 'x';
        server.cancel();
        co_await server;
    });
    CHECK(ok);
}

TEST_CASE("echo across many concurrent connections with the data verified", "[io][tcp]") {
    WEFT_IO_TEST_PROLOGUE();
    rlimit rl{};
    ::getrlimit(RLIMIT_NOFILE, &rl);
    // Two descriptors per connection (both ends live in this process).
    const int conns = static_cast<int>(std::min<rlim_t>(1000, (rl.rlim_max - 100) / 2));
    constexpr int rounds = 3;
    constexpr std::size_t msg = 1024;
    std::atomic<int> verified{0};
    std::atomic<int> failed{0};
    run(
        [&]() -> weft::task<> {
            auto [l, a] = loopback_listener();
            auto server = weft::spawn(echo_server(l));
            weft::scope clients;
            for (int i = 0; i < conns; ++i) {
                clients.spawn(
                    [](address to, int id, std::atomic<int>& ok, std::atomic<int>& bad)
                        -> weft::task<> {
                        auto c = co_await tcp_stream::connect(to, 20s);
                        if (!c) {
                            ++bad;
                            co_return;
                        }
                        std::vector<std::byte> out(msg);
                        std::vector<std::byte> in(msg);
                        for (int r = 0; r < rounds; ++r) {
                            const auto seed = static_cast<std::uint64_t>(id * rounds + r);
                            fill_pattern(out, seed, 0);
                            if (!co_await c->write_all(out) || !co_await c->read_exact(in) ||
                                !check_pattern(in, seed, 0)) {
                                ++bad;
                                co_return;
                            }
                        }
                        ++ok;
                    }(a, i, verified, failed));
            }
            co_await clients.join();
            server.cancel();
            co_await server;
        },
        weft::testing::test_workers(4));
    CHECK(failed == 0);
    CHECK(verified == conns);
}

TEST_CASE("64 MB cross one connection in both directions at once", "[io][tcp]") {
    WEFT_IO_TEST_PROLOGUE();
    constexpr std::size_t total = 64u << 20;
    std::size_t client_got = 0;
    std::size_t server_got = 0;
    bool sends_ok = false;
    run([&]() -> weft::task<> {
        auto [l, a] = loopback_listener();
        auto accepting = weft::spawn(l.accept());
        auto c = co_await tcp_stream::connect(a, 5s);
        REQUIRE(c);
        auto s = co_await accepting;
        REQUIRE(s);
        // Four tasks: each end writes and reads concurrently on the same stream.
        auto c_send = weft::spawn(send_pattern(*c, 1, total, 256 << 10));
        auto s_send = weft::spawn(send_pattern(*s, 2, total, 256 << 10));
        auto c_recv = weft::spawn(recv_pattern(*c, 2, total, 64 << 10));
        auto s_recv = weft::spawn(recv_pattern(*s, 1, total, 64 << 10));
        auto r1 = co_await c_send;
        auto r2 = co_await s_send;
        sends_ok = r1.has_value() && r2.has_value();
        client_got = (co_await c_recv).value_or(0);
        server_got = (co_await s_recv).value_or(0);
    });
    CHECK(sends_ok);
    CHECK(client_got == total);
    CHECK(server_got == total);
}

TEST_CASE(
    "short writes and reads with small socket buffers keep every byte in order", "[io][tcp]") {
    WEFT_IO_TEST_PROLOGUE();
    constexpr std::size_t total = 512u << 10;
    std::size_t first_write = 0;
    std::size_t received = 0;
    bool rest_ok = false;
    run([&]() -> weft::task<> {
        auto [l, a] = loopback_listener();
        auto accepting = weft::spawn(l.accept());
        auto c = co_await tcp_stream::connect(a, 5s);
        REQUIRE(c);
        auto s = co_await accepting;
        REQUIRE(s);
        REQUIRE(c->set_send_buffer_size(4096));
        std::vector<std::byte> data(total);
        fill_pattern(data, 7, 0);
        // Nobody reads yet: one write() can only fill the buffers, so it is short.
        auto n = co_await c->write(data);
        REQUIRE(n);
        first_write = *n;
        auto reader = weft::spawn(recv_pattern(*s, 7, total, 4096, true));
        auto rest = co_await c->write_all({data.data() + *n, total - *n});
        rest_ok = rest.has_value();
        received = (co_await reader).value_or(0);
    });
    CHECK(first_write > 0);
    CHECK(first_write < total);
    CHECK(rest_ok);
    CHECK(received == total);
}

TEST_CASE("a peer reset while a read is pending gives connection_reset", "[io][tcp]") {
    WEFT_IO_TEST_PROLOGUE();
    std::error_code ec;
    run([&]() -> weft::task<> {
        auto [l, a] = loopback_listener();
        auto accepting = weft::spawn(l.accept());
        auto c = co_await tcp_stream::connect(a, 5s);
        REQUIRE(c);
        auto s = co_await accepting;
        REQUIRE(s);
        std::array<std::byte, 64> buf{};
        auto reader = weft::spawn(read_into(*c, buf));
        co_await weft::sleep_for(20ms); // let the read reach the kernel
        set_linger_zero(s->native_handle());
        s->close(); // RST
        auto r = co_await reader;
        REQUIRE(!r);
        ec = r.error();
    });
    CHECK(ec == std::errc::connection_reset);
}

TEST_CASE(
    "writing to a reset peer fails with broken_pipe or connection_reset, no SIGPIPE", "[io][tcp]") {
    WEFT_IO_TEST_PROLOGUE();
    REQUIRE(std::signal(SIGPIPE, SIG_DFL) != SIG_ERR); // a SIGPIPE would kill the test
    std::error_code ec;
    run([&]() -> weft::task<> {
        auto [l, a] = loopback_listener();
        auto accepting = weft::spawn(l.accept());
        auto c = co_await tcp_stream::connect(a, 5s);
        REQUIRE(c);
        auto s = co_await accepting;
        REQUIRE(s);
        auto writer = weft::spawn(send_pattern(*c, 3, std::size_t{1} << 34, 1 << 20));
        std::array<std::byte, 4096> buf{};
        {
            auto&& awaited_ = co_await s->read(buf);
            REQUIRE(awaited_);
        } // the writer is going
        set_linger_zero(s->native_handle());
        s->close();
        auto r = co_await writer;
        REQUIRE(!r);
        ec = r.error();
    });
    CHECK((ec == std::errc::broken_pipe || ec == std::errc::connection_reset));
}

TEST_CASE("half-close: the peer reads to end of stream and can still answer", "[io][tcp]") {
    WEFT_IO_TEST_PROLOGUE();
    std::string server_saw;
    std::string client_saw;
    run([&]() -> weft::task<> {
        auto [l, a] = loopback_listener();
        auto accepting = weft::spawn(l.accept());
        auto c = co_await tcp_stream::connect(a, 5s);
        REQUIRE(c);
        auto s = co_await accepting;
        REQUIRE(s);
        {
            auto&& awaited_ = co_await c->write_all(std::string_view("request"));
            REQUIRE(awaited_);
        }
        REQUIRE(c->shutdown(weft::io::shutdown_how::write));
        std::array<char, 64> buf{};
        for (;;) {
            auto n = co_await s->read(buf);
            REQUIRE(n);
            if (*n == 0) {
                break;
            }
            server_saw.append(buf.data(), *n);
        }
        {
            auto&& awaited_ = co_await s->write_all(std::string_view("response"));
            REQUIRE(awaited_);
        }
        s->close();
        for (;;) {
            auto n = co_await c->read(buf);
            REQUIRE(n);
            if (*n == 0) {
                break;
            }
            client_saw.append(buf.data(), *n);
        }
    });
    CHECK(server_saw == "request");
    CHECK(client_saw == "response");
}

TEST_CASE("read_exact fails with unexpected_eof when the stream ends early", "[io][tcp]") {
    WEFT_IO_TEST_PROLOGUE();
    std::error_code ec;
    run([&]() -> weft::task<> {
        auto [l, a] = loopback_listener();
        auto accepting = weft::spawn(l.accept());
        auto c = co_await tcp_stream::connect(a, 5s);
        REQUIRE(c);
        auto s = co_await accepting;
        REQUIRE(s);
        {
            auto&& awaited_ = co_await s->write_all(std::string_view("abc"));
            REQUIRE(awaited_);
        }
        s->close();
        std::array<std::byte, 8> buf{};
        auto r = co_await c->read_exact(buf);
        REQUIRE(!r);
        ec = r.error();
    });
    CHECK(ec == weft::io::errc::unexpected_eof);
}

TEST_CASE("connect times out against a listener whose backlog is full", "[io][tcp]") {
    WEFT_IO_TEST_PROLOGUE();
    // Loopback only: a listener with backlog 0 that never accepts holds one connection; the
    // kernel drops the SYNs of the next ones, so their connect cannot complete.
    std::error_code timeout_ec;
    std::error_code with_timeout_ec;
    run([&]() -> weft::task<> {
        weft::io::listen_options o;
        o.backlog = 0;
        auto [l, a] = loopback_listener(o);
        std::vector<tcp_stream> held;
        for (int i = 0; i < 16 && !timeout_ec; ++i) {
            auto c = co_await tcp_stream::connect(a, 200ms);
            if (c) {
                held.push_back(std::move(*c));
            } else {
                timeout_ec = c.error();
            }
        }
        auto r = co_await weft::with_timeout(200ms, tcp_stream::connect(a));
        with_timeout_ec = r.error();
    });
    CHECK(timeout_ec == std::errc::timed_out);
    CHECK(with_timeout_ec == std::errc::timed_out);
}

TEST_CASE(
    "a pending read cancelled returns operation_canceled and leaves the buffer alone",
    "[io][tcp]") {
    WEFT_IO_TEST_PROLOGUE();
    std::array<std::byte, 64> buf{};
    std::error_code ec;
    bool untouched = false;
    std::string later;
    run([&]() -> weft::task<> {
        auto [l, a] = loopback_listener();
        auto accepting = weft::spawn(l.accept());
        auto c = co_await tcp_stream::connect(a, 5s);
        REQUIRE(c);
        auto s = co_await accepting;
        REQUIRE(s);
        auto reader = weft::spawn(read_into(*s, buf));
        co_await weft::sleep_for(20ms);
        reader.cancel();
        auto r = co_await reader;
        REQUIRE(!r);
        ec = r.error();
        // The op is over: data sent now must neither land in buf nor be lost.
        {
            auto&& awaited_ = co_await c->write_all(std::string_view("after"));
            REQUIRE(awaited_);
        }
        co_await weft::sleep_for(30ms);
        untouched =
            std::all_of(buf.begin(), buf.end(), [](std::byte b) { return b == std::byte{0}; });
        std::array<char, 5> again{};
        {
            auto&& awaited_ = co_await s->read_exact(again);
            REQUIRE(awaited_);
        }
        later.assign(again.data(), again.size());
    });
    CHECK(ec == std::errc::operation_canceled);
    CHECK(untouched);
    CHECK(later == "after");
}

TEST_CASE("with_timeout on a read returns timed_out and the stream stays usable", "[io][tcp]") {
    WEFT_IO_TEST_PROLOGUE();
    std::error_code ec;
    std::string later;
    run([&]() -> weft::task<> {
        auto [l, a] = loopback_listener();
        auto accepting = weft::spawn(l.accept());
        auto c = co_await tcp_stream::connect(a, 5s);
        REQUIRE(c);
        auto s = co_await accepting;
        REQUIRE(s);
        std::array<std::byte, 16> buf{};
        auto r = co_await weft::with_timeout(50ms, read_into(*s, buf));
        ec = r.error();
        {
            auto&& awaited_ = co_await c->write_all(std::string_view("ok"));
            REQUIRE(awaited_);
        }
        std::array<char, 2> two{};
        {
            auto&& awaited_ = co_await s->read_exact(two);
            REQUIRE(awaited_);
        }
        later.assign(two.data(), 2);
    });
    CHECK(ec == std::errc::timed_out);
    CHECK(later == "ok");
}

TEST_CASE("read and write deadlines", "[io][tcp]") {
    WEFT_IO_TEST_PROLOGUE();
    std::error_code read_ec;
    double read_ms = 0;
    std::error_code interrupted_ec;
    std::error_code write_ec;
    std::string after_clear;
    run([&]() -> weft::task<> {
        auto [l, a] = loopback_listener();
        auto accepting = weft::spawn(l.accept());
        auto c = co_await tcp_stream::connect(a, 5s);
        REQUIRE(c);
        auto s = co_await accepting;
        REQUIRE(s);
        std::array<std::byte, 16> buf{};
        // A deadline in the future: the read fails when it passes.
        auto t0 = std::chrono::steady_clock::now();
        s->set_read_deadline(weft::clock::now() + 50ms);
        auto r = co_await s->read(buf);
        read_ms = weft::testing::ms_since(t0);
        read_ec = r.error();
        // A deadline moved into the past interrupts a read pending in another task.
        s->set_read_deadline({});
        auto reader = weft::spawn(read_into(*s, buf));
        co_await weft::sleep_for(20ms);
        s->set_read_deadline(weft::clock::now() - 1ms);
        interrupted_ec = (co_await reader).error();
        // Cleared: reads work again.
        s->set_read_deadline({});
        {
            auto&& awaited_ = co_await c->write_all(std::string_view("back"));
            REQUIRE(awaited_);
        }
        std::array<char, 4> four{};
        {
            auto&& awaited_ = co_await s->read_exact(four);
            REQUIRE(awaited_);
        }
        after_clear.assign(four.data(), 4);
        // A write deadline: nobody reads, the buffers fill, write_all gives up.
        REQUIRE(c->set_send_buffer_size(4096));
        c->set_write_deadline(weft::clock::now() + 100ms);
        write_ec = (co_await send_pattern(*c, 5, std::size_t{64} << 20, 1 << 20)).error();
    });
    CHECK(read_ec == std::errc::timed_out);
    CHECK(read_ms >= 45);
    CHECK(interrupted_ec == std::errc::timed_out);
    CHECK(after_clear == "back");
    CHECK(write_ec == std::errc::timed_out);
}

TEST_CASE("closing a stream cancels a read pending in another task", "[io][tcp]") {
    WEFT_IO_TEST_PROLOGUE();
    std::error_code ec;
    std::error_code after_close;
    int fds_before = 0;
    int fds_after = 0;
    run([&]() -> weft::task<> {
        auto [l, a] = loopback_listener();
        fds_before = open_fds();
        {
            auto accepting = weft::spawn(l.accept());
            auto c = co_await tcp_stream::connect(a, 5s);
            REQUIRE(c);
            auto s = co_await accepting;
            REQUIRE(s);
            std::array<std::byte, 16> buf{};
            auto reader = weft::spawn(read_into(*s, buf));
            co_await weft::sleep_for(20ms);
            s->close();
            ec = (co_await reader).error();
            after_close = (co_await s->write_all(std::string_view("x"))).error();
        }
        fds_after = open_fds();
    });
    CHECK(ec == std::errc::bad_file_descriptor);
    CHECK(after_close == std::errc::bad_file_descriptor);
    CHECK(fds_after <= fds_before);
}

TEST_CASE("operations on an empty stream fail with bad_file_descriptor", "[io][tcp]") {
    WEFT_IO_TEST_PROLOGUE();
    std::error_code r_ec;
    std::error_code w_ec;
    run([&]() -> weft::task<> {
        tcp_stream none;
        std::array<std::byte, 4> b{};
        r_ec = (co_await none.read(b)).error();
        w_ec = (co_await none.write_all(b)).error();
        co_return;
    });
    CHECK(r_ec == std::errc::bad_file_descriptor);
    CHECK(w_ec == std::errc::bad_file_descriptor);
}

TEST_CASE("socket options can be set", "[io][tcp]") {
    WEFT_IO_TEST_PROLOGUE();
    int nodelay = -1;
    int keepalive = -1;
    run([&]() -> weft::task<> {
        auto [l, a] = loopback_listener();
        auto accepting = weft::spawn(l.accept());
        auto c = co_await tcp_stream::connect(a, 5s);
        REQUIRE(c);
        auto s = co_await accepting;
        REQUIRE(c->set_nodelay(true));
        REQUIRE(c->set_keepalive(true, 30s));
        nodelay = c->get_option(IPPROTO_TCP, TCP_NODELAY).value();
        keepalive = c->get_option(SOL_SOCKET, SO_KEEPALIVE).value();
    });
    CHECK(nodelay == 1);
    CHECK(keepalive == 1);
}

TEST_CASE("accept backs off on EMFILE and keeps serving open connections", "[io][tcp]") {
    WEFT_IO_TEST_PROLOGUE();
    // While the limit is low nothing here may need a descriptor it does not have: no Catch2
    // assertion (the sanitizers' runtime opens pipes to check unfamiliar objects), only records.
    constexpr int clients = 6;
    constexpr int room = 3; // descriptors left for accepted connections
    std::atomic<int> accepted{0};
    bool connects_ok = true;
    bool reached_room = false;
    int accepted_under_limit = -1;
    bool starved_echo_ok = false;
    std::string echo_while_starved;
    bool resumed = false;
    int accepted_after_one_closed = -1;
    bool restored = false;
    bool all_accepted = false;
    bool final_echo_ok = false;
    std::string echo_at_end;
    rlimit saved{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
    run([&]() -> weft::task<> {
        auto [l, a] = loopback_listener();
        // Client sockets exist before the limit drops; they connect through the kernel backlog.
        int raw[clients];
        for (int& fd : raw) {
            fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            REQUIRE(fd >= 0);
        }
        std::vector<tcp_stream> cs;
        for (int fd : raw) {
            cs.push_back(tcp_stream::from_fd(fd).value());
        }
        // Let every thread of the runtime get going first (the sanitizers check a thread's
        // start-up objects on its first instructions, and may need a descriptor for that).
        co_await weft::sleep_for(50ms);
        // The limit drops before the listener accepts: io_uring reads RLIMIT_NOFILE when an accept
        // is armed (io_accept_prep), so a multishot armed earlier would keep the old limit.
        rlimit low = saved;
        low.rlim_cur = nofile_limit_leaving(room);
        REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
        weft::scope server;
        server.spawn([](tcp_listener& lis, std::atomic<int>& n) -> weft::task<> {
            for (;;) {
                auto c = co_await lis.accept();
                if (!c) {
                    co_return;
                }
                ++n;
                weft::go(echo(std::move(*c)));
            }
        }(l, accepted));
        // --- limit low: records only ---
        for (auto& c : cs) {
            int r = ::connect(c.native_handle(), a.data(), a.size());
            connects_ok = connects_ok && (r == 0 || errno == EINPROGRESS);
        }
        reached_room = co_await weft::testing::yield_until([&] { return accepted.load() >= room; });
        co_await weft::sleep_for(100ms);
        accepted_under_limit = accepted.load();
        // The accepted ones are served while accept() is starved.
        std::array<char, 4> four{};
        auto w = co_await cs[0].write_all(std::string_view("ping"));
        auto r = co_await cs[0].read_exact(four);
        starved_echo_ok = w.has_value() && r.has_value();
        echo_while_starved.assign(four.data(), 4);
        // One connection ends: its descriptors are free, accept() gets going again.
        cs[0].close();
        resumed = co_await weft::testing::yield_until([&] { return accepted.load() > room; }, 10s);
        accepted_after_one_closed = accepted.load(); // both ends of cs[0] freed a slot
        restored = ::setrlimit(RLIMIT_NOFILE, &saved) == 0;
        // --- limit restored ---
        all_accepted =
            co_await weft::testing::yield_until([&] { return accepted.load() == clients; }, 10s);
        auto w2 = co_await cs[clients - 1].write_all(std::string_view("pong"));
        auto r2 = co_await cs[clients - 1].read_exact(four);
        final_echo_ok = w2.has_value() && r2.has_value();
        echo_at_end.assign(four.data(), 4);
        server.cancel();
        co_await server.join();
    });
    ::setrlimit(RLIMIT_NOFILE, &saved);
    CHECK(connects_ok);
    CHECK(reached_room);
    CHECK(accepted_under_limit == room);
    CHECK(starved_echo_ok);
    CHECK(echo_while_starved == "ping");
    CHECK(resumed);
    CHECK(accepted_after_one_closed > room);
    CHECK(restored);
    CHECK(all_accepted);
    CHECK(final_echo_ok);
    CHECK(echo_at_end == "pong");
}

TEST_CASE(
    "a server cancelled with connections open ends every task and leaks no descriptor",
    "[io][tcp]") {
    WEFT_IO_TEST_PROLOGUE();
    constexpr int conns = 20;
    task_census census;
    int before = 0;
    int after = 0;
    run([&]() -> weft::task<> {
        before = open_fds();
        auto l = tcp_listener::bind("127.0.0.1:0").value();
        auto a = l.local_address().value();
        auto server = weft::spawn(owning_server(std::move(l), census));
        weft::scope clients;
        for (int i = 0; i < conns; ++i) {
            clients.spawn(idle_client(a, census));
        }
        // Everyone connected and blocked: 1 server + conns clients + conns connection tasks.
        {
            auto&& awaited_ = co_await weft::testing::yield_until(
                [&] { return census.started.load() == 1 + 2 * conns; });
            REQUIRE(awaited_);
        }
        co_await weft::sleep_for(20ms);
        server.cancel();
        co_await server;
        clients.cancel();
        co_await clients.join();
        // The listener's descriptor closes once its ring has reaped the end of its multishot
        // accept: soon, not necessarily before this line.
        co_await weft::testing::yield_until([&] { return open_fds() <= before; }, 5s);
        after = open_fds();
    });
    CHECK(census.started == 1 + 2 * conns);
    CHECK(census.ended == census.started);
    CHECK(after <= before); // a leak shows as more; fewer is a transient descriptor of the start
}

TEST_CASE(
    "runtime shutdown ends tasks blocked in accept and read and closes their sockets",
    "[io][tcp]") {
    WEFT_IO_TEST_PROLOGUE();
    constexpr int conns = 10;
    task_census census;
    const int before = open_fds();
    {
        weft::runtime_options o;
        o.workers = weft::testing::test_workers(2);
        weft::runtime rt(o);
        rt.block_on([](task_census& cen) -> weft::task<> {
            auto l = tcp_listener::bind("127.0.0.1:0").value();
            auto a = l.local_address().value();
            weft::go(owning_server(std::move(l), cen));
            for (int i = 0; i < conns; ++i) {
                weft::go(idle_client(a, cen));
            }
            co_await weft::testing::yield_until(
                [&] { return cen.started.load() == 1 + 2 * conns; });
            co_await weft::sleep_for(20ms);
        }(census));
        // rt's destructor shuts down with every one of those tasks blocked on a socket.
    }
    CHECK(census.started == 1 + 2 * conns);
    CHECK(census.ended == census.started);
    CHECK(open_fds() <= before);
}

TEST_CASE(
    "stress: connections cut short by random timeouts leave nothing behind",
    "[io][tcp][.][stress]") {
    WEFT_IO_TEST_PROLOGUE();
    const int iters = weft::testing::stress_iters(300);
    std::atomic<int> done{0};
    int before = 0;
    int after = 0;
    run(
        [&]() -> weft::task<> {
            before = open_fds();
            {
                auto [l, a] = loopback_listener();
                auto server = weft::spawn(echo_server(l));
                weft::scope workers;
                for (int w = 0; w < 8; ++w) {
                    workers.spawn(
                        [](address to, int n, int seed, std::atomic<int>& d) -> weft::task<> {
                            std::uint64_t rng = static_cast<std::uint64_t>(seed);
                            for (int i = 0; i < n; ++i) {
                                rng = weft::testing::splitmix64(rng);
                                auto limit = std::chrono::microseconds(rng % 3000);
                                (void)co_await weft::with_timeout(
                                    limit,
                                    [](address t,
                                       std::uint64_t s) -> weft::task<weft::result<void>> {
                                        auto c = co_await tcp_stream::connect(t, 5s);
                                        if (!c) {
                                            co_return c.error();
                                        }
                                        std::vector<std::byte> out(1 + s % 70000);
                                        std::vector<std::byte> in(out.size());
                                        fill_pattern(out, s, 0);
                                        if (auto r = co_await c->write_all(out); !r) {
                                            co_return r;
                                        }
                                        if (auto r = co_await c->read_exact(in); !r) {
                                            co_return r;
                                        }
                                        if (!check_pattern(in, s, 0)) {
                                            co_return std::errc::io_error;
                                        }
                                        co_return weft::result<void>{};
                                    }(to, rng));
                                ++d;
                            }
                        }(a, iters / 8 + 1, w + 1, done));
                }
                co_await workers.join();
                server.cancel();
                co_await server;
            }
            // Echo tasks see EOF and close; the listener closes once its accept is reaped.
            co_await weft::testing::yield_until([&] { return open_fds() <= before; }, 5s);
            after = open_fds();
        },
        weft::testing::test_workers(4));
    CHECK(done >= iters);
    CHECK(after <= before);
}

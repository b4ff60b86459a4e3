// weft::io::udp_socket on both backends; loopback, ephemeral ports.

#include "io_test_support.hpp"

#include <array>
#include <string>
#include <weft_test.hpp>

#include <sys/socket.h>

using namespace std::chrono_literals;
using weft::io::address;
using weft::io::udp_socket;
using namespace weft::io::testing;

namespace {

/// Echoes datagrams back to their sender until cancelled or closed.
weft::task<> udp_echo(udp_socket& s) {
    std::array<std::byte, 2048> buf;
    for (;;) {
        auto d = co_await s.recv_from(buf);
        if (!d) {
            co_return;
        }
        auto r = co_await s.send_to({buf.data(), d->size}, d->from);
        if (!r) {
            co_return;
        }
    }
}

weft::task<weft::result<weft::io::datagram>> recv_into(udp_socket& s, std::span<std::byte> b) {
    co_return co_await s.recv_from(b);
}

} // namespace

TEST_CASE("udp datagrams make round trips with their sender's address", "[io][udp]") {
    WEFT_IO_TEST_PROLOGUE();
    int good = 0;
    constexpr int rounds = 200;
    run([&]() -> weft::task<> {
        auto server = udp_socket::bind("127.0.0.1:0").value();
        auto server_addr = server.local_address().value();
        auto echo = weft::spawn(udp_echo(server));
        auto client = udp_socket::bind("127.0.0.1:0").value();
        auto client_addr = client.local_address().value();
        std::vector<std::byte> out(1400);
        std::vector<std::byte> in(2048);
        for (int i = 0; i < rounds; ++i) {
            std::size_t n = 1 + static_cast<std::size_t>(i * 7) % out.size();
            fill_pattern({out.data(), n}, static_cast<std::uint64_t>(i), 0);
            auto sent = co_await client.send_to({out.data(), n}, server_addr);
            REQUIRE(sent);
            REQUIRE(*sent == n);
            auto d = co_await weft::with_timeout(5s, recv_into(client, in));
            REQUIRE(d);
            if (d->size == n && d->from == server_addr &&
                check_pattern({in.data(), n}, static_cast<std::uint64_t>(i), 0)) {
                ++good;
            }
        }
        CHECK(client_addr.is_loopback());
        echo.cancel();
        co_await echo;
    });
    CHECK(good == rounds);
}

TEST_CASE("set_broadcast sets SO_BROADCAST, and a closed socket gets an error", "[io][udp]") {
    WEFT_IO_TEST_PROLOGUE();
    run([&]() -> weft::task<> {
        auto s = udp_socket::bind("127.0.0.1:0").value();
        auto so_broadcast = [&] {
            int v = -1;
            socklen_t len = sizeof v;
            REQUIRE(::getsockopt(s.native_handle(), SOL_SOCKET, SO_BROADCAST, &v, &len) == 0);
            return v;
        };
        CHECK(so_broadcast() == 0);
        REQUIRE(s.set_broadcast(true));
        CHECK(so_broadcast() == 1);
        REQUIRE(s.set_broadcast(false));
        CHECK(so_broadcast() == 0);
        s.close();
        CHECK_FALSE(s.set_broadcast(true));
        co_return;
    });
}

TEST_CASE("connected udp sockets use send and recv", "[io][udp]") {
    WEFT_IO_TEST_PROLOGUE();
    std::string got_a;
    std::string got_b;
    run([&]() -> weft::task<> {
        auto a = udp_socket::bind("127.0.0.1:0").value();
        auto b = udp_socket::bind("127.0.0.1:0").value();
        REQUIRE(a.connect(b.local_address().value()));
        REQUIRE(b.connect(a.local_address().value()));
        REQUIRE(b.peer_address().value() == a.local_address().value());
        std::array<std::byte, 64> buf{};
        auto s1 = co_await a.send(bytes_of("to b"));
        REQUIRE(s1);
        auto r1 = co_await b.recv(buf);
        REQUIRE(r1);
        got_b.assign(text_of({buf.data(), *r1}));
        auto s2 = co_await b.send(bytes_of("to a"));
        REQUIRE(s2);
        auto r2 = co_await a.recv(buf);
        REQUIRE(r2);
        got_a.assign(text_of({buf.data(), *r2}));
    });
    CHECK(got_b == "to b");
    CHECK(got_a == "to a");
}

TEST_CASE("a datagram larger than the buffer is truncated", "[io][udp]") {
    WEFT_IO_TEST_PROLOGUE();
    std::size_t got = 0;
    run([&]() -> weft::task<> {
        auto a = udp_socket::bind("127.0.0.1:0").value();
        auto b = udp_socket::bind("127.0.0.1:0").value();
        std::array<std::byte, 100> big{};
        auto s = co_await a.send_to(big, b.local_address().value());
        REQUIRE(s);
        std::array<std::byte, 10> small{};
        auto d = co_await b.recv_from(small);
        REQUIRE(d);
        got = d->size;
    });
    CHECK(got == 10);
}

TEST_CASE("a pending udp receive honours with_timeout, deadlines and close", "[io][udp]") {
    WEFT_IO_TEST_PROLOGUE();
    std::error_code timeout_ec;
    std::error_code deadline_ec;
    std::error_code close_ec;
    std::string after;
    run([&]() -> weft::task<> {
        auto s = udp_socket::bind("127.0.0.1:0").value();
        std::array<std::byte, 64> buf{};
        timeout_ec = (co_await weft::with_timeout(30ms, recv_into(s, buf))).error();
        s.set_read_deadline(weft::clock::now() + 30ms);
        deadline_ec = (co_await s.recv_from(buf)).error();
        s.set_read_deadline({});
        // Still usable: nothing was lost or left behind.
        auto peer = udp_socket::bind("127.0.0.1:0").value();
        auto sent = co_await peer.send_to(bytes_of("later"), s.local_address().value());
        REQUIRE(sent);
        auto d = co_await s.recv_from(buf);
        REQUIRE(d);
        after.assign(text_of({buf.data(), d->size}));
        auto pending = weft::spawn(recv_into(s, buf));
        co_await weft::sleep_for(20ms);
        s.close();
        close_ec = (co_await pending).error();
    });
    CHECK(timeout_ec == std::errc::timed_out);
    CHECK(deadline_ec == std::errc::timed_out);
    CHECK(after == "later");
    CHECK(close_ec == std::errc::bad_file_descriptor);
}

TEST_CASE("a connected udp socket learns that nobody listens", "[io][udp]") {
    WEFT_IO_TEST_PROLOGUE();
    std::error_code ec;
    run([&]() -> weft::task<> {
        address closed;
        {
            auto tmp = udp_socket::bind("127.0.0.1:0").value();
            closed = tmp.local_address().value();
        }
        auto s = udp_socket::bind("127.0.0.1:0").value();
        REQUIRE(s.connect(closed));
        auto sent = co_await s.send(bytes_of("anyone?"));
        REQUIRE(sent);
        std::array<std::byte, 16> buf{};
        s.set_read_deadline(weft::clock::now() + 2s);
        ec = (co_await s.recv(buf)).error();
    });
    CHECK(ec == std::errc::connection_refused);
}

TEST_CASE("stress: many concurrent udp clients against one echo socket", "[io][udp][.][stress]") {
    WEFT_IO_TEST_PROLOGUE();
    const int iters = weft::testing::stress_iters(2000);
    std::atomic<int> good{0};
    run(
        [&]() -> weft::task<> {
            auto server = udp_socket::bind("127.0.0.1:0").value();
            auto to = server.local_address().value();
            weft::scope echoes;
            for (int i = 0; i < 2; ++i) {
                echoes.spawn(udp_echo(server)); // two receivers on one socket
            }
            weft::scope clients;
            for (int c = 0; c < 16; ++c) {
                clients.spawn([](address dst, int n, int id, std::atomic<int>& ok) -> weft::task<> {
                    auto s = udp_socket::bind("127.0.0.1:0").value();
                    std::array<std::byte, 256> out;
                    std::array<std::byte, 256> in;
                    for (int i = 0; i < n; ++i) {
                        auto seed = static_cast<std::uint64_t>(id * 1000003 + i);
                        fill_pattern(out, seed, 0);
                        if (!co_await s.send_to(out, dst)) {
                            continue;
                        }
                        auto d = co_await weft::with_timeout(1s, recv_into(s, in));
                        if (d && d->size == out.size() && check_pattern(in, seed, 0)) {
                            ++ok;
                        }
                    }
                }(to, iters / 16, c, good));
            }
            co_await clients.join();
            echoes.cancel();
            co_await echoes.join();
        },
        weft::testing::test_workers(4));
    // UDP may drop under load; loopback rarely does. Most must arrive.
    CHECK(good >= (iters / 16) * 16 * 9 / 10);
}

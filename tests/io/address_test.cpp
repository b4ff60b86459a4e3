// weft::io::address: parsing and printing. Pure value code; runs the same on both backends.

#include "io_test_support.hpp"

#include <sstream>

using weft::io::address;

TEST_CASE("numeric host:port strings parse and print back", "[io][address]") {
    WEFT_IO_TEST_PROLOGUE();
    auto a = address::parse("127.0.0.1:8080");
    REQUIRE(a);
    CHECK(a->is_ipv4());
    CHECK(a->port() == 8080);
    CHECK(a->is_loopback());
    CHECK(a->to_string() == "127.0.0.1:8080");

    auto b = address::parse("[::1]:443");
    REQUIRE(b);
    CHECK(b->is_ipv6());
    CHECK(b->port() == 443);
    CHECK(b->is_loopback());
    CHECK(b->to_string() == "[::1]:443");

    auto any = address::parse(":9000");
    REQUIRE(any);
    CHECK(any->to_string() == "0.0.0.0:9000");
    CHECK(address::parse("*:1").value().to_string() == "0.0.0.0:1");
    CHECK(address::parse("localhost:0").value() == address::ipv4_loopback(0));
    CHECK(address::parse("[fe80::1%2]:80").value().to_string() == "[fe80::1%2]:80");
}

TEST_CASE("malformed addresses are invalid_argument", "[io][address]") {
    WEFT_IO_TEST_PROLOGUE();
    for (const char* bad :
         {"",
          "127.0.0.1",
          "127.0.0.1:",
          "127.0.0.1:65536",
          "::1:80",
          "[::1]80",
          "example.com:80",
          "1.2.3.4:-1",
          "[::1]:x"}) {
        INFO(bad);
        auto r = address::parse(bad);
        REQUIRE(!r);
        CHECK(r.error() == std::errc::invalid_argument);
    }
}

TEST_CASE("addresses compare, change port and stream out", "[io][address]") {
    WEFT_IO_TEST_PROLOGUE();
    address a = address::ipv4({10, 1, 2, 3}, 1);
    address b = address::parse("10.1.2.3:2").value();
    CHECK(!(a == b));
    a.set_port(2);
    CHECK(a == b);
    CHECK(a.host() == "10.1.2.3");
    CHECK(!a.is_loopback());
    std::ostringstream os;
    os << b;
    CHECK(os.str() == "10.1.2.3:2");
    CHECK(address{}.empty());
    CHECK(address{}.to_string().empty());
    CHECK(address::ipv6_any(5).to_string() == "[::]:5");
    CHECK(address::ipv6_loopback(5).is_loopback());
}

TEST_CASE("unix paths, including the abstract namespace", "[io][address]") {
    WEFT_IO_TEST_PROLOGUE();
    auto p = address::unix_path("/tmp/x.sock");
    REQUIRE(p);
    CHECK(p->is_unix());
    CHECK(p->to_string() == "/tmp/x.sock");
    auto abs = address::unix_path("@weft-test");
    REQUIRE(abs);
    CHECK(abs->to_string() == "@weft-test");
    CHECK(address::unix_path(std::string(200, 'x')).error() == std::errc::filename_too_long);
    CHECK(address::unix_path("").error() == std::errc::invalid_argument);
}

TEST_CASE("a name with an embedded NUL is invalid_argument, not cut short", "[io][address]") {
    WEFT_IO_TEST_PROLOGUE();
    using namespace std::string_view_literals;
    // C string calls (inet_pton, the kernel's sun_path) would read these only up to the NUL.
    for (std::string_view bad :
         {"127.0.0.1\0.evil.example:80"sv,
          "10.0.0.1:80\0"sv,
          "10.0.0.1:8\0"
          "0"sv,
          "[::1\0]:80"sv,
          "[::1]\0:80"sv}) {
        INFO(std::string(bad));
        auto r = address::parse(bad);
        REQUIRE(!r);
        CHECK(r.error() == std::errc::invalid_argument);
    }
    auto h = address::parse("10.0.0.1\0.evil.example"sv, 80);
    REQUIRE(!h);
    CHECK(h.error() == std::errc::invalid_argument);
    auto u = address::unix_path("/tmp/weft-nul\0.trusted.sock"sv);
    REQUIRE(!u);
    CHECK(u.error() == std::errc::invalid_argument);
    // The abstract namespace is bytes, NULs included, and the address length says where the name
    // ends: nothing is cut off, so such a name is kept whole.
    auto abs = address::unix_path("@weft\0abstract"sv);
    REQUIRE(abs);
    CHECK(abs->to_string() == "@weft\0abstract"sv);
}

TEST_CASE("socket binds and connects refuse a host:port with an embedded NUL", "[io][address]") {
    WEFT_IO_TEST_PROLOGUE();
    using namespace std::string_view_literals;
    constexpr std::string_view bad = "127.0.0.1\0.evil.example:0"sv;
    std::error_code tcp_bind;
    std::error_code udp_bind;
    std::error_code udp_connect;
    weft::io::testing::run([&]() -> weft::task<> {
        auto t = weft::io::tcp_listener::bind(bad);
        tcp_bind = t ? std::error_code{} : t.error();
        auto u = weft::io::udp_socket::bind(bad);
        udp_bind = u ? std::error_code{} : u.error();
        auto s = weft::io::udp_socket::bind("127.0.0.1:0").value();
        auto c = s.connect("127.0.0.1\0.evil.example:9"sv);
        udp_connect = c ? std::error_code{} : c.error();
        co_return;
    });
    CHECK(tcp_bind == std::errc::invalid_argument);
    CHECK(udp_bind == std::errc::invalid_argument);
    CHECK(udp_connect == std::errc::invalid_argument);
}

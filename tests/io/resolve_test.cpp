// weft::io::resolve. Only names that never leave the machine: numeric hosts and "localhost"
// (answered without DNS).

#include "io_test_support.hpp"

using weft::io::address;

TEST_CASE("numeric hosts and localhost resolve without the blocking pool", "[io][resolve]") {
    WEFT_IO_TEST_PROLOGUE();
    std::vector<address> v4;
    std::vector<address> v6;
    std::vector<address> local;
    std::vector<address> joined;
    weft::io::testing::run([&]() -> weft::task<> {
        v4 = (co_await weft::io::resolve("127.0.0.1", 80)).value();
        v6 = (co_await weft::io::resolve("::1", 81)).value();
        local = (co_await weft::io::resolve("localhost", 82)).value();
        joined = (co_await weft::io::resolve("[::1]:83")).value();
    });
    REQUIRE(v4.size() == 1);
    CHECK(v4[0].to_string() == "127.0.0.1:80");
    REQUIRE(v6.size() == 1);
    CHECK(v6[0].to_string() == "[::1]:81");
    REQUIRE(local.size() == 1);
    CHECK(local[0].is_loopback());
    CHECK(local[0].port() == 82);
    REQUIRE(joined.size() == 1);
    CHECK(joined[0].to_string() == "[::1]:83");
}

TEST_CASE("malformed host:port strings fail with invalid_argument", "[io][resolve]") {
    WEFT_IO_TEST_PROLOGUE();
    std::error_code no_port;
    std::error_code bad_port;
    std::error_code bad_brackets;
    weft::io::testing::run([&]() -> weft::task<> {
        no_port = (co_await weft::io::resolve("localhost")).error();
        bad_port = (co_await weft::io::resolve("localhost:99999")).error();
        bad_brackets = (co_await weft::io::resolve("[::1:80")).error();
    });
    CHECK(no_port == std::errc::invalid_argument);
    CHECK(bad_port == std::errc::invalid_argument);
    CHECK(bad_brackets == std::errc::invalid_argument);
}

TEST_CASE("io error codes have names", "[io][resolve]") {
    WEFT_IO_TEST_PROLOGUE();
    std::error_code ec = weft::io::errc::host_not_found;
    CHECK(std::string(ec.category().name()) == "weft.io");
    CHECK(ec.message() == "host not found");
    CHECK(std::error_code(weft::io::errc::unexpected_eof).message() == "unexpected end of stream");
}

TEST_CASE(
    "a host with an embedded NUL is invalid_argument, not the part before it", "[io][resolve]") {
    WEFT_IO_TEST_PROLOGUE();
    using namespace std::string_literals;
    // getaddrinfo reads a C string: "localhost\0..." would resolve localhost (from /etc/hosts, no
    // DNS), "127.0.0.1\0..." would parse as 127.0.0.1.
    std::vector<std::error_code> errors;
    bool connect_invalid = false;
    weft::io::testing::run([&]() -> weft::task<> {
        for (std::string bad :
             {"localhost\0.trusted.example"s, "127.0.0.1\0.trusted.example"s, "localhost\0"s}) {
            auto r = co_await weft::io::resolve(bad, 80);
            errors.push_back(r ? std::error_code{} : r.error());
            auto j = co_await weft::io::resolve(bad + ":80");
            errors.push_back(j ? std::error_code{} : j.error());
        }
        auto c = co_await weft::io::tcp_stream::connect("localhost\0.trusted.example:1"s);
        connect_invalid = !c && c.error() == std::errc::invalid_argument;
    });
    REQUIRE(errors.size() == 6);
    for (const std::error_code& e : errors) {
        CHECK(e == std::errc::invalid_argument);
    }
    CHECK(connect_invalid);
}

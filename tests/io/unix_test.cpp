// weft::io::unix_listener and unix_stream on both backends.

#include "io_test_support.hpp"

#include <array>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

using namespace std::chrono_literals;
using weft::io::unix_listener;
using weft::io::unix_stream;
using namespace weft::io::testing;

namespace {

/// A fresh directory for socket files, removed with its contents at the end of the test.
struct temp_dir {
    std::string path;
    temp_dir() {
        char tmpl[] = "/tmp/weft-io-test-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    ~temp_dir() {
        std::string cmd = "rm -rf '" + path + "'";
        int r = std::system(cmd.c_str());
        (void)r;
    }
    std::string file(const char* name) const { return path + "/" + name; }
};

bool exists(const std::string& p) {
    struct stat sb {};
    return ::stat(p.c_str(), &sb) == 0;
}

weft::task<> echo_once(unix_listener& l) {
    auto c = co_await l.accept();
    if (!c) {
        co_return;
    }
    std::array<std::byte, 256> buf;
    for (;;) {
        auto n = co_await c->read(buf);
        if (!n || *n == 0) {
            co_return;
        }
        if (!co_await c->write_all({buf.data(), *n})) {
            co_return;
        }
    }
}

} // namespace

TEST_CASE("a unix socket pair carries bytes both ways", "[io][unix]") {
    WEFT_IO_TEST_PROLOGUE();
    std::string at_a;
    std::string at_b;
    run([&]() -> weft::task<> {
        auto [a, b] = unix_stream::pair().value();
        auto w1 = co_await a.write_all(std::string_view("ping"));
        REQUIRE(w1);
        std::array<char, 4> buf{};
        auto r1 = co_await b.read_exact(buf);
        REQUIRE(r1);
        at_b.assign(buf.data(), 4);
        auto w2 = co_await b.write_all(std::string_view("pong"));
        REQUIRE(w2);
        auto r2 = co_await a.read_exact(buf);
        REQUIRE(r2);
        at_a.assign(buf.data(), 4);
    });
    CHECK(at_b == "ping");
    CHECK(at_a == "pong");
}

TEST_CASE("a unix listener accepts, and closing it removes its socket file", "[io][unix]") {
    WEFT_IO_TEST_PROLOGUE();
    temp_dir dir;
    const std::string path = dir.file("s.sock");
    std::string echoed;
    bool existed = false;
    run([&]() -> weft::task<> {
        auto l = unix_listener::bind(path).value();
        existed = exists(path);
        CHECK(l.local_address().value().to_string() == path);
        auto server = weft::spawn(echo_once(l));
        auto c = co_await unix_stream::connect(path);
        REQUIRE(c);
        auto w = co_await c->write_all(std::string_view("over unix"));
        REQUIRE(w);
        std::array<char, 9> buf{};
        auto r = co_await c->read_exact(buf);
        REQUIRE(r);
        echoed.assign(buf.data(), buf.size());
        c->close();
        co_await server;
        l.close();
    });
    CHECK(existed);
    CHECK(echoed == "over unix");
    CHECK(!exists(path));
}

TEST_CASE("abstract unix sockets leave nothing on disk", "[io][unix]") {
    WEFT_IO_TEST_PROLOGUE();
    const std::string name = "@weft-io-test-" + std::to_string(::getpid());
    std::string echoed;
    run([&]() -> weft::task<> {
        auto l = unix_listener::bind(name).value();
        auto server = weft::spawn(echo_once(l));
        auto c = co_await unix_stream::connect(name);
        REQUIRE(c);
        auto w = co_await c->write_all(std::string_view("abstract"));
        REQUIRE(w);
        std::array<char, 8> buf{};
        auto r = co_await c->read_exact(buf);
        REQUIRE(r);
        echoed.assign(buf.data(), buf.size());
        c->close();
        co_await server;
    });
    CHECK(echoed == "abstract");
}

TEST_CASE("unix connect and bind report missing, stale and busy paths", "[io][unix]") {
    WEFT_IO_TEST_PROLOGUE();
    temp_dir dir;
    std::error_code missing;
    std::error_code refused;
    std::error_code in_use;
    run([&]() -> weft::task<> {
        missing = (co_await unix_stream::connect(dir.file("nobody.sock"))).error();
        {
            auto l = unix_listener::bind(dir.file("busy.sock")).value();
            in_use = unix_listener::bind(dir.file("busy.sock")).error();
        }
        // A socket file nobody listens on: bind a plain socket and let it go without unlinking.
        auto stale = dir.file("stale.sock");
        int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        auto a = weft::io::address::unix_path(stale).value();
        REQUIRE(::bind(fd, a.data(), a.size()) == 0);
        ::close(fd);
        refused = (co_await unix_stream::connect(stale)).error();
    });
    CHECK(missing == std::errc::no_such_file_or_directory);
    CHECK(in_use == std::errc::address_in_use);
    CHECK(refused == std::errc::connection_refused);
}

TEST_CASE("unix paths with an embedded NUL are refused, not cut short", "[io][unix]") {
    WEFT_IO_TEST_PROLOGUE();
    temp_dir dir;
    const std::string real = dir.file("s.sock");
    const std::string with_nul = real + std::string("\0.trusted.sock", 14);
    std::error_code bind_ec;
    bool bind_made_file = false;
    std::error_code connect_ec;
    run([&]() -> weft::task<> {
        auto b = unix_listener::bind(with_nul);
        bind_ec = b ? std::error_code{} : b.error();
        bind_made_file = exists(real);
        if (b) {
            b->close();
        }
        // Somebody listens at the prefix: a connect cut at the NUL would reach them.
        auto l = unix_listener::bind(real).value();
        auto c = co_await unix_stream::connect(with_nul);
        connect_ec = c ? std::error_code{} : c.error();
        l.close();
    });
    CHECK(bind_ec == std::errc::invalid_argument);
    CHECK(!bind_made_file);
    CHECK(connect_ec == std::errc::invalid_argument);
}

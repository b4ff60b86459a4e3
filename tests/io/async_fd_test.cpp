// weft::io::async_fd and weft::io::pipe() on both backends: readiness waits on descriptors the
// program owns or borrows, pipes as streams, deadlines, cancellation, close and release().

#include "io_test_support.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

using namespace std::chrono_literals;
using weft::io::async_fd;
using weft::io::interest;
using namespace weft::io::testing;

namespace {

bool fd_open(int fd) {
    return ::fcntl(fd, F_GETFD) >= 0;
}

/// Fills a non-blocking pipe or socket until a write would block; returns the bytes written.
std::size_t fill(int fd) {
    std::array<char, 65536> junk{};
    std::size_t total = 0;
    for (;;) {
        ssize_t n = ::write(fd, junk.data(), junk.size());
        if (n <= 0) {
            REQUIRE((errno == EAGAIN || errno == EWOULDBLOCK));
            return total;
        }
        total += static_cast<std::size_t>(n);
    }
}

weft::task<weft::result<weft::io::readiness>> wait_for(async_fd& f, interest what) {
    co_return co_await f.ready(what);
}

} // namespace

TEST_CASE("a pipe carries bytes in order and ends with end of file", "[io][async_fd]") {
    WEFT_IO_TEST_PROLOGUE();
    constexpr std::size_t total = 4 << 20; // far beyond the pipe's 64 KiB: both sides wait
    std::size_t got = 0;
    bool in_order = true;
    bool eof = false;
    bool write_ok = false;
    run([&]() -> weft::task<> {
        auto p = weft::io::pipe();
        REQUIRE(p);
        auto writer = weft::spawn([](async_fd w) -> weft::task<bool> {
            std::vector<std::byte> chunk(100'000);
            for (std::size_t at = 0; at < total; at += chunk.size()) {
                const std::size_t n = std::min(chunk.size(), total - at);
                fill_pattern({chunk.data(), n}, 5, at);
                if (!co_await w.write_all(std::span<const std::byte>(chunk.data(), n))) {
                    co_return false;
                }
            }
            w.close(); // the reader sees end of file (the frame, and w in it, lives until joined)
            co_return true;
        }(std::move(p->write)));
        std::vector<std::byte> buf(7919);
        for (;;) {
            auto n = co_await p->read.read(buf);
            REQUIRE(n);
            if (*n == 0) {
                eof = true;
                break;
            }
            in_order = in_order && check_pattern({buf.data(), *n}, 5, got);
            got += *n;
        }
        write_ok = co_await writer;
    });
    CHECK(write_ok);
    CHECK(got == total);
    CHECK(in_order);
    CHECK(eof);
}

TEST_CASE("writing to a pipe whose reader is gone fails with broken_pipe", "[io][async_fd]") {
    WEFT_IO_TEST_PROLOGUE();
    std::error_code err;
    run([&]() -> weft::task<> {
        auto p = weft::io::pipe();
        REQUIRE(p);
        p->read.close();
        auto r = co_await p->write.write_all("nobody reads this");
        REQUIRE(!r);
        err = r.error();
    });
    CHECK(err == std::errc::broken_pipe); // and the process is alive: no SIGPIPE
}

TEST_CASE("read_exact on a pipe reports a short input as unexpected_eof", "[io][async_fd]") {
    WEFT_IO_TEST_PROLOGUE();
    std::error_code err;
    run([&]() -> weft::task<> {
        auto p = weft::io::pipe();
        REQUIRE(p);
        auto ok1 = co_await p->write.write_all("abc");
        REQUIRE(ok1);
        p->write.close();
        std::array<char, 8> buf{};
        auto r = co_await p->read.read_exact(buf);
        REQUIRE(!r);
        err = r.error();
    });
    CHECK(err == weft::io::errc::unexpected_eof);
}

TEST_CASE("readable() waits for an eventfd that a plain thread signals", "[io][async_fd]") {
    WEFT_IO_TEST_PROLOGUE();
    bool readable = false;
    std::uint64_t value = 0;
    run([&]() -> weft::task<> {
        auto efd = async_fd::adopt(::eventfd(0, 0));
        REQUIRE(efd);
        const int raw = efd->native_handle();
        std::thread t([raw] {
            std::uint64_t one = 3;
            ssize_t n = ::write(raw, &one, sizeof one);
            (void)n;
        });
        auto r = co_await efd->readable();
        t.join();
        REQUIRE(r);
        readable = r->readable;
        std::array<char, 8> buf{};
        auto n = co_await efd->read(buf);
        REQUIRE(n);
        REQUIRE(*n == 8);
        std::memcpy(&value, buf.data(), 8);
    });
    CHECK(readable);
    CHECK(value == 3);
}

TEST_CASE("readable() on a timerfd completes when the timer expires", "[io][async_fd]") {
    WEFT_IO_TEST_PROLOGUE();
    std::uint64_t expirations = 0;
    run([&]() -> weft::task<> {
        auto tfd = async_fd::adopt(::timerfd_create(CLOCK_MONOTONIC, 0));
        REQUIRE(tfd);
        itimerspec its{};
        its.it_value.tv_nsec = 20'000'000; // 20 ms
        REQUIRE(::timerfd_settime(tfd->native_handle(), 0, &its, nullptr) == 0);
        auto r = co_await tfd->readable();
        REQUIRE(r);
        REQUIRE(r->readable);
        std::array<char, 8> buf{};
        auto n = co_await tfd->read(buf);
        REQUIRE(n);
        std::memcpy(&expirations, buf.data(), 8);
    });
    CHECK(expirations == 1);
}

TEST_CASE("writable() waits until a full pipe has room again", "[io][async_fd]") {
    WEFT_IO_TEST_PROLOGUE();
    bool waited_writable = false;
    bool was_full = false;
    run([&]() -> weft::task<> {
        auto p = weft::io::pipe();
        REQUIRE(p);
        fill(p->write.native_handle());
        pollfd pf{p->write.native_handle(), POLLOUT, 0};
        was_full = ::poll(&pf, 1, 0) == 0;
        auto waiter = weft::spawn(wait_for(p->write, interest::writable));
        // Drain from this task: the waiter can only complete once there is room.
        co_await weft::yield_now();
        std::vector<char> buf(1 << 17);
        auto n = co_await p->read.read(buf);
        REQUIRE(n);
        REQUIRE(*n > 0);
        auto r = co_await waiter;
        REQUIRE(r);
        waited_writable = r->writable;
    });
    CHECK(was_full);
    CHECK(waited_writable);
}

TEST_CASE("ready(both) completes on whichever direction comes first", "[io][async_fd]") {
    WEFT_IO_TEST_PROLOGUE();
    weft::io::readiness at_once;
    weft::io::readiness later;
    run([&]() -> weft::task<> {
        int sv[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
        auto a = async_fd::adopt(sv[0]);
        auto b = async_fd::adopt(sv[1]);
        REQUIRE(a);
        REQUIRE(b);
        // An empty socket with room to send: writable at once, not readable.
        auto r1 = co_await a->ready(interest::both);
        REQUIRE(r1);
        at_once = *r1;
        // Full and empty: neither, until the peer sends a byte (a read-side edge), while the
        // peer never reads (no write-side edge).
        fill(a->native_handle());
        auto waiter = weft::spawn(wait_for(*a, interest::both));
        co_await weft::yield_now();
        auto ok2 = co_await b->write_all("x");
        REQUIRE(ok2);
        auto r2 = co_await waiter;
        REQUIRE(r2);
        later = *r2;
    });
    CHECK(at_once.writable);
    CHECK_FALSE(at_once.readable);
    CHECK(later.readable);
    CHECK_FALSE(later.writable);
}

TEST_CASE("a write edge ends a wait for both directions", "[io][async_fd]") {
    WEFT_IO_TEST_PROLOGUE();
    // The reverse of the case above: the waiter's socket becomes writable (the peer drains it)
    // and never readable. Under epoll the wait sits on the read side, so only the write edge
    // passed on to that side can end it.
    weft::io::readiness got;
    run([&]() -> weft::task<> {
        int sv[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
        auto a = async_fd::adopt(sv[0]);
        auto b = async_fd::adopt(sv[1]);
        REQUIRE(a);
        REQUIRE(b);
        const std::size_t sent = fill(a->native_handle());
        auto waiter = weft::spawn(wait_for(*a, interest::both));
        co_await weft::yield_now();
        std::vector<char> buf(1 << 16);
        std::size_t drained = 0;
        while (drained < sent) {
            auto n = co_await b->read(buf);
            REQUIRE(n);
            REQUIRE(*n > 0);
            drained += *n;
        }
        auto r = co_await waiter;
        REQUIRE(r);
        got = *r;
    });
    CHECK(got.writable);
    CHECK_FALSE(got.readable);
}

TEST_CASE("a readiness wait honours deadlines and with_timeout", "[io][async_fd]") {
    WEFT_IO_TEST_PROLOGUE();
    std::error_code by_deadline;
    std::error_code by_timeout;
    bool still_usable = false;
    run([&]() -> weft::task<> {
        auto p = weft::io::pipe();
        REQUIRE(p);
        p->read.set_read_deadline(weft::clock::now() + 30ms);
        auto r1 = co_await p->read.readable();
        REQUIRE(!r1);
        by_deadline = r1.error();
        p->read.set_read_deadline({});
        auto r2 = co_await weft::with_timeout(30ms, wait_for(p->read, interest::readable));
        REQUIRE(!r2);
        by_timeout = r2.error();
        // The wait was taken back cleanly: the descriptor still works.
        auto ok3 = co_await p->write.write_all("y");
        REQUIRE(ok3);
        auto r3 = co_await p->read.readable();
        still_usable = r3 && r3->readable;
    });
    CHECK(by_deadline == std::errc::timed_out);
    CHECK(by_timeout == std::errc::timed_out);
    CHECK(still_usable);
}

TEST_CASE("closing an async_fd ends the waits on it", "[io][async_fd]") {
    WEFT_IO_TEST_PROLOGUE();
    std::error_code err;
    run([&]() -> weft::task<> {
        auto p = weft::io::pipe();
        REQUIRE(p);
        auto waiter = weft::spawn(wait_for(p->read, interest::readable));
        co_await weft::yield_now();
        p->read.close();
        auto r = co_await waiter;
        REQUIRE(!r);
        err = r.error();
    });
    CHECK(err == std::errc::bad_file_descriptor);
}

TEST_CASE("a borrowed descriptor is never closed by weft, an adopted one is", "[io][async_fd]") {
    WEFT_IO_TEST_PROLOGUE();
    int borrowed_fd = ::eventfd(0, EFD_CLOEXEC);
    int adopted_fd = ::eventfd(0, EFD_CLOEXEC);
    REQUIRE(borrowed_fd >= 0);
    REQUIRE(adopted_fd >= 0);
    bool woke = false;
    run([&]() -> weft::task<> {
        auto b = async_fd::borrow(borrowed_fd);
        REQUIRE(b);
        std::uint64_t one = 1;
        REQUIRE(::write(borrowed_fd, &one, sizeof one) == 8);
        auto r = co_await b->readable();
        woke = r && r->readable;
        b->close();
        auto a = async_fd::adopt(adopted_fd);
        REQUIRE(a);
    }); // both objects are gone here
    CHECK(woke);
    CHECK(fd_open(borrowed_fd));
    CHECK_FALSE(fd_open(adopted_fd));
    ::close(borrowed_fd);
}

TEST_CASE("adopt and borrow refuse a descriptor that is not open", "[io][async_fd]") {
    WEFT_IO_TEST_PROLOGUE();
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    ::close(fds[0]);
    ::close(fds[1]);
    CHECK(async_fd::adopt(-1).error() == std::errc::bad_file_descriptor);
    CHECK(async_fd::borrow(-1).error() == std::errc::bad_file_descriptor);
    CHECK(async_fd::adopt(fds[0]).error() == std::errc::bad_file_descriptor);
    CHECK(async_fd::borrow(fds[1]).error() == std::errc::bad_file_descriptor);
}

TEST_CASE(
    "release() hands the descriptor over open, and refuses while an op is in flight",
    "[io][async_fd]") {
    WEFT_IO_TEST_PROLOGUE();
    std::error_code busy;
    int released = -1;
    bool object_closed = false;
    std::string through_new_owner;
    run([&]() -> weft::task<> {
        auto p = weft::io::pipe();
        REQUIRE(p);
        auto waiter = weft::spawn(wait_for(p->read, interest::readable));
        co_await weft::yield_now();
        auto refused = p->read.release();
        REQUIRE(!refused);
        busy = refused.error();
        auto ok4 = co_await p->write.write_all("hi");
        REQUIRE(ok4);
        auto w = co_await waiter;
        REQUIRE(w);
        auto fd = p->read.release();
        REQUIRE(fd);
        released = *fd;
        object_closed = !p->read.is_open() && p->read.native_handle() == -1;
        // The number still reads the same pipe, under a new owner.
        auto again = async_fd::adopt(*fd);
        REQUIRE(again);
        std::array<char, 2> buf{};
        auto ok5 = co_await again->read_exact(buf);
        REQUIRE(ok5);
        through_new_owner.assign(buf.data(), buf.size());
    });
    CHECK(busy == std::errc::device_or_resource_busy);
    CHECK(released >= 0);
    CHECK(object_closed);
    CHECK(through_new_owner == "hi");
}

TEST_CASE("a tcp_stream gives its descriptor up and another stream adopts it", "[io][async_fd]") {
    WEFT_IO_TEST_PROLOGUE();
    std::string echoed;
    bool raw_open = false;
    run([&]() -> weft::task<> {
        auto [l, a] = loopback_listener();
        auto accepting = weft::spawn(l.accept());
        auto c = co_await weft::io::tcp_stream::connect(a, 5s);
        REQUIRE(c);
        auto s = co_await accepting;
        REQUIRE(s);
        auto fd = c->release();
        REQUIRE(fd);
        raw_open = fd_open(*fd) && !c->is_open();
        auto c2 = weft::io::tcp_stream::from_fd(*fd);
        REQUIRE(c2);
        auto ok6 = co_await c2->write_all("ping");
        REQUIRE(ok6);
        std::array<char, 4> buf{};
        auto ok7 = co_await s->read_exact(buf);
        REQUIRE(ok7);
        echoed.assign(buf.data(), buf.size());
    });
    CHECK(raw_open);
    CHECK(echoed == "ping");
}

TEST_CASE("many tasks ping-pong through pipes on every worker", "[io][async_fd][stress]") {
    WEFT_IO_TEST_PROLOGUE();
    // Pairs of tasks bounce a counter through two pipes; every exchange waits on readiness, so
    // wake-ups cross workers constantly.
    constexpr int pairs = 16;
    constexpr int rounds = 500;
    int finished = 0;
    run([&]() -> weft::task<> {
        std::vector<weft::join_handle<bool>> hs;
        for (int i = 0; i < pairs; ++i) {
            auto there = weft::io::pipe();
            auto back = weft::io::pipe();
            REQUIRE(there);
            REQUIRE(back);
            hs.push_back(weft::spawn([](async_fd in, async_fd out) -> weft::task<bool> {
                for (int k = 0; k < rounds; ++k) {
                    std::array<char, 4> b{};
                    if (!co_await in.read_exact(b) || !co_await out.write_all({b.data(), 4})) {
                        co_return false;
                    }
                }
                co_return true;
            }(std::move(there->read), std::move(back->write))));
            hs.push_back(weft::spawn([](async_fd out, async_fd in) -> weft::task<bool> {
                for (int k = 0; k < rounds; ++k) {
                    std::uint32_t v = static_cast<std::uint32_t>(k);
                    if (!co_await out.write_all({reinterpret_cast<const char*>(&v), sizeof v})) {
                        co_return false;
                    }
                    std::array<char, 4> b{};
                    if (!co_await in.read_exact(b)) {
                        co_return false;
                    }
                    std::uint32_t w = 0;
                    std::memcpy(&w, b.data(), 4);
                    if (w != v) {
                        co_return false;
                    }
                }
                co_return true;
            }(std::move(there->write), std::move(back->read))));
        }
        for (auto& h : hs) {
            if (co_await h) {
                ++finished;
            }
        }
    });
    CHECK(finished == 2 * pairs);
}

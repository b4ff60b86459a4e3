// weft::io ops still waiting when their runtime shuts down, on both backends: a deadline that has
// not passed must not turn the shutdown into timed_out.

#include <weft/sync/channel.hpp>

#include "../sync/sync_test.hpp" // run_in_child
#include "io_test_support.hpp"

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>
#include <weft_test.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace std::chrono_literals;
using weft::io::address;
using weft::io::tcp_listener;
using weft::io::tcp_stream;
using weft::io::udp_socket;
using weft::io::unix_stream;
using namespace weft::io::testing;

namespace {

/// What the abandoned tasks saw. Outlives the runtime.
struct outcomes {
    static constexpr int kinds = 7;
    std::atomic<int> started{0};
    std::array<std::error_code, kinds> got{};
    std::array<std::atomic<bool>, kinds> ended{};
    void end(int k, std::error_code e) {
        got[static_cast<std::size_t>(k)] = e;
        ended[static_cast<std::size_t>(k)].store(true);
    }
};

constexpr const char* kind_names[outcomes::kinds] = {
    "tcp read, read deadline",
    "unix read_exact, deadline",
    "unix write_all into a full buffer, write deadline",
    "udp recv_from, read deadline",
    "tcp connect to a full backlog, connect timeout",
    "tcp accept under with_timeout",
    "tcp read under with_timeout",
};

std::error_code error_of(const auto& r) {
    return r ? std::error_code{} : r.error();
}

weft::task<> tcp_reader(tcp_stream c, tcp_stream keep, outcomes& out) {
    c.set_read_deadline(weft::clock::now() + 1h);
    std::array<std::byte, 64> buf{};
    ++out.started;
    auto r = co_await c.read(buf);
    out.end(0, error_of(r));
    (void)keep; // the peer: open until the task ends, so the read sees no end of stream
}

weft::task<> unix_reader(unix_stream c, unix_stream keep, outcomes& out) {
    c.set_deadline(weft::clock::now() + 1h);
    std::array<std::byte, 64> buf{};
    ++out.started;
    auto r = co_await c.read_exact(buf);
    out.end(1, error_of(r));
    (void)keep;
}

weft::task<> unix_writer(unix_stream c, unix_stream keep, outcomes& out) {
    c.set_write_deadline(weft::clock::now() + 1h);
    std::vector<std::byte> big(64u << 20); // far more than a socket buffer: it blocks
    ++out.started;
    auto r = co_await c.write_all(big);
    out.end(2, error_of(r));
    (void)keep;
}

weft::task<> udp_receiver(udp_socket s, outcomes& out) {
    s.set_read_deadline(weft::clock::now() + 1h);
    std::array<std::byte, 64> buf{};
    ++out.started;
    auto r = co_await s.recv_from(buf);
    out.end(3, error_of(r));
}

weft::task<> connector(tcp_listener busy, std::vector<int> fillers, outcomes& out) {
    const address to = busy.local_address().value();
    ++out.started;
    auto c = co_await tcp_stream::connect(to, 1h);
    if (c) {
        // The backlog had room after all: wait on the connection instead, still deadlined.
        c->set_read_deadline(weft::clock::now() + 1h);
        std::array<std::byte, 8> buf{};
        auto r = co_await c->read(buf);
        out.end(4, error_of(r));
    } else {
        out.end(4, c.error());
    }
    for (int fd : fillers) {
        ::close(fd);
    }
}

weft::task<> timed_acceptor(tcp_listener l, outcomes& out) {
    ++out.started;
    auto r = co_await weft::with_timeout(1h, l.accept());
    out.end(5, error_of(r));
}

weft::task<> timed_reader(tcp_stream c, tcp_stream keep, outcomes& out) {
    ++out.started;
    auto r = co_await weft::with_timeout(1h, [](tcp_stream& s) -> weft::task<weft::result<void>> {
        std::array<std::byte, 8> buf{};
        auto n = co_await s.read(buf);
        if (!n) {
            co_return n.error();
        }
        co_return weft::result<void>{};
    }(c));
    out.end(6, error_of(r));
    (void)keep;
}

/// Fills the accept queue of `l` (backlog 0, nobody accepts), so that a further connect waits for
/// its SYN to be answered. Returns the filler sockets (closed by the connector).
std::vector<int> full_backlog(const tcp_listener& l) {
    address a = l.local_address().value();
    std::vector<int> fillers;
    for (int i = 0; i < 4; ++i) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        REQUIRE(fd >= 0);
        (void)::connect(fd, a.data(), a.size());
        fillers.push_back(fd);
    }
    return fillers;
}

/// One runtime whose tasks block with far deadlines: the io deadlines of kinds 0-4, or (with
/// `timeouts`) the with_timeout waits of kinds 5-6. The runtime shuts down with them blocked.
void abandon_round(bool timeouts, outcomes& out) {
    weft::runtime_options o;
    o.workers = weft::testing::test_workers(2);
    weft::runtime rt(o);
    rt.block_on([](outcomes& res, bool tmo) -> weft::task<> {
        auto [l, la] = loopback_listener();
        auto c1 = co_await tcp_stream::connect(la);
        auto s1 = co_await l.accept();
        REQUIRE(c1);
        REQUIRE(s1);
        int want = 0;
        if (tmo) {
            weft::go(timed_reader(std::move(*s1), std::move(*c1), res));
            weft::go(timed_acceptor(std::move(l), res));
            want = 2;
        } else {
            weft::go(tcp_reader(std::move(*s1), std::move(*c1), res));
            auto [ua, ub] = unix_stream::pair().value();
            weft::go(unix_reader(std::move(ua), std::move(ub), res));
            auto [wa, wb] = unix_stream::pair().value();
            weft::go(unix_writer(std::move(wa), std::move(wb), res));
            weft::go(udp_receiver(udp_socket::bind("127.0.0.1:0").value(), res));
            auto busy = tcp_listener::bind("127.0.0.1:0", {.backlog = 0}).value();
            auto fillers = full_backlog(busy);
            weft::go(connector(std::move(busy), std::move(fillers), res));
            want = 5;
        }
        co_await weft::testing::yield_until([&] { return res.started.load() == want; });
        // Let the tasks reach their ops; they are abandoned from here on.
        for (int i = 0; i < 100; ++i) {
            co_await weft::yield_now();
        }
    }(out, timeouts));
    // rt's destructor shuts down with those tasks blocked, their deadlines an hour away.
}

void check_round(int round, int first, int last, const outcomes& out) {
    for (int k = first; k <= last; ++k) {
        const auto i = static_cast<std::size_t>(k);
        INFO("round " << round << ": " << kind_names[k] << ": " << out.got[i].message());
        CHECK(out.ended[i].load());
        CHECK(out.got[i] == std::errc::operation_canceled);
    }
}

} // namespace

TEST_CASE(
    "runtime shutdown ends io ops with a far deadline as operation_canceled, not timed_out",
    "[io][shutdown]") {
    WEFT_IO_TEST_PROLOGUE();
    for (int round = 0; round < 5; ++round) {
        outcomes out;
        abandon_round(false, out);
        check_round(round, 0, 4, out);
    }
}

// with_timeout's own deadline timer is fired early by the shutdown too: a cancellation, not a
// timeout (runtime/src/structured.cpp, deadline_timer::on_fire).
TEST_CASE(
    "runtime shutdown ends io ops under a far with_timeout as operation_canceled",
    "[io][shutdown][with_timeout]") {
    WEFT_IO_TEST_PROLOGUE();
    for (int round = 0; round < 5; ++round) {
        outcomes out;
        abandon_round(true, out);
        check_round(round, 5, 6, out);
    }
}

namespace {

weft::task<> blocked_reader(unix_stream c, unix_stream keep) {
    std::array<std::byte, 16> buf{};
    (void)co_await c.read(buf);
    (void)keep;
}

weft::task<> blocked_receiver(weft::sync::channel<int> ch) {
    (void)co_await ch.recv();
}

/// One runtime (its reactors: a ring and an eventfd, or an epoll instance and an eventfd, per
/// worker) left with one task blocked on a socket read (even rounds) or a channel (odd rounds).
void leave_one_blocked(int round) {
    weft::runtime_options o;
    o.workers = weft::testing::test_workers(2);
    weft::runtime rt(o);
    rt.block_on([](int r) -> weft::task<> {
        if (r % 2 == 0) {
            auto [a, b] = unix_stream::pair().value();
            weft::go(blocked_reader(std::move(a), std::move(b)));
        } else {
            weft::go(blocked_receiver(weft::sync::channel<int>()));
        }
        for (int i = 0; i < 20; ++i) {
            co_await weft::yield_now();
        }
    }(round));
}

} // namespace

TEST_CASE(
    "runtimes shut down under a task blocked on a socket or a channel leave no descriptor behind",
    "[io][shutdown]") {
    WEFT_IO_TEST_PROLOGUE();
    // The deadlock detector stays on: the channel rounds end with main returned and one task
    // blocked, which must be a normal return (no false report, no touch of block_on's waiter).
    // In a forked child: the abandoned frames stay allocated, as documented, and the child exits
    // without the leak check.
    auto out = weft::testing::run_in_child([] {
        leave_one_blocked(0); // process-wide first-use state (backend choice, limits)
        leave_one_blocked(1);
        const int before = open_fds();
        constexpr int runtimes = 300;
        for (int i = 0; i < runtimes; ++i) {
            leave_one_blocked(i);
        }
        const int after = open_fds();
        std::fprintf(stderr, "descriptors: %d before, %d after\n", before, after);
        std::_Exit(after == before ? 3 : 4);
    });
    INFO(out.err.substr(out.err.size() > 2000 ? out.err.size() - 2000 : 0));
    CHECK(out.exited);
    CHECK(out.status == 3);
}

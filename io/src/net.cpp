// Sockets: tcp_listener, tcp_stream, udp_socket, unix_listener, unix_stream, and the stream
// members they share. The waiting happens in the reactors; this file creates sockets, sets
// options, and wraps the ops in the public types.

#include <weft/io/error.hpp>
#include <weft/io/resolve.hpp>
#include <weft/io/tcp_listener.hpp>
#include <weft/io/tcp_stream.hpp>
#include <weft/io/udp_socket.hpp>
#include <weft/io/unix_listener.hpp>
#include <weft/io/unix_stream.hpp>
#include <weft/runtime/timer.hpp>

#include "errno_code.hpp"
#include "fd_state.hpp"
#include "io_reactor.hpp"

#include <algorithm>
#include <cerrno>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace weft::io {

namespace detail {

namespace {

std::error_code last_error() noexcept {
    return errno_code(errno);
}

/// A socket descriptor, non-blocking and close-on-exec, or the error.
result<int> new_socket(int family, int type) noexcept {
    int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return last_error();
    }
    return fd;
}

/// Runs `f(fd)` with a use of the descriptor held (so close() cannot recycle the number).
template <class F>
auto with_fd(fd_state* st, F f) noexcept -> decltype(f(0)) {
    int fd = fd_use(st);
    if (fd < 0) {
        return std::errc::bad_file_descriptor;
    }
    auto r = f(fd);
    fd_unuse(st);
    return r;
}

result<void> set_int_option(fd_state* st, int level, int name, int value) noexcept {
    return with_fd(st, [&](int fd) -> result<void> {
        if (::setsockopt(fd, level, name, &value, sizeof value) < 0) {
            return last_error();
        }
        return {};
    });
}

result<address> sock_name(fd_state* st, bool peer) noexcept {
    return with_fd(st, [&](int fd) -> result<address> {
        address a;
        socklen_t len = address::capacity();
        int r = peer ? ::getpeername(fd, a.data(), &len) : ::getsockname(fd, a.data(), &len);
        if (r < 0) {
            return last_error();
        }
        a.resize(len);
        return a;
    });
}

/// The accept op, yielding the raw descriptor (accepted non-blocking and close-on-exec).
class accept_fd_awaiter : public op_awaiter_base {
public:
    explicit accept_fd_awaiter(fd_state* s) noexcept
        : op_awaiter_base(op_code::accept, s, op_side::read) {}
    op_outcome await_resume() noexcept { return op_finish(*this); }
};

class connect_awaiter : public op_awaiter_base {
public:
    connect_awaiter(fd_state* s, const address& a, std::int64_t deadline) noexcept
        : op_awaiter_base(op_code::connect, s, op_side::write) {
        addr = a.data();
        addr_len = a.size();
        deadline_ns = deadline;
    }
    result<void> await_resume() noexcept { return op_finish(*this).error; }
};

bool exhaustion(std::error_code ec) noexcept {
    // Category addresses and the value, not ec == std::errc::...: no member call on the
    // (polymorphic) category, because this runs precisely when the process has no descriptor left,
    // and UBSan's vptr check needs one (a pipe) to validate an object it has not seen yet.
    const std::error_category* cat = &ec.category();
    if (cat != &std::system_category() && cat != &std::generic_category()) {
        return false;
    }
    const int v = ec.value();
    return v == EMFILE || v == ENFILE || v == ENOBUFS || v == ENOMEM;
}

/// accept() with the EMFILE backoff of listen_options::retry_on_resource_exhaustion.
template <class Stream, class Make>
task<result<Stream>> accept_loop(fd_state* st, Make make) {
    auto backoff = std::chrono::milliseconds(5);
    for (;;) {
        op_outcome r = co_await accept_fd_awaiter{st};
        if (!r.error) {
            fd_state* s = fd_adopt_raw(static_cast<int>(r.value), fd_kind::stream);
            if (s == nullptr) {
                co_return std::errc::not_enough_memory;
            }
            co_return make(s);
        }
        if (st == nullptr || !exhaustion(r.error) || !st->retry_exhaustion) {
            co_return r.error;
        }
        // Out of descriptors: the connections already open keep being served by their own
        // tasks; this one waits a little (cancellably) and tries again, as Go's http.Server does.
        if (auto s = co_await weft::sleep_for(backoff); !s) {
            co_return s.error();
        }
        backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
    }
}

/// Connects `st` (a fresh socket) to `a`; deadline < 0: none.
task<result<void>> connect_fd(fd_state* st, address a, std::int64_t deadline) {
    co_return co_await connect_awaiter{st, a, deadline};
}

std::int64_t deadline_after(std::chrono::nanoseconds timeout) noexcept {
    return timeout.count() > 0 ? weft::detail::now_ns() + timeout.count() : -1;
}

result<int> listen_socket(const address& a, const listen_options& o, bool tcp) noexcept {
    auto fd = new_socket(a.family(), SOCK_STREAM);
    if (!fd) {
        return fd.error();
    }
    int one = 1;
    if (tcp && o.reuse_address) {
        ::setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    }
    if (tcp && o.reuse_port) {
        ::setsockopt(*fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    }
    if (a.is_ipv6()) {
        int v6 = o.v6_only ? 1 : 0;
        ::setsockopt(*fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6, sizeof v6);
    }
    if (::bind(*fd, a.data(), a.size()) < 0 || ::listen(*fd, o.backlog) < 0) {
        auto ec = last_error();
        ::close(*fd);
        return ec;
    }
    return *fd;
}

} // namespace

} // namespace detail

// --- stream_socket ---------------------------------------------------------------------------

result<void> stream_socket::shutdown(shutdown_how how) noexcept {
    return detail::with_fd(st_, [&](int fd) -> result<void> {
        if (::shutdown(fd, static_cast<int>(how)) < 0) {
            return detail::last_error();
        }
        return {};
    });
}

result<address> stream_socket::local_address() const noexcept {
    return detail::sock_name(st_, false);
}

result<address> stream_socket::peer_address() const noexcept {
    return detail::sock_name(st_, true);
}

void stream_socket::set_read_deadline(clock::time_point t) noexcept {
    if (st_ != nullptr) {
        detail::fd_set_deadline(st_, detail::op_side::read, detail::to_ns(t));
    }
}

void stream_socket::set_write_deadline(clock::time_point t) noexcept {
    if (st_ != nullptr) {
        detail::fd_set_deadline(st_, detail::op_side::write, detail::to_ns(t));
    }
}

result<void> stream_socket::set_recv_buffer_size(int bytes) noexcept {
    return detail::set_int_option(st_, SOL_SOCKET, SO_RCVBUF, bytes);
}

result<void> stream_socket::set_send_buffer_size(int bytes) noexcept {
    return detail::set_int_option(st_, SOL_SOCKET, SO_SNDBUF, bytes);
}

result<void> stream_socket::set_option(int level, int name, int value) noexcept {
    return detail::set_int_option(st_, level, name, value);
}

result<int> stream_socket::get_option(int level, int name) const noexcept {
    return detail::with_fd(st_, [&](int fd) -> result<int> {
        int v = 0;
        socklen_t len = sizeof v;
        if (::getsockopt(fd, level, name, &v, &len) < 0) {
            return detail::last_error();
        }
        return v;
    });
}

// --- tcp_stream ------------------------------------------------------------------------------

task<result<tcp_stream>> tcp_stream::connect(address addr, std::chrono::nanoseconds timeout) {
    auto fd = detail::new_socket(addr.family(), SOCK_STREAM);
    if (!fd) {
        co_return fd.error();
    }
    detail::fd_state* st = detail::fd_adopt_raw(*fd, detail::fd_kind::stream);
    if (st == nullptr) {
        co_return std::errc::not_enough_memory;
    }
    tcp_stream s(st); // owns the socket from here on: closed on every early return
    if (auto r = co_await detail::connect_fd(st, addr, detail::deadline_after(timeout)); !r) {
        co_return r.error();
    }
    co_return std::move(s);
}

task<result<tcp_stream>>
tcp_stream::connect(std::string host_port, std::chrono::nanoseconds timeout) {
    const std::int64_t deadline = detail::deadline_after(timeout);
    auto addrs = co_await resolve(std::move(host_port));
    if (!addrs) {
        co_return addrs.error();
    }
    if (addrs->empty()) {
        co_return io::errc::host_not_found;
    }
    std::error_code last = std::make_error_code(std::errc::host_unreachable);
    for (const address& a : *addrs) {
        std::chrono::nanoseconds left{0};
        if (deadline >= 0) {
            left = std::chrono::nanoseconds(deadline - weft::detail::now_ns());
            if (left.count() <= 0) {
                co_return std::errc::timed_out;
            }
        }
        auto r = co_await connect(a, left);
        if (r) {
            co_return r;
        }
        last = r.error();
        if (last == std::errc::operation_canceled || last == std::errc::timed_out) {
            co_return last;
        }
    }
    co_return last;
}

result<tcp_stream> tcp_stream::from_fd(int fd) noexcept {
    detail::fd_state* st = detail::fd_adopt(fd, detail::fd_kind::stream);
    if (st == nullptr) {
        return fd < 0 ? std::errc::bad_file_descriptor : std::errc::not_enough_memory;
    }
    return tcp_stream(st);
}

result<void> tcp_stream::set_nodelay(bool on) noexcept {
    return detail::set_int_option(st_, IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0);
}

result<void> tcp_stream::set_keepalive(bool on, std::chrono::seconds idle) noexcept {
    if (auto r = detail::set_int_option(st_, SOL_SOCKET, SO_KEEPALIVE, on ? 1 : 0); !r) {
        return r;
    }
    if (on && idle.count() > 0) {
        int secs = static_cast<int>(std::min<std::int64_t>(idle.count(), 32767));
        if (auto r = detail::set_int_option(st_, IPPROTO_TCP, TCP_KEEPIDLE, secs); !r) {
            return r;
        }
        return detail::set_int_option(st_, IPPROTO_TCP, TCP_KEEPINTVL, secs);
    }
    return {};
}

// --- tcp_listener ----------------------------------------------------------------------------

result<tcp_listener> tcp_listener::bind(std::string_view host_port, listen_options opts) noexcept {
    auto a = address::parse(host_port);
    if (!a) {
        return a.error();
    }
    return bind(*a, opts);
}

result<tcp_listener> tcp_listener::bind(const address& addr, listen_options opts) noexcept {
    if (!addr.is_ipv4() && !addr.is_ipv6()) {
        return std::errc::address_family_not_supported;
    }
    auto fd = detail::listen_socket(addr, opts, true);
    if (!fd) {
        return fd.error();
    }
    detail::fd_state* st = detail::fd_adopt_raw(*fd, detail::fd_kind::listener);
    if (st == nullptr) {
        return std::errc::not_enough_memory;
    }
    st->retry_exhaustion = opts.retry_on_resource_exhaustion;
    return tcp_listener(st);
}

result<tcp_listener> tcp_listener::from_fd(int fd) noexcept {
    detail::fd_state* st = detail::fd_adopt(fd, detail::fd_kind::listener);
    if (st == nullptr) {
        return fd < 0 ? std::errc::bad_file_descriptor : std::errc::not_enough_memory;
    }
    return tcp_listener(st);
}

task<result<tcp_stream>> tcp_listener::accept() {
    return detail::accept_loop<tcp_stream>(st_, [](detail::fd_state* s) { return tcp_stream(s); });
}

result<address> tcp_listener::local_address() const noexcept {
    return detail::sock_name(st_, false);
}

// --- udp_socket ------------------------------------------------------------------------------

result<udp_socket> udp_socket::bind(std::string_view host_port) noexcept {
    auto a = address::parse(host_port);
    if (!a) {
        return a.error();
    }
    return bind(*a);
}

result<udp_socket> udp_socket::bind(const address& addr) noexcept {
    auto fd = detail::new_socket(addr.family(), SOCK_DGRAM);
    if (!fd) {
        return fd.error();
    }
    if (::bind(*fd, addr.data(), addr.size()) < 0) {
        auto ec = detail::last_error();
        ::close(*fd);
        return ec;
    }
    detail::fd_state* st = detail::fd_adopt_raw(*fd, detail::fd_kind::datagram);
    if (st == nullptr) {
        return std::errc::not_enough_memory;
    }
    return udp_socket(st);
}

result<udp_socket> udp_socket::open(int family) noexcept {
    auto fd = detail::new_socket(family, SOCK_DGRAM);
    if (!fd) {
        return fd.error();
    }
    detail::fd_state* st = detail::fd_adopt_raw(*fd, detail::fd_kind::datagram);
    if (st == nullptr) {
        return std::errc::not_enough_memory;
    }
    return udp_socket(st);
}

result<udp_socket> udp_socket::from_fd(int fd) noexcept {
    detail::fd_state* st = detail::fd_adopt(fd, detail::fd_kind::datagram);
    if (st == nullptr) {
        return fd < 0 ? std::errc::bad_file_descriptor : std::errc::not_enough_memory;
    }
    return udp_socket(st);
}

result<void> udp_socket::connect(const address& peer) noexcept {
    return detail::with_fd(st_, [&](int fd) -> result<void> {
        if (::connect(fd, peer.data(), peer.size()) < 0) {
            return detail::last_error();
        }
        return {};
    });
}

result<void> udp_socket::connect(std::string_view host_port) noexcept {
    auto a = address::parse(host_port);
    if (!a) {
        return a.error();
    }
    return connect(*a);
}

result<address> udp_socket::local_address() const noexcept {
    return detail::sock_name(st_, false);
}

result<address> udp_socket::peer_address() const noexcept {
    return detail::sock_name(st_, true);
}

result<void> udp_socket::set_broadcast(bool on) noexcept {
    return detail::set_int_option(st_, SOL_SOCKET, SO_BROADCAST, on ? 1 : 0);
}

void udp_socket::set_read_deadline(clock::time_point t) noexcept {
    if (st_ != nullptr) {
        detail::fd_set_deadline(st_, detail::op_side::read, detail::to_ns(t));
    }
}

void udp_socket::set_write_deadline(clock::time_point t) noexcept {
    if (st_ != nullptr) {
        detail::fd_set_deadline(st_, detail::op_side::write, detail::to_ns(t));
    }
}

// --- unix_stream -----------------------------------------------------------------------------

task<result<unix_stream>> unix_stream::connect(std::string path) {
    auto a = address::unix_path(path);
    if (!a) {
        co_return a.error();
    }
    co_return co_await connect(*a);
}

task<result<unix_stream>> unix_stream::connect(address addr) {
    auto fd = detail::new_socket(AF_UNIX, SOCK_STREAM);
    if (!fd) {
        co_return fd.error();
    }
    detail::fd_state* st = detail::fd_adopt_raw(*fd, detail::fd_kind::stream);
    if (st == nullptr) {
        co_return std::errc::not_enough_memory;
    }
    unix_stream s(st);
    if (auto r = co_await detail::connect_fd(st, addr, -1); !r) {
        co_return r.error();
    }
    co_return std::move(s);
}

result<std::pair<unix_stream, unix_stream>> unix_stream::pair() noexcept {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0) {
        return detail::last_error();
    }
    detail::fd_state* a = detail::fd_adopt_raw(fds[0], detail::fd_kind::stream);
    detail::fd_state* b = detail::fd_adopt_raw(fds[1], detail::fd_kind::stream);
    unix_stream sa(a);
    unix_stream sb(b);
    if (a == nullptr || b == nullptr) {
        return std::errc::not_enough_memory;
    }
    return std::pair<unix_stream, unix_stream>(std::move(sa), std::move(sb));
}

result<unix_stream> unix_stream::from_fd(int fd) noexcept {
    detail::fd_state* st = detail::fd_adopt(fd, detail::fd_kind::stream);
    if (st == nullptr) {
        return fd < 0 ? std::errc::bad_file_descriptor : std::errc::not_enough_memory;
    }
    return unix_stream(st);
}

// --- unix_listener ---------------------------------------------------------------------------

unix_listener& unix_listener::operator=(unix_listener&& o) noexcept {
    if (this != &o) {
        close();
        fd_handle::operator=(std::move(o));
        unlink_path_ = std::move(o.unlink_path_);
        o.unlink_path_.clear();
    }
    return *this;
}

unix_listener::~unix_listener() {
    close();
}

result<unix_listener> unix_listener::bind(std::string_view path, listen_options opts) noexcept {
    auto a = address::unix_path(path);
    if (!a) {
        return a.error();
    }
    auto fd = detail::listen_socket(*a, opts, false);
    if (!fd) {
        return fd.error();
    }
    detail::fd_state* st = detail::fd_adopt_raw(*fd, detail::fd_kind::listener);
    if (st == nullptr) {
        return std::errc::not_enough_memory;
    }
    st->retry_exhaustion = opts.retry_on_resource_exhaustion;
    std::string unlink_path;
    if (path.front() != '@') {
        unlink_path.assign(path);
    }
    return unix_listener(st, std::move(unlink_path));
}

task<result<unix_stream>> unix_listener::accept() {
    return detail::accept_loop<unix_stream>(
        st_, [](detail::fd_state* s) { return unix_stream(s); });
}

void unix_listener::close() noexcept {
    fd_handle::close();
    if (!unlink_path_.empty()) {
        ::unlink(unlink_path_.c_str());
        unlink_path_.clear();
    }
}

result<address> unix_listener::local_address() const noexcept {
    return detail::sock_name(st_, false);
}

} // namespace weft::io

// async_fd and pipe(): adopting or borrowing any descriptor for readiness waits and plain
// read/write. The waits are op_code::poll ops, driven like every other op (op_protocol.cpp): an
// io_uring POLL_ADD on the worker's ring, or under epoll an attempt with poll(2) and a wait for the
// next edge (epoll_reactor.cpp). Reads and writes are the recv/send ops, which both reactors turn
// into read(2)/write(2) for a descriptor that is not a socket (fd_kind::pipe).

#include <weft/io/async_fd.hpp>
#include <weft/io/stdio.hpp>

#include "fd_state.hpp"

#include <cerrno>
#include <string>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace weft::io {

namespace detail {

readiness readiness_of(std::int64_t revents) noexcept {
    const auto ev = static_cast<unsigned>(revents);
    readiness r;
    r.error = (ev & POLLERR) != 0;
    r.hangup = (ev & (POLLHUP | POLLRDHUP)) != 0;
    r.priority = (ev & POLLPRI) != 0;
    r.readable = (ev & (POLLIN | POLLHUP | POLLRDHUP | POLLERR)) != 0;
    r.writable = (ev & (POLLOUT | POLLERR)) != 0;
    return r;
}

namespace {
op_side side_of(interest i) noexcept {
    return i == interest::writable ? op_side::write : op_side::read;
}
int events_of(interest i) noexcept {
    int ev = 0;
    if ((static_cast<unsigned>(i) & static_cast<unsigned>(interest::readable)) != 0) {
        ev |= POLLIN | POLLRDHUP | POLLPRI;
    }
    if ((static_cast<unsigned>(i) & static_cast<unsigned>(interest::writable)) != 0) {
        ev |= POLLOUT;
    }
    return ev;
}

/// Wraps fd as a socket (recv/send) or as anything else (read/write), non-blocking.
/// `keep_flags`: leave O_NONBLOCK alone (a socket read with MSG_DONTWAIT, a regular file).
fd_state* wrap(int fd, bool own, bool keep_flags = false) noexcept {
    struct stat sb {};
    if (fd < 0 || ::fstat(fd, &sb) < 0) {
        return nullptr;
    }
    const fd_kind kind = S_ISSOCK(sb.st_mode) ? fd_kind::stream : fd_kind::pipe;
    int fl = ::fcntl(fd, F_GETFL);
    if (!keep_flags && fl >= 0 && (fl & O_NONBLOCK) == 0) {
        ::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    }
    if (own) {
        int fdfl = ::fcntl(fd, F_GETFD);
        if (fdfl >= 0 && (fdfl & FD_CLOEXEC) == 0) {
            ::fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC);
        }
        return fd_adopt_raw(fd, kind); // closes fd when out of memory
    }
    // Borrowed: adopt, then mark it before anything can close it. fd_adopt_raw closes the
    // number when out of memory, which a borrowed one must not be: dup it for that call.
    const int probe = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (probe < 0) {
        return nullptr;
    }
    fd_state* st = fd_adopt_raw(probe, kind);
    if (st == nullptr) {
        return nullptr; // probe closed; fd untouched
    }
    st->lock.lock();
    st->fd = fd;
    st->borrowed = true;
    st->lock.unlock();
    ::close(probe);
    return st;
}
} // namespace

ready_awaiter::ready_awaiter(fd_state* s, interest i) noexcept
    : op_awaiter_base(op_code::poll, s, side_of(i)) {
    flags = events_of(i);
}

} // namespace detail

result<async_fd> async_fd::adopt(int fd) noexcept {
    if (fd < 0) {
        return std::errc::bad_file_descriptor;
    }
    errno = 0;
    detail::fd_state* st = detail::wrap(fd, true);
    if (st == nullptr) {
        return std::error_code(errno != 0 ? errno : ENOMEM, std::generic_category());
    }
    return async_fd(st);
}

result<async_fd> async_fd::borrow(int fd) noexcept {
    if (fd < 0) {
        return std::errc::bad_file_descriptor;
    }
    errno = 0;
    detail::fd_state* st = detail::wrap(fd, false);
    if (st == nullptr) {
        return std::error_code(errno != 0 ? errno : ENOMEM, std::generic_category());
    }
    return async_fd(st);
}

void async_fd::set_read_deadline(clock::time_point t) noexcept {
    if (st_ != nullptr) {
        detail::fd_set_deadline(st_, detail::op_side::read, detail::to_ns(t));
    }
}

void async_fd::set_write_deadline(clock::time_point t) noexcept {
    if (st_ != nullptr) {
        detail::fd_set_deadline(st_, detail::op_side::write, detail::to_ns(t));
    }
}

result<async_fd> reopen(int fd, bool write) noexcept {
    struct stat sb {};
    if (fd < 0 || ::fstat(fd, &sb) < 0) {
        return std::errc::bad_file_descriptor;
    }
    auto made = [](detail::fd_state* st) -> result<async_fd> {
        if (st == nullptr) {
            return std::error_code(errno != 0 ? errno : ENOMEM, std::generic_category());
        }
        return async_fd(st);
    };
    errno = 0;
    if (S_ISSOCK(sb.st_mode)) {
        return made(detail::wrap(fd, false, true)); // recv/send with MSG_DONTWAIT: flags untouched
    }
    if (S_ISREG(sb.st_mode) || S_ISBLK(sb.st_mode)) {
        // Shares the offset (reads go on where the shell left it); never "not ready".
        const int d = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (d < 0) {
            return std::error_code(errno, std::generic_category());
        }
        return made(detail::wrap(d, true, true));
    }
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    const int fresh = ::open(path.c_str(), (write ? O_WRONLY : O_RDONLY) | O_NONBLOCK | O_CLOEXEC);
    if (fresh >= 0) {
        return made(detail::wrap(fresh, true));
    }
    // Refused (a FIFO with no reader yet, no /proc): a duplicate, non-blocking for all sharers.
    const int d = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (d < 0) {
        return std::error_code(errno, std::generic_category());
    }
    return made(detail::wrap(d, true));
}

result<pipe_ends> pipe() noexcept {
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) {
        return std::error_code(errno, std::generic_category());
    }
    auto r = async_fd::adopt(fds[0]);
    auto w = async_fd::adopt(fds[1]);
    if (!r || !w) {
        return std::errc::not_enough_memory; // adopt closed what it could not wrap
    }
    return pipe_ends{std::move(r).value(), std::move(w).value()};
}

} // namespace weft::io

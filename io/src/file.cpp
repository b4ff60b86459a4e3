// weft::io::file and the whole-file helpers.
//
// read_at, both backends: first preadv2(RWF_NOWAIT) on the worker. A page-cache hit (the common
// case for hot files) costs one system call and no suspension; only a miss (EAGAIN) becomes a
// ring op (io_uring) or a blocking-pool call (epoll). Measured with bench/weft/io_workloads.cpp
// file_read (2 vCPUs, 4 KiB reads of a cached 256 MB file): an IORING_OP_READ that completes
// inline at submit cost ~2.2 us of CPU per read against ~1.4 us for pread(2), because the
// kernel's io_uring path (SQE prep, fget, CQE, task work) and weft's op life cycle come on top of
// the same copy, and the scheduler's small submit batches (~3 reads per io_uring_enter) do not
// amortize the system call. Inline reads are charged to the task's cooperative budget; when it
// is spent the task yields (checkpoint below), so a loop over cached data lets the other tasks
// run. They arm no cancel hook (nothing is pending), so each one checks first whether the task was
// cancelled or the runtime is stopping (cancel_probe), and fails fast as a ring op would.
// Everything else: io_uring ring ops (OPENAT, READ, WRITE, FSYNC); epoll: the blocking pool, with
// a use of the descriptor held, so that a concurrent close() cannot recycle the number under the
// pool thread.

#include <weft/io/file.hpp>
#include <weft/runtime/spawn_blocking.hpp>
#include <weft/runtime/yield.hpp>

#include <weft/runtime/detail/cancel_state.hpp>
#include <weft/runtime/detail/promise.hpp>
#include <weft/runtime/detail/scheduler_hooks.hpp>

#include "errno_code.hpp"
#include "fd_state.hpp"
#include "io_reactor.hpp"

#include <cerrno>

#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

namespace weft::io {

namespace {

bool use_ring() noexcept {
    detail::io_reactor* r = detail::current_io_reactor();
    return r != nullptr && r->kind() == backend::io_uring;
}

using detail::errno_code;

class open_awaiter : public detail::op_awaiter_base {
public:
    open_awaiter(const char* p, int fl, unsigned m) noexcept
        : op_awaiter_base(detail::op_code::openat, nullptr, detail::op_side::read) {
        path = p;
        flags = fl;
        mode = m;
    }
    detail::op_outcome await_resume() noexcept { return detail::op_finish(*this); }
};

class rw_awaiter : public detail::op_awaiter_base {
public:
    rw_awaiter(
        detail::op_code c,
        detail::fd_state* s,
        void* b,
        std::size_t n,
        std::uint64_t off,
        bool all_) noexcept
        : op_awaiter_base(
              c, s, c == detail::op_code::read ? detail::op_side::read : detail::op_side::write) {
        buf = b;
        len = n;
        offset = off;
        all = all_;
    }
    detail::op_outcome await_resume() noexcept { return detail::op_finish(*this); }
};

/// preadv2(RWF_NOWAIT): the bytes if the page cache has them, else -EAGAIN (or -errno). Outside
/// the coroutine so that the iovec is a plain local.
ssize_t read_nowait(detail::fd_state* st, std::span<std::byte> buf, std::uint64_t offset) noexcept {
    int fd = detail::fd_use_quick(st); // no lock: workers reading one file share it
    if (fd < 0) {
        return -EBADF;
    }
    iovec iov{buf.data(), buf.size()};
    // The raw system call: glibc's preadv2 is a cancellation point and brackets the call with
    // two pthread cancel-state switches we do not need (1% of a cached 4 KiB read, perf).
    // The offset goes as two longs (low, high), as the kernel's preadv2 takes it.
    const auto off = static_cast<unsigned long long>(offset);
    long n = ::syscall(
        SYS_preadv2,
        fd,
        &iov,
        1,
        static_cast<unsigned long>(off),
        static_cast<unsigned long>(off >> 32 >> 32),
        RWF_NOWAIT);
    int err = n < 0 ? errno : 0;
    detail::fd_unuse_quick(st);
    return n >= 0 ? static_cast<ssize_t>(n) : -err;
}

/// What a cancelled task (or a stopping runtime) gets from read_at's inline path, or no error.
std::error_code cancelled(const weft::detail::cancel_state* c) noexcept {
    if (weft::detail::runtime_stopping()) {
        return make_error_code(weft::errc::canceled);
    }
    if (c != nullptr && c->requested()) {
        return c->error();
    }
    return {};
}

/// co_await gives the awaiting task's cancellation state, without suspending. Inline reads arm no
/// cancel hook, so they look at it themselves: a cancelled task fails fast, as every ring op does
/// in op_start.
class cancel_probe {
public:
    bool await_ready() const noexcept { return false; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) noexcept {
        cancel_ = weft::detail::cancel_of(h);
        return false; // resume at once
    }
    weft::detail::cancel_state* await_resume() const noexcept { return cancel_; }

private:
    weft::detail::cancel_state* cancel_ = nullptr;
};

/// Awaited when inline reads have spent the task's budget: queues the task behind the others on
/// its worker (idle workers may steal it) and resumes it when its turn comes.
class checkpoint {
public:
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) const noexcept { weft::detail::yield_to_back(h); }
    void await_resume() const noexcept {}
};

/// Runs `f(fd)` on the blocking pool with a use of the descriptor held.
template <class F>
task<result<std::size_t>> blocking_io(detail::fd_state* st, F f) {
    int fd = detail::fd_use(st);
    if (fd < 0) {
        co_return std::errc::bad_file_descriptor;
    }
    ssize_t r = co_await weft::spawn_blocking([fd, &f]() -> ssize_t {
        ssize_t n;
        do {
            n = f(fd);
        } while (n < 0 && errno == EINTR);
        return n < 0 ? -errno : n;
    });
    detail::fd_unuse(st);
    if (r < 0) {
        co_return errno_code(static_cast<int>(-r));
    }
    co_return static_cast<std::size_t>(r);
}

} // namespace

task<result<file>> file::open(std::string path, int flags, unsigned mode) {
    if (path.find('\0') != std::string::npos) {
        co_return std::errc::invalid_argument; // open(2) would use only the part before it
    }
    if (use_ring()) {
        detail::op_outcome r = co_await open_awaiter{path.c_str(), flags, mode};
        if (r.error) {
            co_return r.error;
        }
        detail::fd_state* st =
            detail::fd_adopt_raw(static_cast<int>(r.value), detail::fd_kind::file);
        if (st == nullptr) {
            co_return std::errc::not_enough_memory;
        }
        co_return file(st);
    }
    int fd = co_await weft::spawn_blocking([&]() -> int {
        int f;
        do {
            f = ::open(path.c_str(), flags | O_CLOEXEC, mode);
        } while (f < 0 && errno == EINTR);
        return f < 0 ? -errno : f;
    });
    if (fd < 0) {
        co_return errno_code(-fd);
    }
    detail::fd_state* st = detail::fd_adopt_raw(fd, detail::fd_kind::file);
    if (st == nullptr) {
        co_return std::errc::not_enough_memory;
    }
    co_return file(st);
}

result<file> file::from_fd(int fd) noexcept {
    detail::fd_state* st = detail::fd_adopt(fd, detail::fd_kind::file);
    if (st == nullptr) {
        return fd < 0 ? std::errc::bad_file_descriptor : std::errc::not_enough_memory;
    }
    return file(st);
}

task<result<std::size_t>> file::read_at(std::span<std::byte> buf, std::uint64_t offset) {
    if (!buf.empty()) {
        // 1. Page-cache hit: served here, one system call, no suspension (see the file comment).
        //    A cancelled task fails first; a task whose budget is spent yields first.
        const weft::detail::cancel_state* c = co_await cancel_probe{};
        if (weft::detail::budget_exhausted()) {
            co_await checkpoint{};
        }
        if (std::error_code ec = cancelled(c)) {
            co_return ec;
        }
        ssize_t n = read_nowait(st_, buf, offset);
        if (n >= 0) {
            co_return static_cast<std::size_t>(n);
        }
        if (n == -EBADF) {
            co_return std::errc::bad_file_descriptor;
        }
        if (n != -EAGAIN && n != -EOPNOTSUPP && n != -EINTR) {
            co_return errno_code(static_cast<int>(-n));
        }
    }
    // 2. Not in the page cache (or RWF_NOWAIT unsupported): a ring op, or the blocking pool.
    if (use_ring()) {
        detail::op_outcome r =
            co_await rw_awaiter{detail::op_code::read, st_, buf.data(), buf.size(), offset, false};
        if (r.error) {
            co_return r.error;
        }
        co_return static_cast<std::size_t>(r.value);
    }
    if (buf.empty()) {
        co_return std::size_t{0};
    }
    co_return co_await blocking_io(
        st_, [&](int f) { return ::pread(f, buf.data(), buf.size(), static_cast<off_t>(offset)); });
}

task<result<std::size_t>> file::write_at(std::span<const std::byte> data, std::uint64_t offset) {
    if (use_ring()) {
        detail::op_outcome r = co_await rw_awaiter{
            detail::op_code::write,
            st_,
            const_cast<std::byte*>(data.data()),
            data.size(),
            offset,
            false};
        if (r.error) {
            co_return r.error;
        }
        co_return static_cast<std::size_t>(r.value);
    }
    co_return co_await blocking_io(st_, [&](int f) {
        return ::pwrite(f, data.data(), data.size(), static_cast<off_t>(offset));
    });
}

task<result<void>> file::write_all_at(std::span<const std::byte> data, std::uint64_t offset) {
    if (use_ring()) {
        detail::op_outcome r = co_await rw_awaiter{
            detail::op_code::write,
            st_,
            const_cast<std::byte*>(data.data()),
            data.size(),
            offset,
            true};
        co_return r.error;
    }
    auto r = co_await blocking_io(st_, [&](int f) -> ssize_t {
        std::size_t done = 0;
        while (done < data.size()) {
            ssize_t n = ::pwrite(
                f, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                return -1;
            }
            done += static_cast<std::size_t>(n);
        }
        return static_cast<ssize_t>(done);
    });
    co_return r.error();
}

task<result<void>> file::fsync() {
    if (use_ring()) {
        detail::op_outcome r =
            co_await rw_awaiter{detail::op_code::fsync, st_, nullptr, 0, 0, false};
        co_return r.error;
    }
    auto r = co_await blocking_io(st_, [](int f) -> ssize_t { return ::fsync(f); });
    co_return r.error();
}

task<result<void>> file::fdatasync() {
    if (use_ring()) {
        detail::op_outcome r =
            co_await rw_awaiter{detail::op_code::fdatasync, st_, nullptr, 0, 0, false};
        co_return r.error;
    }
    auto r = co_await blocking_io(st_, [](int f) -> ssize_t { return ::fdatasync(f); });
    co_return r.error();
}

result<std::uint64_t> file::size() const noexcept {
    int fd = detail::fd_use(st_);
    if (fd < 0) {
        return std::errc::bad_file_descriptor;
    }
    struct stat sb {};
    int r = ::fstat(fd, &sb);
    int err = errno;
    detail::fd_unuse(st_);
    if (r < 0) {
        return errno_code(err);
    }
    return static_cast<std::uint64_t>(sb.st_size);
}

// --- whole-file helpers ----------------------------------------------------------------------

namespace {

template <class Buffer>
task<result<Buffer>> read_whole(std::string path) {
    auto f = co_await file::open(std::move(path), O_RDONLY);
    if (!f) {
        co_return f.error();
    }
    auto sz = f->size();
    if (!sz) {
        co_return sz.error();
    }
    Buffer out;
    out.resize(static_cast<std::size_t>(*sz) + 1); // +1: notice growth and EOF in one read
    std::size_t used = 0;
    for (;;) {
        if (used == out.size()) {
            out.resize(out.size() * 2 + 4096);
        }
        auto bytes = std::as_writable_bytes(std::span(out.data() + used, out.size() - used));
        auto n = co_await f->read_at(bytes, used);
        if (!n) {
            co_return n.error();
        }
        if (*n == 0) {
            break;
        }
        used += *n;
    }
    out.resize(used);
    co_return out;
}

} // namespace

task<result<std::vector<std::byte>>> read_file(std::string path) {
    co_return co_await read_whole<std::vector<std::byte>>(std::move(path));
}

task<result<std::string>> read_file_string(std::string path) {
    co_return co_await read_whole<std::string>(std::move(path));
}

task<result<void>> write_file(std::string path, std::span<const std::byte> data) {
    auto f = co_await file::open(std::move(path), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (!f) {
        co_return f.error();
    }
    co_return co_await f->write_all_at(data, 0);
}

task<result<void>> write_file(std::string path, std::string_view data) {
    co_return co_await write_file(
        std::move(path), std::as_bytes(std::span(data.data(), data.size())));
}

} // namespace weft::io

// The one awaitable shape behind every weft::io operation: an `op` embedded in the awaiting task's
// coroutine frame, handed to the worker's reactor (io_uring or epoll), completed by that reactor.
//
// Not API. The public types (tcp_stream, udp_socket, ...) return the awaiters defined here; users
// only `co_await` them. The algorithm lives in io/src/op_protocol.cpp (the protocol shared by
// both backends), io/src/uring_reactor.cpp and io/src/epoll_reactor.cpp.
//
// Lifetime: an op lives in the awaiter, in the task's frame, from await_suspend until the task is
// resumed. The reactor and the kernel stop touching it (and its buffer) before the task resumes:
// a cancelled io_uring op is resumed only by its own completion (-ECANCELED or success), never by
// the canceller (liburing #733).
#pragma once

#include <weft/runtime/result.hpp>

#include <weft/runtime/detail/cancel_state.hpp>
#include <weft/runtime/detail/nodiscard.hpp>
#include <weft/runtime/detail/promise.hpp>
#include <weft/runtime/detail/timer_node.hpp>

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <system_error>

#include <sys/socket.h>

namespace weft::io::detail {

struct fd_state;  // per-descriptor shared state (io/src/fd_state.hpp)
class io_reactor; // base of both reactors (io/src/io_reactor.hpp)
struct op;

/// What an op asks the kernel for.
enum class op_code : std::uint8_t {
    recv,      ///< recv(fd, buf, len, flags); `all`: until len bytes or EOF (read_exact)
    send,      ///< send(fd, buf, len, flags | MSG_NOSIGNAL); `all`: until len bytes (write_all)
    accept,    ///< accept4(fd, ...); res is the new descriptor
    connect,   ///< connect(fd, addr, addr_len)
    recvmsg,   ///< recvmsg(fd, msg, flags) (UDP recv_from)
    sendmsg,   ///< sendmsg(fd, msg, flags | MSG_NOSIGNAL) (UDP send_to)
    read,      ///< pread(fd, buf, len, offset)
    write,     ///< pwrite(fd, buf, len, offset); `all`: until len bytes
    fsync,     ///< fsync(fd)
    fdatasync, ///< fdatasync(fd)
    openat,    ///< openat(AT_FDCWD, path, flags | O_CLOEXEC, mode); res is the new descriptor
    poll,      ///< wait until poll(2) reports any of the events in `flags`; res is revents
};

/// The side of a descriptor an op uses. Deadlines are per side; close() cancels both.
enum class op_side : std::uint8_t { read = 0, write = 1 };

/// The deadline timer of an op; first member so that on_fire can find the op.
struct op_timer {
    weft::detail::timer_node node;
    op* self = nullptr;
};

struct op : weft::detail::cancel_hook {
    op(op_code c, fd_state* s, op_side sd) noexcept;
    op(const op&) = delete;
    op& operator=(const op&) = delete;

    // --- the request: written by the initiator before op_start, then read-only ---
    op_code code;
    op_side side;
    bool all = false; // recv/send/write: keep going until `len` bytes are done
    fd_state* st;     // the descriptor (null for openat)
    void* buf = nullptr;
    std::size_t len = 0;
    std::uint64_t offset = 0;       // read/write: file offset
    int flags = 0;                  // msg flags (recv/send/recvmsg/sendmsg); open flags (openat)
    unsigned mode = 0;              // openat
    const char* path = nullptr;     // openat: NUL-terminated, lives in the awaiter
    const sockaddr* addr = nullptr; // connect
    socklen_t addr_len = 0;         // connect
    msghdr* msg = nullptr;          // recvmsg / sendmsg: lives in the awaiter
    std::int64_t deadline_ns = -1;  // absolute, steady clock; < 0: none (op_start fills it
                                    // from the descriptor's read/write deadline if unset)

    // --- the outcome: written by whoever completes the op, read after resumption ---
    std::int64_t res = 0; // >= 0: bytes or descriptor; < 0: -errno
    std::size_t done = 0; // `all` ops: bytes moved so far

    // --- bookkeeping: see io/src/op_protocol.cpp ---
    std::coroutine_handle<> waiter{};
    weft::detail::cancel_state* cancel = nullptr;
    io_reactor* owner = nullptr;         // ring/epoll that holds it; written before it is armed
    std::atomic<std::uint32_t> state{0}; // st_/why bits (io/src/op_protocol.hpp), any thread
    std::uint8_t flow = 0;               // initiator's marks (hook, timer, connecting): written
                                         // before the op is published, then by its completer
    bool linked = false;                 // counted on st (guarded by st's lock)
    bool queued = false;                 // on st's wait queue (guarded by st's lock)
    bool internal = false;               // a reactor's own op; fixed at construction
    op* next = nullptr;                  // st's in-flight list of `side` (st's lock)
    op* prev = nullptr;
    op* rnext = nullptr; // owner reactor's lists (owner thread only)
    op* rprev = nullptr;
    op* inbox_next = nullptr; // owner's cancel inbox (MPSC, uring_reactor.cpp)
    op_timer timer;           // armed when deadline_ns >= 0
};

/// Starts `o` for the task `h`. Returns true when the task must stay suspended (the op is in
/// flight), false when it completed at once (error, already cancelled, or done inline).
bool op_start(op& o, std::coroutine_handle<> h, weft::detail::cancel_state* c) noexcept;

/// After resumption: releases the op's hold on its descriptor and cancellation, maps the result.
/// value >= 0 on success; otherwise `error` says why.
struct op_outcome {
    std::int64_t value;
    std::error_code error;
};
op_outcome op_finish(op& o) noexcept;

/// The awaiter of every op: `co_await` starts it, then suspends until it completes.
/// Single-use, not movable (it lives where the co_await expression put it).
class op_awaiter_base : public op {
public:
    using op::op;
    bool await_ready() const noexcept { return false; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) noexcept {
        return op_start(*this, h, weft::detail::cancel_of(h));
    }
};

/// co_await yields result<std::size_t>: bytes moved (0 from a read means end of stream).
class WEFT_NODISCARD("an I/O operation does nothing unless co_awaited") size_awaiter
    : public op_awaiter_base {
public:
    size_awaiter(op_code c, fd_state* s, op_side sd, void* b, std::size_t n, bool all_) noexcept
        : op_awaiter_base(c, s, sd) {
        buf = b;
        len = n;
        all = all_;
    }
    [[nodiscard]] result<std::size_t> await_resume() noexcept {
        op_outcome r = op_finish(*this);
        if (r.error) {
            return r.error;
        }
        return static_cast<std::size_t>(r.value);
    }
};

/// co_await yields result<void> (write_all, read_exact, fsync, connect).
class WEFT_NODISCARD("an I/O operation does nothing unless co_awaited") void_awaiter
    : public op_awaiter_base {
public:
    void_awaiter(op_code c, fd_state* s, op_side sd, void* b, std::size_t n, bool all_) noexcept
        : op_awaiter_base(c, s, sd) {
        buf = b;
        len = n;
        all = all_;
    }
    [[nodiscard]] result<void> await_resume() noexcept { return op_finish(*this).error; }
};

} // namespace weft::io::detail

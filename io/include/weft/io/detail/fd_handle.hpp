// fd_handle: the move-only owner of one descriptor's shared state, base of every weft::io type.
//
// Not API. The shared state (io/src/fd_state.hpp) holds the descriptor, its deadlines and the
// list of operations in flight on it. The handle holds one reference; every op in flight holds
// one more. close() is idempotent and thread-safe: it cancels the ops in flight (they complete
// with bad_file_descriptor) and the descriptor itself is closed once the last of them has
// completed, so no kernel operation ever sees a descriptor number that was reused (liburing #932).
#pragma once

#include <weft/io/detail/op.hpp>

#include <cstdint>
#include <system_error>
#include <utility>

namespace weft::io::detail {

/// What a descriptor is; decides how its ops are driven. `pipe` is any pollable descriptor that
/// is not a socket (pipe, FIFO, terminal, eventfd, timerfd, signalfd, pidfd): its recv and send
/// ops are read(2) and write(2).
enum class fd_kind : std::uint8_t { stream, listener, datagram, file, pipe };

/// Wraps `fd` (made non-blocking and close-on-exec for sockets). Null when out of memory, in
/// which case `fd` has been closed.
fd_state* fd_adopt(int fd, fd_kind kind) noexcept;
/// Closes (see the file comment). Any thread; idempotent.
void fd_close(fd_state* st) noexcept;
/// close() and drop the handle's reference; `st` must not be used afterwards.
void fd_release(fd_state* st) noexcept;
/// The descriptor, or -1 once closed.
int fd_native(const fd_state* st) noexcept;
/// Gives the descriptor up: the state forgets it (as if closed) without closing it, and the
/// number is returned. -EBUSY while an op is in flight on it, -EBADF when already closed.
int fd_detach(fd_state* st) noexcept;
/// The descriptor is not ours to close: close() ends the ops on it and forgets it, and never
/// closes the number (a borrowed descriptor). Set right after adoption.
void fd_set_borrowed(fd_state* st) noexcept;
/// Sets the read or write deadline (absolute steady-clock ns; < 0 clears it). A deadline that has
/// already passed also interrupts the ops of that side in flight (Go's SetReadDeadline(past)).
void fd_set_deadline(fd_state* st, op_side side, std::int64_t deadline_ns) noexcept;

class fd_handle {
public:
    fd_handle() noexcept = default;
    explicit fd_handle(fd_state* s) noexcept
        : st_(s) {}
    fd_handle(fd_handle&& o) noexcept
        : st_(std::exchange(o.st_, nullptr)) {}
    fd_handle& operator=(fd_handle&& o) noexcept {
        if (this != &o) {
            reset();
            st_ = std::exchange(o.st_, nullptr);
        }
        return *this;
    }
    fd_handle(const fd_handle&) = delete;
    fd_handle& operator=(const fd_handle&) = delete;
    ~fd_handle() { reset(); }

    /// Closes the descriptor; ops in flight on it are cancelled and complete with
    /// std::errc::bad_file_descriptor. Idempotent; any thread, concurrently with ops.
    void close() noexcept {
        if (st_ != nullptr) {
            fd_close(st_);
        }
    }
    /// False after close(), after a move, or for a default-constructed object.
    bool is_open() const noexcept { return st_ != nullptr && fd_native(st_) >= 0; }
    /// The descriptor (-1 once closed). Do not close it yourself.
    int native_handle() const noexcept { return st_ != nullptr ? fd_native(st_) : -1; }
    /// Gives the descriptor up to the caller, who must close it: this object is then closed,
    /// and the descriptor is left open, with its flags as they are (non-blocking, close-on-exec).
    /// Fails with device_or_resource_busy while an operation is in flight on it (nothing
    /// changes), and with bad_file_descriptor once closed.
    result<int> release() noexcept {
        if (st_ == nullptr) {
            return std::errc::bad_file_descriptor;
        }
        const int fd = fd_detach(st_);
        if (fd < 0) {
            return std::error_code(-fd, std::generic_category());
        }
        reset();
        return fd;
    }

protected:
    void reset() noexcept {
        if (st_ != nullptr) {
            fd_release(std::exchange(st_, nullptr));
        }
    }
    fd_state* st_ = nullptr; // written only by construction, move and destruction
};

} // namespace weft::io::detail

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
#include <utility>

namespace weft::io::detail {

/// What a descriptor is; decides how its ops are driven.
enum class fd_kind : std::uint8_t { stream, listener, datagram, file };

/// Wraps `fd` (made non-blocking and close-on-exec for sockets). Null when out of memory, in
/// which case `fd` has been closed.
fd_state* fd_adopt(int fd, fd_kind kind) noexcept;
/// Closes (see the file comment). Any thread; idempotent.
void fd_close(fd_state* st) noexcept;
/// close() and drop the handle's reference; `st` must not be used afterwards.
void fd_release(fd_state* st) noexcept;
/// The descriptor, or -1 once closed.
int fd_native(const fd_state* st) noexcept;
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

protected:
    void reset() noexcept {
        if (st_ != nullptr) {
            fd_release(std::exchange(st_, nullptr));
        }
    }
    fd_state* st_ = nullptr; // written only by construction, move and destruction
};

} // namespace weft::io::detail

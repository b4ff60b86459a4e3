// weft::io::stream_socket: the byte-stream members that tcp_stream and unix_stream share (read,
// read_exact, write, write_all, shutdown, addresses, deadlines, socket options), with the
// contract of each. Use it through those two types; it has no public constructor of its own.
//
//     auto n = co_await conn.read(buf);              // result<size_t>, 0 = end of stream
//     if (!co_await conn.write_all(reply)) { ... }   // result<void>
//     conn.set_read_deadline(weft::clock::now() + 5s);
//
// Thread-safety, memory ordering, cancellation, lifetime and which thread resumes an awaiter:
// see tcp_stream.hpp (the same for unix_stream).
#pragma once

#include <weft/io/address.hpp>
#include <weft/runtime/result.hpp>
#include <weft/runtime/timer.hpp>

#include <weft/io/detail/fd_handle.hpp>
#include <weft/io/detail/op.hpp>

#include <cstddef>
#include <span>
#include <string_view>

#include <sys/socket.h>

namespace weft::io {

/// Which direction(s) shutdown() ends.
enum class shutdown_how { read = SHUT_RD, write = SHUT_WR, both = SHUT_RDWR };

/// The members of a connected byte stream; base of tcp_stream and unix_stream.
class stream_socket : public detail::fd_handle {
public:
    /// Reads what is available, at most buf.size() bytes: result 0 means end of stream (the peer
    /// shut down its writing side). A read of an empty buffer completes at once with 0.
    detail::size_awaiter read(std::span<std::byte> buf) noexcept {
        return {detail::op_code::recv, st_, detail::op_side::read, buf.data(), buf.size(), false};
    }
    detail::size_awaiter read(std::span<char> buf) noexcept {
        return {detail::op_code::recv, st_, detail::op_side::read, buf.data(), buf.size(), false};
    }
    /// Reads exactly buf.size() bytes. weft::io::errc::unexpected_eof if the stream ends first
    /// (the bytes read so far are in buf, their count is lost: use read() to frame by hand).
    detail::void_awaiter read_exact(std::span<std::byte> buf) noexcept {
        return {detail::op_code::recv, st_, detail::op_side::read, buf.data(), buf.size(), true};
    }
    detail::void_awaiter read_exact(std::span<char> buf) noexcept {
        return {detail::op_code::recv, st_, detail::op_side::read, buf.data(), buf.size(), true};
    }
    /// One send: writes at least one byte unless it fails; may write fewer than data.size().
    detail::size_awaiter write(std::span<const std::byte> data) noexcept {
        return {
            detail::op_code::send,
            st_,
            detail::op_side::write,
            const_cast<std::byte*>(data.data()),
            data.size(),
            false};
    }
    detail::size_awaiter write(std::string_view data) noexcept {
        return {
            detail::op_code::send,
            st_,
            detail::op_side::write,
            const_cast<char*>(data.data()),
            data.size(),
            false};
    }
    /// Writes all of data (looping over short writes inside the reactor, one send in flight at a
    /// time: liburing #1001). On error, how much was written is unknown (as in Go and Tokio).
    /// Never raises SIGPIPE: a write to a reset connection fails with broken_pipe or
    /// connection_reset.
    [[nodiscard]] detail::void_awaiter write_all(std::span<const std::byte> data) noexcept {
        return {
            detail::op_code::send,
            st_,
            detail::op_side::write,
            const_cast<std::byte*>(data.data()),
            data.size(),
            true};
    }
    [[nodiscard]] detail::void_awaiter write_all(std::string_view data) noexcept {
        return {
            detail::op_code::send,
            st_,
            detail::op_side::write,
            const_cast<char*>(data.data()),
            data.size(),
            true};
    }

    /// Ends reading, writing or both (write: the peer's reads see end of stream after the data
    /// already sent; the socket stays open for reading: a half-close).
    result<void> shutdown(shutdown_how how = shutdown_how::write) noexcept;

    /// The local and remote addresses.
    result<address> local_address() const noexcept;
    result<address> peer_address() const noexcept;

    /// Go-style deadlines (absolute, weft::clock). A read (write) that starts after the deadline,
    /// or is still in flight when it passes, fails with std::errc::timed_out. A default-constructed
    /// time_point clears the deadline. A deadline already in the past also interrupts the ops of
    /// that side in flight right now (the Go idiom for unblocking a reader from another task);
    /// a later deadline applies to the ops started after the call.
    void set_read_deadline(clock::time_point t) noexcept;
    void set_write_deadline(clock::time_point t) noexcept;
    void set_deadline(clock::time_point t) noexcept {
        set_read_deadline(t);
        set_write_deadline(t);
    }

    /// SO_RCVBUF / SO_SNDBUF (the kernel doubles the value and applies its own bounds).
    result<void> set_recv_buffer_size(int bytes) noexcept;
    result<void> set_send_buffer_size(int bytes) noexcept;
    /// setsockopt with an int value, for anything else.
    result<void> set_option(int level, int name, int value) noexcept;
    result<int> get_option(int level, int name) const noexcept;

protected:
    stream_socket() noexcept = default;
    explicit stream_socket(detail::fd_state* s) noexcept
        : fd_handle(s) {}
};

} // namespace weft::io

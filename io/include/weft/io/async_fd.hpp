// weft::io::async_fd: waits on any descriptor the program owns or borrows (a pipe, an eventfd, a
// timerfd, a terminal, another library's socket) and reads or writes it without blocking a
// worker (Tokio's AsyncFd, Go's netpoller behind os.File).
//
//     auto efd = weft::io::async_fd::adopt(::eventfd(0, 0)).value();
//     auto r = co_await efd.readable();            // result<readiness>
//     std::uint64_t n;
//     auto got = co_await efd.read({reinterpret_cast<char*>(&n), sizeof n});
//
//     // A client library's socket: wait, then let the library do its own call.
//     auto fd = weft::io::async_fd::borrow(PQsocket(conn)).value();
//     co_await fd.writable();
//
//     auto [rd, wr] = weft::io::pipe().value();   // both ends, non-blocking
//     co_await wr.write_all("hello");
//
// Readiness is level-triggered: readable() completes at once when a read would not block right
// now, else when that changes (an end of file or a hang-up counts as readable, an error as
// both). Nothing is cached: after readable() another task or process may take the data first,
// so do the non-blocking call and, on EAGAIN, wait again. read()/write() do that loop for you.
//
// Members: readable(), writable(), ready(interest) -> result<readiness>; read(buf) ->
// result<size_t> (0 = end of file); read_exact(buf), write_all(data) -> result<void>; write(data)
// -> result<size_t>; deadlines; close(), release(), is_open(), native_handle().
//
// adopt() owns the descriptor (close() and the destructor close it); borrow() does not (close()
// ends the waits on it and forgets it; the number stays open, the caller closes it). Both make
// the descriptor non-blocking (O_NONBLOCK is shared with every dup of it and with other
// processes that share the open file: a terminal's or a shell's pipe; see stdio.hpp for those).
// A regular file is always "ready" to poll(2): use weft::io::file for files.
//
// Thread-safety, cancellation, deadlines and lifetime are those of tcp_stream (tcp_stream.hpp): a
// cancelled or timed-out wait is taken back from the kernel before the co_await returns; close()
// from any thread ends every wait on it with bad_file_descriptor. A wait for both directions
// uses the read deadline. Sockets are read with recv and written with send(MSG_NOSIGNAL); other
// descriptors with read(2) and write(2), and a write to a pipe whose reader is gone fails with
// broken_pipe (worker threads block SIGPIPE).
#pragma once

#include <weft/runtime/result.hpp>
#include <weft/runtime/timer.hpp>

#include <weft/io/detail/fd_handle.hpp>
#include <weft/io/detail/op.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace weft::io {

/// Which readiness a wait is for.
enum class interest : std::uint8_t { readable = 1, writable = 2, both = 3 };

/// What poll(2) reported when a wait completed.
struct readiness {
    bool readable = false; ///< a read would not block (data, end of file, hang-up or error)
    bool writable = false; ///< a write would not block (or would fail at once: error, hang-up)
    bool hangup = false;   ///< the peer or the other end is gone (POLLHUP, POLLRDHUP)
    bool error = false;    ///< an error is pending on the descriptor (POLLERR)
    bool priority = false; ///< urgent data (POLLPRI)
};

namespace detail {
readiness readiness_of(std::int64_t revents) noexcept;

/// co_await yields result<readiness>.
class WEFT_NODISCARD("a readiness wait does nothing unless co_awaited") ready_awaiter
    : public op_awaiter_base {
public:
    ready_awaiter(fd_state* s, interest i) noexcept;
    [[nodiscard]] result<readiness> await_resume() noexcept {
        op_outcome r = op_finish(*this);
        if (r.error) {
            return r.error;
        }
        return readiness_of(r.value);
    }
};
} // namespace detail

class async_fd : public detail::fd_handle {
public:
    /// An empty (closed) object.
    async_fd() noexcept = default;

    /// Takes ownership of `fd`: made non-blocking and close-on-exec, closed by close() and by the
    /// destructor. bad_file_descriptor for a negative or closed number (then nothing is owned).
    static result<async_fd> adopt(int fd) noexcept;
    /// Waits on `fd` without owning it: made non-blocking, never closed by weft. The caller
    /// keeps it open while this object lives.
    static result<async_fd> borrow(int fd) noexcept;

    /// Completes when a read would not block (see the file comment).
    detail::ready_awaiter readable() noexcept { return {st_, interest::readable}; }
    /// Completes when a write would not block.
    detail::ready_awaiter writable() noexcept { return {st_, interest::writable}; }
    /// Completes when any of `what` holds; the result says which.
    detail::ready_awaiter ready(interest what) noexcept { return {st_, what}; }

    /// Reads what is available, at most buf.size() bytes, waiting until something is: 0 means
    /// end of file (every writer of a pipe is gone).
    detail::size_awaiter read(std::span<char> buf) noexcept {
        return {detail::op_code::recv, st_, detail::op_side::read, buf.data(), buf.size(), false};
    }
    detail::size_awaiter read(std::span<std::byte> buf) noexcept {
        return {detail::op_code::recv, st_, detail::op_side::read, buf.data(), buf.size(), false};
    }
    /// Reads exactly buf.size() bytes; unexpected_eof if the input ends first.
    [[nodiscard]] detail::void_awaiter read_exact(std::span<char> buf) noexcept {
        return {detail::op_code::recv, st_, detail::op_side::read, buf.data(), buf.size(), true};
    }
    /// One write: at least one byte unless it fails.
    detail::size_awaiter write(std::string_view data) noexcept {
        return {
            detail::op_code::send,
            st_,
            detail::op_side::write,
            const_cast<char*>(data.data()),
            data.size(),
            false};
    }
    /// Writes all of data (short writes continue; on error how much was written is unknown).
    [[nodiscard]] detail::void_awaiter write_all(std::string_view data) noexcept {
        return {
            detail::op_code::send,
            st_,
            detail::op_side::write,
            const_cast<char*>(data.data()),
            data.size(),
            true};
    }
    [[nodiscard]] detail::void_awaiter write_all(std::span<const std::byte> data) noexcept {
        return {
            detail::op_code::send,
            st_,
            detail::op_side::write,
            const_cast<std::byte*>(data.data()),
            data.size(),
            true};
    }

    /// Go-style deadlines, as on tcp_stream: waits and reads (writes) that are still in flight
    /// when the deadline passes fail with timed_out.
    void set_read_deadline(clock::time_point t) noexcept;
    void set_write_deadline(clock::time_point t) noexcept;
    void set_deadline(clock::time_point t) noexcept {
        set_read_deadline(t);
        set_write_deadline(t);
    }

private:
    explicit async_fd(detail::fd_state* s) noexcept
        : fd_handle(s) {}
    friend result<async_fd> reopen(int fd, bool write) noexcept; // stdio.hpp
};

/// The two ends of a pipe.
struct pipe_ends {
    async_fd read;  ///< what is written to `write` comes out here; 0 bytes once `write` is closed
    async_fd write; ///< broken_pipe once `read` is closed
};

/// A new pipe (pipe2 with O_NONBLOCK | O_CLOEXEC); too_many_files_open when out of descriptors.
result<pipe_ends> pipe() noexcept;

} // namespace weft::io

// weft::io::tcp_stream: a TCP connection.
//
//     weft::task<> serve(weft::io::tcp_stream conn) {
//         std::array<std::byte, 4096> buf;
//         for (;;) {
//             auto n = co_await conn.read(buf);                 // result<size_t>, 0 = EOF
//             if (!n || *n == 0) co_return;
//             if (!co_await conn.write_all({buf.data(), *n})) co_return;
//         }
//     }
//     auto c = co_await weft::io::tcp_stream::connect("127.0.0.1:7000", 2s);  // result<tcp_stream>
//
// Members (inherited from stream_socket, see stream_socket.hpp for each contract):
//   read(buf) -> result<size_t>        read_exact(buf) -> result<void>
//   write(data) -> result<size_t>      write_all(data) -> result<void>
//   shutdown(how), close(), is_open(), native_handle()
//   local_address(), peer_address(), set_read_deadline / set_write_deadline / set_deadline
//   set_recv_buffer_size, set_send_buffer_size, set_option, get_option
// plus, here: connect, from_fd, set_nodelay, set_keepalive.
//
// Thread-safety: one task may read while another writes (Go allows concurrent Read and Write on a
// conn); two concurrent reads, or two concurrent writes, on one stream are a programming error
// (their bytes would interleave in an unspecified order). Two writes in flight at once abort with
// a message (WEFT_ASSERT): with io_uring they could even reorder (liburing #1001). close(),
// shutdown() and the deadline setters may be called from any task or thread at any time, also while
// ops are in flight. Memory ordering: bytes written into a read's buffer happen-before the read's
// co_await returns; a write's buffer is no longer read by anyone once its co_await returns.
// Cancellation: every await honours the task's cancellation and weft::with_timeout. The kernel
// operation is cancelled and its completion awaited before the co_await returns
// (operation_canceled or timed_out), so the buffer is never touched afterwards. Bytes already
// moved by a cancelled read_exact/write_all are lost to the caller (as in Tokio).
// Lifetime: move-only; the destructor closes. Closing (or destroying) a stream while another task
// still awaits an op on it cancels that op: it completes with std::errc::bad_file_descriptor, and
// the descriptor is closed when the last op in flight has completed. The object must outlive the
// co_await of its own ops (as any object whose member you call).
// Which thread resumes the awaiter: the worker whose io_uring ring (or epoll instance) completed
// the op, by pushing the task onto that worker's queue (it may then be stolen). With io_uring an
// op goes on the ring of the worker the task runs on when it starts the op.
// Never raises SIGPIPE (sends use MSG_NOSIGNAL).
#pragma once

#include <weft/io/address.hpp>
#include <weft/io/stream_socket.hpp>
#include <weft/runtime/result.hpp>
#include <weft/runtime/task.hpp>

#include <chrono>
#include <string>

namespace weft::io {

class tcp_stream : public stream_socket {
public:
    /// An empty (closed) stream.
    tcp_stream() noexcept = default;

    /// Connects to `addr`. timeout > 0 bounds the whole attempt (timed_out); 0 means no timeout
    /// beyond the kernel's own (about two minutes of SYN retries). connection_refused when nothing
    /// listens.
    static task<result<tcp_stream>>
    connect(address addr, std::chrono::nanoseconds timeout = std::chrono::nanoseconds{0});
    /// Connects to "host:port"; a host that is not numeric is resolved first without blocking a
    /// worker (resolve.hpp), then each address is tried in turn until one connects; the timeout
    /// covers the attempts together (not the name lookup: getaddrinfo cannot be interrupted).
    /// The error is the last attempt's.
    static task<result<tcp_stream>>
    connect(std::string host_port, std::chrono::nanoseconds timeout = std::chrono::nanoseconds{0});

    /// Adopts a connected TCP socket (made non-blocking, close-on-exec). The stream owns it.
    static result<tcp_stream> from_fd(int fd) noexcept;

    /// TCP_NODELAY: send small writes at once instead of coalescing them (Nagle off).
    result<void> set_nodelay(bool on) noexcept;
    /// SO_KEEPALIVE; with idle > 0 also TCP_KEEPIDLE and TCP_KEEPINTVL (seconds, as Go does).
    result<void>
    set_keepalive(bool on, std::chrono::seconds idle = std::chrono::seconds{0}) noexcept;

private:
    friend class tcp_listener;
    explicit tcp_stream(detail::fd_state* s) noexcept
        : stream_socket(s) {}
};

} // namespace weft::io

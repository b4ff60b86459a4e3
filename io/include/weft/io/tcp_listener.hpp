// weft::io::tcp_listener: a listening TCP socket.
//
//     auto listener = weft::io::tcp_listener::bind("127.0.0.1:0").value();   // port 0: ephemeral
//     std::uint16_t port = listener.local_address().value().port();
//     for (;;) {
//         auto conn = co_await listener.accept();          // result<tcp_stream>
//         if (!conn) break;                                 // closed, cancelled, ...
//         weft::go(serve(std::move(*conn)));
//     }
//
// With io_uring, the listener keeps one multishot accept armed on the ring of the worker that
// first accepted (re-armed whenever a completion comes without IORING_CQE_F_MORE); connections that
// arrive while nobody awaits accept() wait in a small queue (up to 64; beyond that the kernel's
// backlog holds them). With epoll, accept is retried on readiness.
//
// Thread-safety: any number of tasks may await accept() at once (first come, first served);
// close() may be called from any task or thread, also while accepts are pending: they complete
// with std::errc::bad_file_descriptor.
// Memory ordering: everything the accepted connection's peer sent is readable from the stream.
// Cancellation: a pending accept honours cancellation and with_timeout (operation_canceled /
// timed_out); a connection accepted concurrently is kept for the next accept(), never lost.
// Lifetime: move-only; the destructor closes. close() stops listening at once (the port can be
// bound again when it returns); the descriptor number itself is released when the ring that holds
// the multishot accept has reaped its end (soon after). Accepted connections are independent.
// Which thread resumes the awaiter: the worker owning the multishot accept's ring (io_uring), or
// the worker whose epoll instance reported readiness (or, for cancellation, whichever thread
// cancelled: the task then goes through the global queue).
// Resource exhaustion: see listen_options::retry_on_resource_exhaustion. Note that io_uring reads
// RLIMIT_NOFILE when an accept is armed: after raising the limit at run time, the multishot accept
// keeps the old one until it is next re-armed (after an EMFILE, at the latest).
#pragma once

#include <weft/io/address.hpp>
#include <weft/io/listen_options.hpp>
#include <weft/io/tcp_stream.hpp>
#include <weft/runtime/result.hpp>
#include <weft/runtime/task.hpp>

#include <weft/io/detail/fd_handle.hpp>
#include <weft/io/detail/op.hpp>

#include <string_view>

namespace weft::io {

class tcp_listener : public detail::fd_handle {
public:
    /// An empty (closed) listener.
    tcp_listener() noexcept = default;

    /// Binds and listens on a numeric "host:port" (address.hpp: "127.0.0.1:0", "[::1]:8080",
    /// ":8080", "localhost:8080"). Synchronous: no I/O wait. invalid_argument for a host name
    /// that needs DNS (resolve it first), address_in_use, permission_denied, ...
    static result<tcp_listener> bind(std::string_view host_port, listen_options opts = {}) noexcept;
    static result<tcp_listener> bind(const address& addr, listen_options opts = {}) noexcept;

    /// Waits for the next connection (see the file comment: backoff, cancellation).
    task<result<tcp_stream>> accept();

    /// The bound address (with the port the kernel picked for port 0).
    result<address> local_address() const noexcept;

    /// Adopts a bound, listening socket.
    static result<tcp_listener> from_fd(int fd) noexcept;

private:
    explicit tcp_listener(detail::fd_state* s) noexcept
        : fd_handle(s) {}
};

} // namespace weft::io

// weft::io::unix_stream: a connected Unix-domain stream socket (AF_UNIX, SOCK_STREAM).
//
//     auto c = co_await weft::io::unix_stream::connect("/run/app.sock");   // result<unix_stream>
//     auto [a, b] = weft::io::unix_stream::pair().value();                 // socketpair
//
// The same members and the same contracts as tcp_stream (read, read_exact, write, write_all,
// shutdown, close, addresses, deadlines; see tcp_stream.hpp and stream_socket.hpp for
// thread-safety, memory ordering, cancellation, lifetime and which thread resumes the awaiter).
// A path starting with '@' names Linux's abstract namespace.
#pragma once

#include <weft/io/address.hpp>
#include <weft/io/stream_socket.hpp>
#include <weft/runtime/result.hpp>
#include <weft/runtime/task.hpp>

#include <string>
#include <utility>

namespace weft::io {

class unix_stream : public stream_socket {
public:
    unix_stream() noexcept = default;

    /// Connects to the socket at `path` (connection_refused when nobody listens, no_such_file...).
    static task<result<unix_stream>> connect(std::string path);
    /// Connects to a Unix address.
    static task<result<unix_stream>> connect(address addr);
    /// Two connected streams (socketpair).
    static result<std::pair<unix_stream, unix_stream>> pair() noexcept;
    /// Adopts a connected Unix stream socket.
    static result<unix_stream> from_fd(int fd) noexcept;

private:
    friend class unix_listener;
    explicit unix_stream(detail::fd_state* s) noexcept
        : stream_socket(s) {}
};

} // namespace weft::io

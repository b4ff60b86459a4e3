// weft::io::unix_listener: a listening Unix-domain stream socket.
//
//     auto l = weft::io::unix_listener::bind("/tmp/app.sock").value();
//     auto conn = co_await l.accept();                     // result<unix_stream>
//
// bind() fails with address_in_use if the path exists (remove a stale socket file yourself);
// closing a listener that created its path removes it again (Go's default). '@name' binds in the
// abstract namespace (nothing on disk). Accept and every contract otherwise as tcp_listener.
#pragma once

#include <weft/io/address.hpp>
#include <weft/io/listen_options.hpp>
#include <weft/io/unix_stream.hpp>
#include <weft/runtime/result.hpp>
#include <weft/runtime/task.hpp>

#include <weft/io/detail/fd_handle.hpp>
#include <weft/io/detail/op.hpp>

#include <string>
#include <string_view>

namespace weft::io {

class unix_listener : public detail::fd_handle {
public:
    unix_listener() noexcept = default;
    unix_listener(unix_listener&& o) noexcept = default;
    unix_listener& operator=(unix_listener&& o) noexcept;
    ~unix_listener();

    /// Binds and listens at `path` (only backlog and retry_on_resource_exhaustion of opts apply).
    static result<unix_listener> bind(std::string_view path, listen_options opts = {}) noexcept;

    /// Waits for the next connection.
    task<result<unix_stream>> accept();

    /// Closes and removes the socket file this listener created. Idempotent.
    void close() noexcept;

    result<address> local_address() const noexcept;

private:
    explicit unix_listener(detail::fd_state* s, std::string path) noexcept
        : fd_handle(s)
        , unlink_path_(std::move(path)) {}
    std::string unlink_path_; // file to remove on close; empty for abstract names
};

} // namespace weft::io

// weft::io::errc: the few I/O conditions std::errc has no name for.
//
//     auto r = co_await conn.read_exact(header);
//     if (!r && r.error() == weft::io::errc::unexpected_eof) { /* peer closed mid-message */ }
//
// Every other I/O failure is the kernel's own errno in std::system_category(), so it compares
// equal to the matching std::errc: ECONNREFUSED == std::errc::connection_refused, ECONNRESET ==
// std::errc::connection_reset, EPIPE == std::errc::broken_pipe, ETIMEDOUT/deadlines ==
// std::errc::timed_out, cancellation == std::errc::operation_canceled, an operation on a closed
// socket or file == std::errc::bad_file_descriptor.
#pragma once

#include <system_error>

namespace weft::io {

/// Conditions std::errc lacks. Category name: "weft.io".
enum class errc {
    unexpected_eof = 1, ///< read_exact: the peer closed (EOF) before the buffer was full;
                        ///< buffered_reader: also EOF in the middle of a line or record
    host_not_found,     ///< resolve: the name does not exist (EAI_NONAME, EAI_NODATA)
    resolve_again,      ///< resolve: temporary failure in name resolution (EAI_AGAIN)
    resolve_failed,     ///< resolve: any other getaddrinfo failure
    message_too_long,   ///< buffered_reader: the size limit was reached before the delimiter
    end_of_stream,      ///< buffered_reader: the stream ended cleanly, before any byte of the
                        ///< next line or record (Go's io.EOF)
};

/// The category of weft::io::errc codes.
const std::error_category& io_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), io_category()};
}

} // namespace weft::io

template <>
struct std::is_error_code_enum<weft::io::errc> : std::true_type {};

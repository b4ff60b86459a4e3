// weft::io::stdin_stream(), stdout_stream(), stderr_stream(): the process's standard streams as
// async_fd objects, usable from tasks without blocking a worker (Tokio's tokio::io::stdin).
//
//     auto in = weft::io::stdin_stream().value();
//     std::array<char, 4096> buf;
//     while (auto n = co_await in.read(buf)) { if (*n == 0) break; ... }   // 0: end of input
//     auto out = weft::io::stdout_stream().value();
//     co_await out.write_all("done\n");
//
// Standard streams are shared with the shell and with other processes, so making them
// non-blocking in place (what async_fd::borrow does) would change them for everyone sharing the
// terminal or the pipe. reopen() avoids that: a pipe, FIFO or terminal is opened again through
// /proc/self/fd, which gives a new open file of the same pipe or terminal whose O_NONBLOCK is
// ours alone; a socket is waited on as it is (recv/send need no O_NONBLOCK); a regular file
// (input redirected from a file) is duplicated and read from where it stands, each read a plain
// file read. Only where reopening is refused is the descriptor duplicated and made non-blocking.
// Each call returns a new object with its own descriptor; the original stays open.
#pragma once

#include <weft/io/async_fd.hpp>
#include <weft/runtime/result.hpp>

namespace weft::io {

/// An async_fd for `fd` without changing how `fd` behaves for anyone else (see above). `write`
/// says which direction a reopened pipe or terminal is opened for.
result<async_fd> reopen(int fd, bool write) noexcept;

inline result<async_fd> stdin_stream() noexcept {
    return reopen(0, false);
}
inline result<async_fd> stdout_stream() noexcept {
    return reopen(1, true);
}
inline result<async_fd> stderr_stream() noexcept {
    return reopen(2, true);
}

} // namespace weft::io

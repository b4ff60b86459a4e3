// weft::io::file: a regular file, read and written at explicit offsets, plus whole-file helpers.
//
//     auto f = (co_await weft::io::file::open("data.bin", O_RDWR | O_CREAT | O_TRUNC)).value();
//     co_await f.write_all_at(bytes, 0);
//     co_await f.fsync();
//     auto n = co_await f.read_at(buf, 0);                 // result<size_t>; 0 at or past the end
//     auto all = co_await weft::io::read_file("config.json");   // result<std::vector<std::byte>>
//
// read_at first tries preadv2(RWF_NOWAIT) on the worker, with either backend: a page-cache hit
// costs one system call and does not suspend the task (cheaper than a ring op; see src/file.cpp).
// Such reads count against the task's cooperative budget (when it is spent the task yields), and
// in a cancelled task they fail at once with operation_canceled, like every other operation. A
// miss, and every other operation, is an io_uring ring op (IORING_OP_OPENAT, READ, WRITE, FSYNC),
// or with epoll runs on the blocking pool (weft::spawn_blocking), so a slow disk never blocks a
// worker. size() and close() are synchronous (fstat, close).
//
// Thread-safety: ops at distinct offsets may run concurrently from several tasks (pread/pwrite
// semantics). close() from any thread cancels ring ops in flight; blocking-pool calls that already
// started finish first (their descriptor stays open until they do).
// Memory ordering: data read happens-before the co_await returns; a write's buffer is no longer
// read once its co_await returns. fsync's durability is the kernel's.
// Cancellation: ring ops are cancelled and awaited; a blocking-pool call cannot be interrupted, its
// await completes when it does (see spawn_blocking.hpp).
// Lifetime: move-only; the destructor closes. The object must outlive the co_await of its ops.
// Which thread resumes the awaiter: the worker whose ring completed the op, or (blocking pool) a
// worker of the runtime.
#pragma once

#include <weft/runtime/result.hpp>
#include <weft/runtime/task.hpp>

#include <weft/io/detail/fd_handle.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fcntl.h>

namespace weft::io {

class file : public detail::fd_handle {
public:
    file() noexcept = default;

    /// open(2): flags such as O_RDONLY, O_WRONLY | O_CREAT | O_TRUNC, O_APPEND; O_CLOEXEC is always
    /// added. `mode` applies when the file is created. A path with an embedded NUL is
    /// invalid_argument (here and in the whole-file helpers), never opened as the part before it.
    static task<result<file>> open(std::string path, int flags = O_RDONLY, unsigned mode = 0644);
    /// Adopts a descriptor (any kind pread/pwrite accept).
    static result<file> from_fd(int fd) noexcept;

    /// Reads up to buf.size() bytes at `offset`; 0 at or past the end of the file.
    task<result<std::size_t>> read_at(std::span<std::byte> buf, std::uint64_t offset);
    /// Writes up to data.size() bytes at `offset` (one write; may be short).
    task<result<std::size_t>> write_at(std::span<const std::byte> data, std::uint64_t offset);
    /// Writes all of data at `offset`.
    task<result<void>> write_all_at(std::span<const std::byte> data, std::uint64_t offset);
    /// fsync(2): data and metadata reach the device.
    task<result<void>> fsync();
    /// fdatasync(2): data (and the metadata needed to read it back) reach the device.
    task<result<void>> fdatasync();
    /// The current size in bytes (fstat).
    result<std::uint64_t> size() const noexcept;

private:
    explicit file(detail::fd_state* s) noexcept
        : fd_handle(s) {}
};

/// The whole contents of the file at `path`.
task<result<std::vector<std::byte>>> read_file(std::string path);
/// The whole contents as a string.
task<result<std::string>> read_file_string(std::string path);
/// Creates or truncates `path` and writes `data` (mode 0644 for a new file). `data` must stay
/// valid until the returned task completes (co_await it in place).
task<result<void>> write_file(std::string path, std::span<const std::byte> data);
task<result<void>> write_file(std::string path, std::string_view data);

} // namespace weft::io

// Which kernel interface drives weft::io: io_uring, or the epoll fallback.
//
//     std::printf("io backend: %s\n", weft::io::to_string(weft::io::current_backend()));
//
// The backend is chosen once per process, the first time a runtime starts a worker:
//   - WEFT_IO_BACKEND=epoll forces the epoll fallback (tests run every io test on both);
//   - WEFT_IO_BACKEND=io_uring (or uring) insists on io_uring: if it cannot be set up, workers get
//     no reactor and every I/O operation fails with std::errc::function_not_supported; if a ring
//     sets up but cannot complete a NOP (io_uring_enter denied), epoll is used and one line on
//     stderr says so;
//   - otherwise (unset or "auto") io_uring is used when a ring sets up and completes a NOP, and
//     epoll when that fails with ENOSYS / EPERM / EACCES (seccomp profiles, the
//     io_uring_disabled sysctl, RHEL 9) or any other error.
// Every worker owns its own ring (or epoll instance). Both backends give the same API and the
// same semantics; io_uring batches submissions and never retries a syscall on EAGAIN.
// Starting the first runtime also raises the soft RLIMIT_NOFILE to the hard limit, as Go does.
//
// Thread-safety: all functions may be called from any thread.
#pragma once

namespace weft::io {

enum class backend {
    none,     ///< no runtime has started a worker yet, or the backend could not be set up
    io_uring, ///< one io_uring per worker (SINGLE_ISSUER | DEFER_TASKRUN where the kernel has it)
    epoll,    ///< one epoll instance per worker; files go through the blocking pool
};

/// The process-wide backend (none before the first runtime has started).
backend current_backend() noexcept;

/// True when this process can set up an io_uring ring and submit to it (probed once, cached).
/// Tests use it to exit 77 (skipped) when io_uring is unavailable and the epoll backend was not
/// asked for.
bool io_uring_available() noexcept;

/// The backend the next runtime will use: WEFT_IO_BACKEND, else io_uring when available.
backend preferred_backend() noexcept;

/// "io_uring", "epoll" or "none".
const char* to_string(backend b) noexcept;

} // namespace weft::io

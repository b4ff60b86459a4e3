// Backend choice and the reactor factory: which kernel interface every worker's reactor uses
// (io_uring or the epoll fallback), the factory the scheduler calls once per worker, and the
// public queries of backend.hpp.
//
// Vocabulary
//   backend   io_uring or epoll; chosen once per process (choose_once), from WEFT_IO_BACKEND
//             (epoll | io_uring | uring | auto) or, by default, io_uring when a ring can be set up.
//   forced    WEFT_IO_BACKEND=io_uring: a worker whose ring cannot be set up gets no reactor
//             (its ops fail with ENOSYS) instead of the epoll fallback. A ring that sets up but
//             fails the probe's NOP (io_uring_enter denied) still means epoll, with one line on
//             stderr.
//
// Invariants
//   1. Every reactor the runtime holds was made by reactor_factory, so it is an io_reactor
//      (current_io_reactor casts on that basis).
//   2. The choice is written once, under g_choose_once, before any reactor is made; readers load
//      it with acquire.
//
// Current approach
//   1. Static initialisation registers reactor_factory with the runtime (set_reactor_factory).
//      op_start (op_protocol.cpp) calls current_io_reactor(), defined here, so a static link that
//      uses any weft::io operation keeps this file and its registration.
//   2. The first factory call (or preferred_backend()) raises RLIMIT_NOFILE to its hard limit and
//      chooses the backend. The io_uring probe (uring_probe) sets up a ring and sends a NOP
//      through it with a bounded wait: some sandboxes allow io_uring_setup and deny
//      io_uring_enter, and such a ring would leave every operation waiting; it fails over to
//      epoll (silently unless io_uring was forced).
//   3. Each worker gets a reactor of that backend; an io_uring ring that fails on one worker
//      falls back to epoll there, unless io_uring was forced.
//
// References
//   Go syscall/rlimit.go (the open-file limit raised at start).

#include <weft/io/backend.hpp>

#include <weft/runtime/detail/scheduler_hooks.hpp>

#include "io_reactor.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string_view>

#include <sys/resource.h>

namespace weft::io::detail {

namespace {

std::once_flag g_choose_once;
std::atomic<int> g_backend{static_cast<int>(backend::none)};
bool g_forced_uring = false; // written once under g_choose_once

void raise_nofile_limit() noexcept {
    // Go does this at start (syscall.rlimit.go): programs serving many connections need more
    // than the soft default of 1024, and select() users are not our concern.
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)::setrlimit(RLIMIT_NOFILE, &rl);
    }
}

backend choose_backend() noexcept {
    const char* env = std::getenv("WEFT_IO_BACKEND");
    std::string_view want = env != nullptr ? env : "";
    if (want == "epoll") {
        return backend::epoll;
    }
    if (want == "io_uring" || want == "uring") {
        g_forced_uring = true;
        bool at_enter = false;
        int err = uring_probe(&at_enter);
        if (err == 0) {
            return backend::io_uring;
        }
        if (at_enter) {
            // A ring that sets up but cannot submit would hang every operation: epoll it is,
            // said once because io_uring was asked for by name.
            std::fprintf(
                stderr,
                "weft: WEFT_IO_BACKEND=%s: io_uring_enter fails (%s); using epoll\n",
                env,
                std::strerror(err));
            return backend::epoll;
        }
        return backend::none;
    }
    if (!want.empty() && want != "auto") {
        std::fprintf(
            stderr, "weft: ignoring WEFT_IO_BACKEND=\"%s\" (want epoll, io_uring or auto)\n", env);
    }
    return uring_probe() == 0 ? backend::io_uring : backend::epoll;
}

void choose_once() noexcept {
    std::call_once(g_choose_once, [] {
        raise_nofile_limit();
        g_backend.store(static_cast<int>(choose_backend()), std::memory_order_release);
    });
}

std::unique_ptr<weft::detail::reactor> reactor_factory(std::size_t index) {
    choose_once();
    auto b = static_cast<backend>(g_backend.load(std::memory_order_acquire));
    std::unique_ptr<io_reactor> r;
    if (b == backend::io_uring) {
        r = make_uring_reactor(index);
        if (r == nullptr && !g_forced_uring) {
            std::fprintf(
                stderr, "weft: io_uring setup failed on worker %zu; using epoll there\n", index);
            r = make_epoll_reactor(index);
        }
    } else if (b == backend::epoll) {
        r = make_epoll_reactor(index);
    }
    return r;
}

// Registered during static initialisation (this file is kept by every static link that starts an
// op: see the file comment).
const bool g_registered = [] {
    weft::detail::set_reactor_factory(&reactor_factory);
    return true;
}();

} // namespace

io_reactor::io_reactor() noexcept
    : sched(weft::detail::current_scheduler()) {
}

io_reactor* current_io_reactor() noexcept {
    // Every reactor the runtime holds was made by reactor_factory above, so it is an io_reactor.
    return static_cast<io_reactor*>(weft::detail::current_reactor());
}

} // namespace weft::io::detail

namespace weft::io {

backend current_backend() noexcept {
    return static_cast<backend>(detail::g_backend.load(std::memory_order_acquire));
}

backend preferred_backend() noexcept {
    detail::choose_once();
    return current_backend();
}

bool io_uring_available() noexcept {
    static const bool ok = detail::uring_probe() == 0;
    return ok;
}

const char* to_string(backend b) noexcept {
    switch (b) {
    case backend::io_uring:
        return "io_uring";
    case backend::epoll:
        return "epoll";
    case backend::none:
        break;
    }
    return "none";
}

} // namespace weft::io

// Private: the signal masks of the threads the runtime runs on.
//
// Workers and blocking-pool threads block every asynchronous signal; a thread waiting in
// block_on blocks them while it waits. So a signal sent to the process (SIGINT, SIGTERM,
// SIGUSR1, ...) is taken by a thread that is not inside the runtime: the program's own threads
// when they run, else the runtime's monitor thread (sysmon), which never blocks them. Three
// reasons:
//   - a default action (SIGINT kills the process) is the same whichever thread takes it, so
//     nothing changes for a program that installs nothing;
//   - a handler (weft::io::signal_set's among them) then never interrupts a worker in the middle
//     of a poll, and io_uring_enter/epoll_wait on the workers never see EINTR;
//   - under ThreadSanitizer a handler runs only when its thread next calls an intercepted
//     function, and a parked worker or a block_on caller sits in a raw futex or io_uring_enter
//     system call that TSan does not intercept: the signal would wait for ever (the example
//     servers ignored SIGTERM under TSan). Sysmon wakes every 10 ms in a condition-variable wait,
//     which TSan intercepts.
// SIGPIPE is among the blocked ones: a write to a pipe or socket whose reader is gone fails with
// EPIPE instead of killing the process (Go ignores SIGPIPE for the same reason); the signal such a
// write raises stays pending on that thread and is never delivered. The synchronous faults
// (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS) and SIGABRT stay unblocked: they are sent to
// the thread that caused them, and must reach it.
#pragma once

#include <csignal>

#include <pthread.h>

namespace weft::detail {

/// The asynchronous signals (see the file comment).
inline sigset_t async_signals() noexcept {
    sigset_t set;
    sigfillset(&set);
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT}) {
        sigdelset(&set, sig);
    }
    return set;
}

/// For the runtime's own threads, at their start.
inline void block_async_signals_in_this_thread() noexcept {
    const sigset_t set = async_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

/// Blocks the asynchronous signals in this thread for its lifetime, then restores the mask (a
/// block_on caller while it waits).
class async_signals_blocked {
public:
    async_signals_blocked() noexcept {
        const sigset_t set = async_signals();
        pthread_sigmask(SIG_BLOCK, &set, &saved_);
    }
    ~async_signals_blocked() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
    async_signals_blocked(const async_signals_blocked&) = delete;
    async_signals_blocked& operator=(const async_signals_blocked&) = delete;

private:
    sigset_t saved_;
};

} // namespace weft::detail

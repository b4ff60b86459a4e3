// weft::io::signal_set: await SIGINT, SIGTERM, SIGHUP and the like in a task (Go's
// signal.Notify, Tokio's signal::ctrl_c), and the graceful-shutdown pattern built on it.
//
//     auto sigs = weft::io::signal_set::open({SIGINT, SIGTERM}).value();
//     auto sig = co_await sigs.next();               // result<int>: the signal's number
//
//     // Graceful shutdown (examples/echo_server.cpp does exactly this):
//     //   1. wait for SIGINT or SIGTERM;  2. stop accepting (close the listener);
//     //   3. let the connections in flight finish within a grace period;  4. cancel the rest.
//     weft::scope conns;
//     auto acceptor = weft::spawn(accept_loop, std::ref(listener), std::ref(conns));
//     (void)co_await sigs.next();
//     listener.close();
//     co_await acceptor;
//     co_await weft::io::drain(conns, 5s);           // join, or cancel after 5 s and join
//
// How it works: while a signal_set listens for a signal, weft's handler is installed for it
// (SA_RESTART, so other threads' system calls are not interrupted). The handler only writes the
// signal's number into a pipe of every signal_set listening for it; next() reads that pipe through
// the worker's reactor, so no thread is dedicated to signals and no worker takes one as a
// disposition. When the last signal_set listening for a signal closes, the disposition it had
// before is restored (SIGINT kills the process again).
//
// Rules: do not block these signals (a blocked signal never reaches a handler; weft's workers do
// not block them) and do not install your own handler for them while a signal_set listens.
// Signals that arrive before next() is called are kept (up to 64 Ki pending per set), in the
// order the handler ran; like POSIX, the kernel may merge a burst of one standard signal into
// one. weft's own threads block asynchronous signals (the monitor thread or the program's own
// threads take them), so to signal the process from a task use kill(getpid(), sig): raise() from
// a task would leave the signal pending on that worker. SIGKILL and SIGSTOP cannot be caught
// (open() fails with invalid_argument), nor can the synchronous faults SIGSEGV, SIGBUS, SIGFPE,
// SIGILL (refused likewise).
//
// Thread-safety: open() and close() from any thread; one task at a time awaits next() on one set
// (several sets for one signal each get every signal). Cancellation and with_timeout apply to
// next() as to any I/O. Lifetime: move-only; the destructor closes. close() ends a pending next()
// with bad_file_descriptor.
#pragma once

#include <weft/io/async_fd.hpp>
#include <weft/runtime/result.hpp>
#include <weft/runtime/scope.hpp>
#include <weft/runtime/task.hpp>

#include <chrono>
#include <cstdint>
#include <initializer_list>

namespace weft::io {

class signal_set {
public:
    /// An empty set (next() fails with bad_file_descriptor).
    signal_set() noexcept = default;

    /// Starts listening for `signals` (their handler is installed now: from here on these
    /// signals no longer have their default effect). invalid_argument for a signal that cannot
    /// be caught or a number out of range; too_many_files_open when out of descriptors.
    static result<signal_set> open(std::initializer_list<int> signals) noexcept;

    signal_set(signal_set&& o) noexcept;
    signal_set& operator=(signal_set&& o) noexcept;
    signal_set(const signal_set&) = delete;
    signal_set& operator=(const signal_set&) = delete;
    ~signal_set() { close(); }

    /// Waits for the next signal of the set; yields its number.
    task<result<int>> next();

    /// Stops listening; the previous disposition of each signal comes back once no set listens.
    void close() noexcept;
    bool is_open() const noexcept { return slot_ >= 0; }

private:
    int slot_ = -1; // index in the handler's table (signal.cpp), -1 when closed
    std::uint64_t mask_ = 0;
    async_fd in_; // the read end of this set's pipe
};

/// The grace period of a graceful shutdown: waits for every child of `children` to finish; if
/// they have not after `grace`, cancels them and waits for them to end (a cancelled child ends at
/// its next await). True when they all finished within the grace period.
task<bool> drain(scope& children, std::chrono::nanoseconds grace);

} // namespace weft::io

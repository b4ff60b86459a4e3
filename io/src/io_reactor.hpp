// Private: io_reactor, the base class of both reactors (uring_reactor.cpp, epoll_reactor.cpp):
// what the op protocol (op_protocol.cpp) asks of a backend, on top of the runtime's reactor
// interface (poll / park / unpark / pending); and the factories that make one (backend.cpp
// chooses which).
#pragma once

#include <weft/io/backend.hpp>

#include <weft/io/detail/op.hpp>
#include <weft/runtime/detail/reactor.hpp>
#include <weft/runtime/detail/scheduler_hooks.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace weft::io::detail {

struct fd_state;

class io_reactor : public weft::detail::reactor {
public:
    io_reactor() noexcept;
    virtual backend kind() const noexcept = 0;

    /// Owner thread, from op_start: the op is linked on its descriptor, its deadline resolved, its
    /// hook and timer not yet armed. Returns true when the task must suspend.
    virtual bool start(op& o) noexcept = 0;

    /// Any thread; `o` is alive for the duration (op_protocol.cpp, invariant 1).
    /// Records `why` (first one wins) and gets the op completed soon.
    virtual void cancel(op& o, std::uint32_t why, bool from_timer) noexcept = 0;

    /// Any thread, with o.st->lock held, for an op that is not on a wait queue: record `why` and,
    /// for a ring op, get it cancelled (without taking st's lock).
    virtual void cancel_locked(op& o, std::uint32_t why) noexcept = 0;

    /// Epoll only: the descriptor's registration. Default: nothing to do.
    virtual void forget(fd_state* st) noexcept { (void)st; }

    /// The runtime this reactor's worker belongs to (resumes woken tasks from foreign threads).
    weft::detail::scheduler* const sched;

    /// Ops this reactor started that wait on a descriptor's queue (epoll ops, io_uring accept
    /// waiters). Any thread, under the descriptor's lock; read by pending().
    std::atomic<std::size_t> queued{0};
    /// Ops waiting on descriptors registered with this (epoll) instance: its poll() has
    /// readiness to collect. Same rules as `queued`.
    std::atomic<std::size_t> home_waiters{0};
};

/// The calling worker's io reactor, or nullptr.
io_reactor* current_io_reactor() noexcept;

/// The reactor factories (uring_reactor.cpp / epoll_reactor.cpp). Null on failure.
std::unique_ptr<io_reactor> make_uring_reactor(std::size_t index) noexcept;
std::unique_ptr<io_reactor> make_epoll_reactor(std::size_t index) noexcept;
/// Probes io_uring: 0 if a ring can be set up and completes a NOP through io_uring_enter within a
/// bounded wait; else the errno of the step that failed, and *at_enter (when given) says whether
/// that was the io_uring_enter / NOP step (the ring could be set up but not used).
int uring_probe(bool* at_enter = nullptr) noexcept;

/// Test hook (tests/io/uring_fault_test.cpp): while `err` != 0, every io_uring_enter that the
/// reactors and uring_probe would make fails with -err instead, as under a seccomp filter that
/// allows io_uring_setup and denies io_uring_enter. Costs the submit path one relaxed load.
void uring_fail_enter_for_testing(int err) noexcept;

} // namespace weft::io::detail

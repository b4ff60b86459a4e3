// The seam between the scheduler and an I/O poller (weft::io's io_uring or epoll reactor).
//
// Each worker owns at most one reactor, created on the worker's own thread before the worker
// takes any task (io_uring rings are single-issuer). The scheduler drives it:
//   - poll()   at scheduling points: every 61 ticks, and whenever the worker runs out of local
//              work, before it tries to steal. Submits what is queued, reaps what completed, makes
//              the woken tasks runnable with schedule_wakeup() (they land on this worker's deque).
//   - park()   instead of the futex parker when the worker has nothing to do: sleep in the
//              poller until a completion, an unpark() or the nearest timer deadline.
//   - unpark() from any thread: make park() return, or the next park() return at once.
//   - pending() operations in flight: the deadlock detector and shutdown count them as possible
//              wakers. An op should stay counted until its task has been queued
//              (schedule_wakeup), so that a check reading pending() and then the queues sees it.
// weft::io installs its factory with set_reactor_factory() during static initialisation; runtimes
// created afterwards give every worker a reactor. Without it, workers park on a futex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace weft::detail {

class reactor {
public:
    virtual ~reactor() = default;
    /// Non-blocking: submit queued operations, reap completions. Returns tasks made runnable.
    virtual std::size_t poll() noexcept = 0;
    /// Blocks until a completion, unpark(), or `deadline_ns` (steady clock; < 0: no deadline).
    virtual void park(std::int64_t deadline_ns) noexcept = 0;
    /// Any thread. Never lost: an unpark before park() makes that park() return at once.
    virtual void unpark() noexcept = 0;
    /// Operations submitted and not yet completed.
    virtual std::size_t pending() const noexcept = 0;
};

/// Creates the reactor of worker `index`; may return nullptr (the worker then parks on a futex).
using reactor_factory = std::unique_ptr<reactor> (*)(std::size_t index);

/// Installs the factory used by runtimes created from now on (weft::io does this).
void set_reactor_factory(reactor_factory f) noexcept;

/// The calling worker's reactor, or nullptr (not a worker, or no reactor).
reactor* current_reactor() noexcept;

} // namespace weft::detail

// weft::sync::barrier: a reusable rendezvous of a fixed number of tasks (C++20 std::barrier,
// Tokio's Barrier), without blocking threads.
//
//     weft::sync::barrier step(n);
//     for (int round = 0; round < rounds; ++round) {
//         compute(round);
//         auto r = co_await step.arrive_and_wait();   // result<bool>
//         if (!r) co_return r.error();
//         if (*r) publish(round);                     // exactly one task per phase is the leader
//     }
//
// Each phase completes when `count` tasks have arrived: all of them are released together and the
// barrier starts the next phase. The last task to arrive (the leader, *r == true) is not suspended
// at all. arrive_and_drop() arrives and leaves for good: later phases wait for one task fewer.
// Thread-safety: every member may be called concurrently from any task (arrive_and_drop() also
// from plain threads).
// Memory ordering: everything the tasks did before arriving happens-before every one of them
// returns from that phase's arrive_and_wait().
// Cancellation: a task cancelled while it waits withdraws its arrival (the phase then needs one
// more arrival) and completes with operation_canceled / timed_out; a task released by its phase at
// that same moment is released (the wait succeeds).
// Which thread resumes the awaiter: the worker of the leader of the phase.
// Misuse aborts with a message: a count of zero or less, more drops than participants, destroying
// a barrier while tasks wait on it.
#pragma once

#include <weft/runtime/result.hpp>

#include <weft/runtime/detail/nodiscard.hpp>
#include <weft/runtime/detail/spin_lock.hpp>
#include <weft/sync/detail/waiter.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>

namespace weft::sync {

namespace detail {
class barrier_awaiter;
class barrier_awaitable;
} // namespace detail

/// A reusable barrier for `count` tasks; see the file comment.
class barrier {
public:
    explicit barrier(std::ptrdiff_t count) noexcept;
    ~barrier();
    barrier(const barrier&) = delete;
    barrier& operator=(const barrier&) = delete;

    /// `co_await b.arrive_and_wait()`: result<bool>, true for the phase's leader.
    detail::barrier_awaitable arrive_and_wait() noexcept;
    /// Arrives at the current phase and leaves the barrier: later phases expect one task fewer.
    void arrive_and_drop() noexcept;

private:
    friend class detail::barrier_awaiter;

    /// Under lock_: completes the phase if everyone has arrived; collects the waiters.
    bool complete_phase_locked(detail::wake_list& wl) noexcept;

    weft::detail::spin_lock lock_;
    detail::waiter_list waiters_; // guarded by lock_: the tasks waiting in the current phase
    std::ptrdiff_t expected_;     // guarded by lock_: participants per phase
    std::ptrdiff_t arrived_ = 0;  // guarded by lock_: arrivals in the current phase
};

namespace detail {

/// co_await b.arrive_and_wait().
class WEFT_NODISCARD("an arrival does nothing unless co_awaited") barrier_awaiter
    : private task_waiter {
public:
    explicit barrier_awaiter(barrier* b) noexcept
        : task_waiter(&on_cancel)
        , b_(b) {}
    barrier_awaiter(const barrier_awaiter&) = delete;
    barrier_awaiter& operator=(const barrier_awaiter&) = delete;

    bool await_ready() const noexcept { return false; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) noexcept {
        bind(h);
        return suspend();
    }
    /// true for the leader of the phase, false for the others; or the cancellation error.
    [[nodiscard]] result<bool> await_resume() noexcept {
        finish();
        if (state == wait_state::done) {
            return leader_;
        }
        return cancel_error();
    }

private:
    bool suspend() noexcept;
    static void on_cancel(weft::detail::cancel_hook* h) noexcept;
    barrier* b_;
    bool leader_ = false;
};

class WEFT_NODISCARD("an arrival does nothing unless co_awaited") barrier_awaitable {
public:
    explicit barrier_awaitable(barrier* b) noexcept
        : b_(b) {}
    barrier_awaiter operator co_await() && noexcept { return barrier_awaiter(b_); }

private:
    barrier* b_;
};

} // namespace detail

inline detail::barrier_awaitable barrier::arrive_and_wait() noexcept {
    return detail::barrier_awaitable(this);
}

} // namespace weft::sync

// weft::sync::latch: a single-use countdown for weft tasks (C++20 std::latch, without blocking
// the thread).
//
//     weft::sync::latch started(n);
//     for (int i = 0; i < n; ++i) weft::go(worker(started));   // each calls started.count_down()
//     co_await started.wait();                                 // all n have started
//
// wait() completes once the counter reaches zero; it stays at zero for ever (single use: see
// wait_group or barrier for reuse).
// Thread-safety: every member may be called concurrently from any task, and count_down(),
// try_wait() and blocking_wait() also from plain threads.
// Memory ordering: every count_down() happens-before every wait() that completes.
// Cancellation: a wait that has to wait completes with operation_canceled / timed_out when its
// task is cancelled. arrive_and_wait() counts down at once, whatever happens to its wait.
// Which thread resumes the awaiter: the worker of the task whose count_down reached zero (or the
// runtime's global queue if a plain thread did).
// Misuse aborts with a message: counting down below zero, a negative initial count, destroying a
// latch while tasks wait on it.
#pragma once

#include <weft/sync/detail/notify_list.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace weft::sync {

/// A single-use countdown; see the file comment.
class latch {
public:
    explicit latch(std::ptrdiff_t count) noexcept;
    ~latch();
    latch(const latch&) = delete;
    latch& operator=(const latch&) = delete;

    /// Decrements the counter by n (n >= 0); at zero every waiter is released. Aborts if the
    /// counter would go below zero.
    void count_down(std::ptrdiff_t n = 1) noexcept;
    /// True once the counter is zero.
    bool try_wait() const noexcept { return ready(); }
    /// `co_await l.wait()`: result<void>; completes once the counter is zero.
    detail::notify_awaitable<latch> wait() noexcept {
        return detail::notify_awaitable<latch>(this);
    }
    /// count_down(n), then wait(): `co_await l.arrive_and_wait()`.
    detail::notify_awaitable<latch> arrive_and_wait(std::ptrdiff_t n = 1) noexcept {
        count_down(n);
        return wait();
    }
    /// From a plain thread outside the runtime: blocks the thread until the counter is zero (never
    /// call it on a weft worker: it aborts).
    void blocking_wait() noexcept { detail::notify_block_on(this); }

private:
    friend class detail::notify_awaiter<latch>;
    template <class Prim>
    friend void detail::notify_block_on(Prim*) noexcept;

    // acquire: pairs with count_down's RMW.
    bool ready() const noexcept { return ready_in(list_.word.load(std::memory_order_acquire)); }
    // The count lives in list_.word above the waiting bit.
    static bool ready_in(std::uint64_t word) noexcept { return (word >> 1) == 0; }
    detail::notify_list& waitlist() noexcept { return list_; }

    detail::notify_list list_; // word: count << 1 | waiting bit, decremented by count_down
};

} // namespace weft::sync

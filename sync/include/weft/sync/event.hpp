// weft::sync::event: a manual-reset event for weft tasks — a flag that tasks can wait for.
//
//     weft::sync::event ready;
//     weft::go(loader(ready));                 // calls ready.set() when done
//     if (auto r = co_await ready.wait(); !r) co_return r.error();
//
// wait() completes once the event is set (at once if it already is). set() releases every
// waiter and leaves the event set until reset(); reset() makes later waits wait again (tasks
// already released stay released).
// Thread-safety: every member may be called concurrently from any task, and set(), reset(),
// is_set() and blocking_wait() also from plain threads.
// Memory ordering: set() happens-before every wait() that completes because of it.
// Cancellation: a wait that has to wait completes with operation_canceled / timed_out when its
// task is cancelled; the event is unaffected.
// Which thread resumes the awaiter: the worker of the task that called set() (or the runtime's
// global queue if a plain thread did).
// Misuse aborts with a message: destroying an event while tasks wait on it.
#pragma once

#include <weft/sync/detail/notify_list.hpp>

#include <atomic>
#include <cstdint>

namespace weft::sync {

/// A manual-reset event; see the file comment.
class event {
public:
    explicit event(bool initially_set = false) noexcept {
        list_.word.store(initially_set ? set_bit : 0, std::memory_order_relaxed);
    }
    ~event();
    event(const event&) = delete;
    event& operator=(const event&) = delete;

    /// Sets the event and releases every waiter.
    void set() noexcept;
    /// Clears the event; later waits wait for the next set().
    void reset() noexcept { list_.word.fetch_and(~set_bit, std::memory_order_relaxed); }
    /// True while set (a snapshot).
    bool is_set() const noexcept { return ready_in(list_.word.load(std::memory_order_acquire)); }

    /// `co_await ev.wait()`: result<void>; completes once the event is set.
    detail::notify_awaitable<event> wait() noexcept {
        return detail::notify_awaitable<event>(this);
    }
    /// From a plain thread outside the runtime: blocks the thread until the event is set (never
    /// call it on a weft worker: it aborts). Tasks may wait for a plain thread's set(): see
    /// runtime_options::detect_deadlock.
    void blocking_wait() noexcept { detail::notify_block_on(this); }

private:
    friend class detail::notify_awaiter<event>;
    template <class Prim>
    friend void detail::notify_block_on(Prim*) noexcept;

    // The flag lives in list_.word above the waiting bit.
    static constexpr std::uint64_t set_bit = 2;
    static bool ready_in(std::uint64_t word) noexcept { return (word & set_bit) != 0; }
    detail::notify_list& waitlist() noexcept { return list_; }

    detail::notify_list list_; // word: set_bit | waiting bit; set_bit written by set()/reset()
};

} // namespace weft::sync

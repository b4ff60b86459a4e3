// weft::sync::wait_group: wait for a collection of tasks to finish (Go's sync.WaitGroup).
//
//     weft::sync::wait_group wg;
//     for (auto& job : jobs) {
//         wg.add(1);
//         weft::go(run(job, wg));              // calls wg.done() when finished
//     }
//     co_await wg.wait();                      // every job has called done()
//
// add(n) adds n (which may be negative) to the counter, done() subtracts one, and wait()
// completes once the counter is zero. When it reaches zero every waiter is released. Unlike a
// latch it may be reused: after a wait has returned, add() starts a new round (Go's rule: add()
// calls that start a round must happen before the wait() that waits for it).
// Thread-safety: every member may be called concurrently from any task, and add(), done(), count()
// and blocking_wait() also from plain threads.
// Memory ordering: every done() (and add()) happens-before the wait() that completes after the
// counter reached zero.
// Cancellation: a wait that has to wait completes with operation_canceled / timed_out when its
// task is cancelled; the counter is unaffected.
// Which thread resumes the awaiter: the worker of the task whose done() brought the counter to
// zero (or the runtime's global queue if a plain thread did).
// Misuse aborts with a message, as Go panics: the counter going negative ("sync: negative
// WaitGroup counter"), destroying a wait_group while tasks wait on it.
#pragma once

#include <weft/sync/detail/notify_list.hpp>

#include <cstdint>

namespace weft::sync {

/// Go's sync.WaitGroup for tasks; see the file comment.
class wait_group {
public:
    wait_group() noexcept = default;
    ~wait_group();
    wait_group(const wait_group&) = delete;
    wait_group& operator=(const wait_group&) = delete;

    /// Adds `delta` to the counter; at zero every waiter is released. Aborts if the counter
    /// would go negative.
    void add(std::int64_t delta = 1) noexcept;
    /// add(-1).
    void done() noexcept { add(-1); }
    /// The counter (a snapshot).
    std::int64_t count() const noexcept {
        return count_in(list_.word.load(std::memory_order_relaxed));
    }
    /// `co_await wg.wait()`: result<void>; completes once the counter is zero.
    detail::notify_awaitable<wait_group> wait() noexcept {
        return detail::notify_awaitable<wait_group>(this);
    }
    /// From a plain thread outside the runtime: blocks the thread until the counter is zero (never
    /// call it on a weft worker: it aborts). Tasks may wait for a plain thread's done(): see
    /// runtime_options::detect_deadlock.
    void blocking_wait() noexcept { detail::notify_block_on(this); }

private:
    friend class detail::notify_awaiter<wait_group>;
    template <class Prim>
    friend void detail::notify_block_on(Prim*) noexcept;

    // The counter lives in list_.word above the waiting bit (two's complement, shifted).
    static std::int64_t count_in(std::uint64_t word) noexcept {
        return static_cast<std::int64_t>(word) >> 1;
    }
    static bool ready_in(std::uint64_t word) noexcept { return count_in(word) == 0; }
    detail::notify_list& waitlist() noexcept { return list_; }

    detail::notify_list list_; // word: counter << 1 | waiting bit, changed by add() of any thread
};

} // namespace weft::sync

// weft::sync::semaphore: a counting semaphore for weft tasks (Go's x/sync/semaphore.Weighted,
// Tokio's Semaphore) that suspends the task, never the worker thread.
//
//     weft::sync::semaphore slots(8);                 // at most 8 fetches at a time
//     if (auto r = co_await slots.acquire(); !r) co_return r.error();
//     auto body = co_await fetch(url);
//     slots.release();
//
// acquire(n) takes n permits, waiting until they are available; release(n) gives n back (any
// task or thread may release, and may release more than it acquired: the count is a count).
// Fairness: strictly first come, first served. While anyone waits, a new acquire queues behind
// them even if enough permits are free, and release() hands permits straight to the waiters at
// the head of the queue, in order, as long as there are enough for the next one. So a large
// acquire(n) is never starved by a stream of small ones.
//
// Thread-safety: every member may be called concurrently from any task; release(),
// try_acquire() and blocking_acquire() also from plain threads.
// Memory ordering: a release() happens-before an acquire() that gets (some of) its permits.
// Cancellation: an acquire that has to wait completes with operation_canceled / timed_out when its
// task is cancelled, holding no permits; permits handed to it at that same moment are kept (the
// acquire succeeds), never lost; its place in the queue is given up, and the waiters behind it
// get the permits if they now suffice.
// Which thread resumes the awaiter: the worker of the task that released the permits (or the
// runtime's global queue if a plain thread did); an acquire that succeeds at once does not
// suspend (unless the task's cooperative budget is spent: it then yields).
#pragma once

#include <weft/runtime/result.hpp>

#include <weft/runtime/detail/assert.hpp>
#include <weft/runtime/detail/nodiscard.hpp>
#include <weft/sync/detail/waiter.hpp>

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>

namespace weft::sync {

namespace detail {
struct sem_waiter;
class acquire_awaiter;
class acquire_awaitable;
} // namespace detail

/// A counting semaphore; see the file comment.
class semaphore {
public:
    /// The largest number of permits a semaphore can hold.
    static constexpr std::uint64_t max_permits = (std::uint64_t{1} << 62) - 1;

    explicit semaphore(std::uint64_t permits) noexcept;
    ~semaphore();
    semaphore(const semaphore&) = delete;
    semaphore& operator=(const semaphore&) = delete;

    /// `co_await sem.acquire(n)`: result<void>; waits until n permits can be taken (in FIFO
    /// order). n must be at least 1 and at most max_permits (aborts otherwise).
    detail::acquire_awaitable acquire(std::uint64_t n = 1) noexcept;
    /// Takes n permits if they are free and nobody waits; never waits.
    bool try_acquire(std::uint64_t n = 1) noexcept;
    /// Gives n permits back (n >= 1); wakes the waiters they now satisfy. Aborts if the count
    /// would exceed max_permits.
    void release(std::uint64_t n = 1) noexcept;
    /// From a plain thread outside the runtime: acquire(n), blocking the thread while it waits.
    /// Never call it on a weft worker (aborts). Tasks may wait for permits only a plain thread
    /// will release: see runtime_options::detect_deadlock.
    void blocking_acquire(std::uint64_t n = 1) noexcept;
    /// Permits free right now (a snapshot).
    std::uint64_t available() const noexcept {
        return state_.load(std::memory_order_relaxed) >> shift;
    }

private:
    friend class detail::acquire_awaiter;
    friend struct detail::sem_waiter;

    static void check_n(std::uint64_t n) noexcept {
        WEFT_ASSERT(n >= 1 && n <= max_permits, "weft::sync::semaphore: permit count out of range");
    }
    bool try_take(std::uint64_t n) noexcept;
    enum class enqueued : std::uint8_t { acquired, queued, cancelled };
    enqueued enqueue_or_take(detail::sem_waiter& w, weft::detail::blocked_on kind) noexcept;
    void grant_locked(detail::wake_list& wl) noexcept;
    /// Takes the queue lock (locked_bit, spinning as a spin_lock does).
    void lock_queue() noexcept;
    /// Releases the queue lock and, if the queue is empty, clears waiting_bit, in one RMW: the
    /// last touch of the semaphore (see semaphore.cpp, invariant 5).
    void unlock_queue() noexcept {
        const std::uint64_t clear = locked_bit | (queue_.empty() ? waiting_bit : 0);
        // release: pairs with the next lock_queue() and with the fast paths' acquire CAS.
        state_.fetch_and(~clear, std::memory_order_release);
    }

    static constexpr std::uint64_t waiting_bit = 1; // the queue is not empty
    static constexpr std::uint64_t locked_bit = 2;  // the queue lock is held
    static constexpr unsigned shift = 2;            // permits live above the two bits

    // permits << 2 | locked_bit | waiting_bit. Changed by CAS on the fast paths only while
    // waiting_bit is clear; while it is set, only by the holder of locked_bit (fast paths see
    // the bit and take the lock). locked_bit guards queue_ and the waiters' states.
    std::atomic<std::uint64_t> state_;
    detail::waiter_list queue_; // sem_waiters, FIFO
};

namespace detail {

/// A task (or plain thread) waiting for `want` permits.
struct sem_waiter : task_waiter {
    explicit sem_waiter(semaphore* s, std::uint64_t n) noexcept
        : task_waiter(&on_cancel)
        , sem(s)
        , want(n) {}
    static void on_cancel(weft::detail::cancel_hook* h) noexcept;

    semaphore* sem;
    std::uint64_t want;
};

/// co_await sem.acquire(n): see the file comment.
class WEFT_NODISCARD("an acquire does nothing unless co_awaited") acquire_awaiter
    : private sem_waiter {
public:
    acquire_awaiter(semaphore* s, std::uint64_t n, weft::detail::blocked_on kind) noexcept
        : sem_waiter(s, n)
        , kind_(kind) {}
    acquire_awaiter(const acquire_awaiter&) = delete;
    acquire_awaiter& operator=(const acquire_awaiter&) = delete;

    bool await_ready() noexcept;
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) noexcept {
        if (state == wait_state::done) { // acquired in await_ready; the budget is spent
            weft::detail::yield_to_back(h);
            return true;
        }
        bind(h);
        return suspend();
    }
    /// Success (the permits are held), or operation_canceled / timed_out (none are).
    [[nodiscard]] result<void> await_resume() noexcept {
        finish();
        return state == wait_state::done ? result<void>{} : result<void>{cancel_error()};
    }

private:
    bool suspend() noexcept;
    weft::detail::blocked_on kind_;
};

/// What sem.acquire(n) returns: co_await it (once).
class WEFT_NODISCARD("an acquire does nothing unless co_awaited") acquire_awaitable {
public:
    acquire_awaitable(semaphore* s, std::uint64_t n, weft::detail::blocked_on kind) noexcept
        : s_(s)
        , n_(n)
        , kind_(kind) {}
    acquire_awaiter operator co_await() && noexcept { return acquire_awaiter(s_, n_, kind_); }

private:
    semaphore* s_;
    std::uint64_t n_;
    weft::detail::blocked_on kind_;
};

} // namespace detail

inline detail::acquire_awaitable semaphore::acquire(std::uint64_t n) noexcept {
    check_n(n);
    return detail::acquire_awaitable(this, n, weft::detail::blocked_on::sync_other);
}

} // namespace weft::sync

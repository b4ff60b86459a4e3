// weft::sync::mutex: a mutual-exclusion lock for weft tasks (Go's sync.Mutex) that suspends the
// task, never the worker thread.
//
//     weft::sync::mutex m;
//     auto g = co_await m.lock();       // result<unique_guard<mutex>>
//     if (!g) co_return g.error();      // cancelled / timed out while waiting
//     ++counter;                        // unlocked when g is destroyed
//
// Fairness (Go's normal and starvation modes, sync/mutex.go): waiters queue in FIFO order. An
// unlock wakes the first waiter, which then competes with tasks arriving at that moment (a
// running task usually wins: no task switch per lock, no lock convoy). A woken waiter that loses
// goes back to the head of the queue, and once any waiter has waited more than 1 ms the mutex
// hands ownership directly to the head of the queue at every unlock, first come first served,
// until the queue drains or the head waited less than that. So no waiter starves. A locker
// spins briefly before it queues (a few tries, tens of nanoseconds, only with more than one
// worker: enough for a critical section of a few instructions running on another core).
//
// Thread-safety: every member may be called concurrently from any task; blocking_lock() and
// unlock() also from plain threads. Like Go's, a weft mutex is not tied to a task: it may be
// unlocked by a task (or thread) other than the one that locked it.
// Memory ordering: an unlock happens-before the lock that next acquires the mutex.
// Cancellation: a lock that has to wait completes with operation_canceled / timed_out when its
// task is cancelled (the result holds the error, and the mutex is not held); a lock that can be
// taken at once is taken even by a cancelled task. A lock handed over at the moment its waiter is
// cancelled is kept (the lock succeeds), never lost.
// Which thread resumes the awaiter: a lock taken at once continues without suspending (unless the
// task's cooperative budget is spent: it yields first); a waiter is resumed on the worker of the
// task that unlocked (or the runtime's global queue if a plain thread unlocked).
// Misuse aborts with a message: unlocking an unlocked mutex, destroying a locked mutex or one
// that tasks wait on.
#pragma once

#include <weft/runtime/result.hpp>
#include <weft/runtime/task.hpp>
#include <weft/sync/guard.hpp>

#include <weft/runtime/detail/assert.hpp>
#include <weft/runtime/detail/nodiscard.hpp>
#include <weft/runtime/detail/spin_lock.hpp>
#include <weft/sync/detail/waiter.hpp>

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <optional>

namespace weft::sync {

class condition_variable;

namespace detail {
struct mutex_wait;
struct mutex_waiter;
class lock_awaiter;
class lock_awaitable;
} // namespace detail

/// A mutual-exclusion lock for tasks; see the file comment.
class mutex {
public:
    mutex() noexcept = default;
    ~mutex();
    mutex(const mutex&) = delete;
    mutex& operator=(const mutex&) = delete;

    /// `co_await m.lock()`: result<unique_guard<mutex>>, the lock held until the guard goes; or
    /// operation_canceled / timed_out (not held).
    detail::lock_awaitable lock() noexcept;

    /// Takes the lock if it is free (and nobody is being handed it); never waits.
    bool try_lock() noexcept;

    /// Releases the lock (normally the guard does). Aborts if the mutex is not locked.
    void unlock() noexcept {
        // One read-modify-write whatever else is set (Go's Unlock: atomic add of -locked): a
        // contended mutex's line is fought over, and a failed CAS plus a retry costs two trips.
        // release: pairs with the acquire of the next lock.
        const std::uint32_t old = state_.fetch_sub(locked_bit, std::memory_order_release);
        if (old != locked_bit) [[unlikely]] {
            unlock_slow(old);
        }
    }

    /// From a plain thread outside the runtime: takes the lock, blocking the thread while it
    /// waits. Never call it on a weft worker (aborts). Tasks may wait for a lock a plain thread
    /// holds: see runtime_options::detect_deadlock.
    unique_guard<mutex> blocking_lock() noexcept;

    /// True while locked (a snapshot, for assertions and tests).
    bool is_locked() const noexcept {
        return (state_.load(std::memory_order_relaxed) & locked_bit) != 0;
    }

private:
    friend class detail::lock_awaiter;
    friend struct detail::mutex_waiter;
    friend struct detail::mutex_wait;
    friend class condition_variable;

    enum class enqueued : std::uint8_t { acquired, queued, cancelled };

    bool try_lock_fast() noexcept {
        std::uint32_t expected = 0;
        // acquire: pairs with unlock's release.
        return state_.compare_exchange_strong(
                   expected, locked_bit, std::memory_order_acquire, std::memory_order_relaxed) ||
               try_lock();
    }
    bool spin() noexcept;
    task<result<void>> lock_slow(bool yield_first, bool cancellable);
    enqueued enqueue_or_acquire(detail::mutex_waiter& w, bool was_woken, bool starve) noexcept;
    bool wait_turn(detail::mutex_waiter& w, bool was_woken, bool starve, bool cancellable) noexcept;
    bool drop_woken() noexcept;
    void unlock_slow(std::uint32_t old) noexcept;
    void hand_off() noexcept;
    /// Uncancellable lock (condition_variable re-acquires its mutex through it).
    detail::lock_awaitable lock_uncancellable() noexcept;

    static constexpr std::uint32_t locked_bit = 1;   // held
    static constexpr std::uint32_t starving_bit = 2; // hand-off mode: no barging, unlock hands over
    static constexpr std::uint32_t woken_bit = 4;    // a woken waiter is on its way: wake no other
    static constexpr std::uint32_t waiting_bit = 8;  // the queue is not empty

    // locked_bit: set by lock (CAS), cleared by unlock (fetch_sub; in starvation mode hand_off
    // sets it again for the waiter it grants the lock to: meanwhile starving_bit keeps everyone
    // else out); starving/woken/waiting: changed by CAS under qlock_ (and by unlock for woken).
    // Read by every lock/unlock.
    std::atomic<std::uint32_t> state_{0};
    weft::detail::spin_lock qlock_; // guards queue_ and the waiters' states
    detail::waiter_list queue_;     // mutex_waiters, FIFO (woken losers go back to the front)
};

namespace detail {

/// A task (or plain thread) waiting in a mutex's queue.
struct mutex_waiter : task_waiter {
    explicit mutex_waiter(mutex* mx) noexcept
        : task_waiter(&on_cancel)
        , m(mx) {}
    static void on_cancel(weft::detail::cancel_hook* h) noexcept;

    mutex* m;
    std::int64_t wait_start = 0; // steady-clock ns of the first enqueue (starvation mode)
};

/// co_await m.lock(): see the file comment.
class WEFT_NODISCARD("a lock does nothing unless co_awaited") lock_awaiter {
public:
    lock_awaiter(mutex* m, bool cancellable) noexcept
        : m_(m)
        , cancellable_(cancellable) {}
    lock_awaiter(const lock_awaiter&) = delete;
    lock_awaiter& operator=(const lock_awaiter&) = delete;

    /// The uncontended lock: one CAS, no suspension. A task whose cooperative budget is spent
    /// goes to the slow path, which yields before it competes (never while holding the lock).
    bool await_ready() noexcept {
        if (spend_budget()) [[unlikely]] {
            yield_first_ = true;
            return false;
        }
        return try_lock_fast();
    }

    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) {
        if (spin_first()) {
            return h; // taken while spinning: continue at once
        }
        start_slow();
        // Run the slow path inline, as `co_await slow_` would: it shares our cancellation and
        // resumes us (symmetric transfer) when it has the lock or has given up.
        return slow_->await_suspend(h);
    }

    [[nodiscard]] result<unique_guard<mutex>> await_resume() {
        if (slow_.has_value()) [[unlikely]] {
            return finish_slow();
        }
        return unique_guard<mutex>(*m_);
    }

private:
    bool try_lock_fast() noexcept;
    bool spin_first() noexcept;
    void start_slow();
    result<unique_guard<mutex>> finish_slow();

    mutex* m_;
    bool cancellable_;
    bool yield_first_ = false; // the budget is spent: yield before competing
    // The waiting part, started only when needed; the awaiter owns its frame.
    std::optional<task<result<void>>::awaiter> slow_;
};

/// What m.lock() returns: co_await it (once).
class WEFT_NODISCARD("a lock does nothing unless co_awaited") lock_awaitable {
public:
    lock_awaitable(mutex* m, bool cancellable) noexcept
        : m_(m)
        , cancellable_(cancellable) {}
    lock_awaiter operator co_await() && noexcept { return lock_awaiter(m_, cancellable_); }

private:
    mutex* m_;
    bool cancellable_;
};

inline bool lock_awaiter::try_lock_fast() noexcept {
    return m_->try_lock_fast();
}

} // namespace detail

inline detail::lock_awaitable mutex::lock() noexcept {
    return detail::lock_awaitable(this, true);
}
inline detail::lock_awaitable mutex::lock_uncancellable() noexcept {
    return detail::lock_awaitable(this, false);
}

} // namespace weft::sync

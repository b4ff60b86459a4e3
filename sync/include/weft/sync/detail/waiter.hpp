// The machinery every weft::sync primitive shares: the waiter a suspended task (or a parked plain
// thread) leaves in a primitive's queue, the intrusive queue itself, waking, and the glue to the
// runtime's cancellation (sync/src/waiter.cpp has the essay).
//
// A waiter lives in the awaiter, inside the coroutine frame of the waiting task (or on the stack of
// a plain thread in blocking_*): waiting allocates nothing. Its `state` is guarded by the lock of
// the primitive it waits on, and the party that moves it out of `queued` (the completer, a close,
// or the cancellation hook) is the one that wakes it, after letting go of that lock, as its very
// last touch: the woken task may run at once on another worker and free the waiter.
#pragma once

#include <weft/runtime/yield.hpp>

#include <weft/runtime/detail/cancel_state.hpp>
#include <weft/runtime/detail/promise.hpp>
#include <weft/runtime/detail/scheduler_hooks.hpp>
#include <weft/runtime/detail/spin_lock.hpp>

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <system_error>

namespace weft::sync::detail {

/// Where a waiter stands. Guarded by the lock of the primitive it waits on.
enum class wait_state : std::uint8_t {
    idle,      ///< not in a queue (yet, or any more)
    queued,    ///< in the primitive's queue; whoever takes it out wakes it
    done,      ///< completed by the primitive: value handed over, lock granted, event seen...
    closed,    ///< completed because the primitive was closed (channels)
    woken,     ///< taken off the queue to try again (mutex: a woken waiter competes for the lock)
    cancelled, ///< cut short by the task's cancellation (or the runtime's shutdown)
};

/// A task or plain thread waiting in a primitive's queue. See the file comment.
/// Only `state` is initialised on construction: an operation that completes at once never
/// touches the rest, and every other field is written before it is read (bind(), enqueueing,
/// the blocking_* paths).
struct waiter {
    waiter* next; // queue links, guarded by the primitive's lock
    waiter* prev;
    std::coroutine_handle<> handle;      // the task; null for a parked plain thread
    weft::detail::scheduler* home;       // the task's runtime, for schedule_wakeup_on
    std::uint32_t thread_word;           // plain threads: futex word (atomic_ref), 1 once woken
    wait_state state = wait_state::idle; // guarded by the primitive's lock

    /// Prepares a plain-thread waiter (no coroutine): wake() unparks the thread.
    void bind_thread() noexcept {
        handle = {};
        home = nullptr;
        thread_word = 0;
    }
};

/// Parks the calling plain thread until unpark_thread(w) (a futex wait; spurious-wake safe).
void park_thread(waiter& w) noexcept;
/// Wakes a thread parked in park_thread(w), or makes its park return at once.
/// Memory ordering: release; pairs with park_thread's acquire.
void unpark_thread(waiter& w) noexcept;

/// Makes `w` run again: its task goes onto the calling worker's queue of wake-ups when that worker
/// belongs to the task's runtime, else onto its runtime's global queue (schedule_wakeup_on); a
/// plain thread is unparked. The last touch of `w`: it may be freed as soon as this returns.
inline void wake(waiter* w) noexcept {
    if (w->handle) {
        weft::detail::schedule_wakeup_on(w->home, w->handle);
    } else {
        unpark_thread(*w);
    }
}

/// Intrusive FIFO of waiters (doubly linked: a cancelled waiter leaves from the middle in O(1)).
/// Not thread-safe: guarded by the owning primitive's lock.
class waiter_list {
public:
    bool empty() const noexcept { return head_ == nullptr; }
    waiter* front() const noexcept { return head_; }

    void push_back(waiter* w) noexcept {
        w->next = nullptr;
        w->prev = tail_;
        if (tail_ != nullptr) {
            tail_->next = w;
        } else {
            head_ = w;
        }
        tail_ = w;
    }

    void push_front(waiter* w) noexcept {
        w->prev = nullptr;
        w->next = head_;
        if (head_ != nullptr) {
            head_->prev = w;
        } else {
            tail_ = w;
        }
        head_ = w;
    }

    waiter* pop_front() noexcept {
        waiter* w = head_;
        if (w != nullptr) {
            head_ = w->next;
            if (head_ != nullptr) {
                head_->prev = nullptr;
            } else {
                tail_ = nullptr;
            }
            w->next = w->prev = nullptr;
        }
        return w;
    }

    void remove(waiter* w) noexcept {
        if (w->prev != nullptr) {
            w->prev->next = w->next;
        } else {
            head_ = w->next;
        }
        if (w->next != nullptr) {
            w->next->prev = w->prev;
        } else {
            tail_ = w->prev;
        }
        w->next = w->prev = nullptr;
    }

private:
    waiter* head_ = nullptr;
    waiter* tail_ = nullptr;
};

/// Waiters collected under a primitive's lock, woken after it is released (singly linked through
/// `next`, which the queue no longer uses once a waiter has left it).
class wake_list {
public:
    bool empty() const noexcept { return head_ == nullptr; }
    void push(waiter* w) noexcept {
        w->next = nullptr;
        if (tail_ != nullptr) {
            tail_->next = w;
        } else {
            head_ = w;
        }
        tail_ = w;
    }
    /// Wakes every collected waiter, in order. Call without holding the primitive's lock.
    void wake_all() noexcept {
        waiter* w = head_;
        head_ = tail_ = nullptr;
        while (w != nullptr) {
            waiter* next = w->next; // read before the wake: the waiter may be gone after it
            wake(w);
            w = next;
        }
    }

private:
    waiter* head_ = nullptr;
    waiter* tail_ = nullptr;
};

/// A waiter that belongs to a weft task: adds the cancellation hook and the deadlock accounting.
///
/// Protocol of a cancellable wait (sync/src/waiter.cpp, "Cancellation"):
///   1. bind() records the task; arm() arms the hook, or fails (state = cancelled) when the task
///      is already cancelled or the runtime is stopping. Never armed while holding the
///      primitive's lock: the hook takes the cancel_state lock first, then the primitive's.
///   2. Under the primitive's lock: if the hook has already marked the waiter cancelled, do not
///      wait; else complete at once if possible, else enqueue (state = queued), count the task
///      as blocked, unlock and suspend.
///   3. The hook, under the primitive's lock: queued -> unlink, cancelled, wake after unlock;
///      idle -> cancelled (step 2 sees it); done/closed -> nothing (the completion stands, and
///      nothing it carried is lost).
///   4. After resumption, finish() disarms (waiting out a hook that is running right now) and
///      uncounts the task.
struct task_waiter : weft::detail::cancel_hook, waiter {
    explicit task_waiter(void (*on_fire)(weft::detail::cancel_hook*) noexcept) noexcept
        : cancel_hook{on_fire} {}
    task_waiter(const task_waiter&) = delete;
    task_waiter& operator=(const task_waiter&) = delete;

    /// Records the suspending task (its handle, runtime and cancellation state).
    template <class P>
    void bind(std::coroutine_handle<P> h) noexcept {
        handle = h;
        home = weft::detail::current_scheduler();
        cancel = weft::detail::cancel_of(h);
    }

    /// Prepares a plain-thread waiter: no cancellation, wake() unparks the thread.
    void bind_thread() noexcept {
        waiter::bind_thread();
        cancel = nullptr;
    }

    /// Arms the cancellation hook; false (and state = cancelled) if the task may not wait.
    bool arm() noexcept {
        if (weft::detail::runtime_stopping()) {
            state = wait_state::cancelled;
            return false;
        }
        if (cancel != nullptr) {
            if (!cancel->arm(this)) {
                state = wait_state::cancelled;
                return false;
            }
            armed = true;
        }
        return true;
    }

    /// Counts the task as blocked for the deadlock detector. Call before the waiter becomes
    /// visible to wakers (they may resume the task at once, elsewhere).
    void count_blocked(weft::detail::blocked_on what) noexcept {
        blocked_kind = what;
        counted = true;
        weft::detail::blocked_enter(what);
    }

    /// After resumption (or instead of suspending): disarm, uncount.
    void finish() noexcept {
        if (armed) {
            armed = false;
            cancel->disarm();
        }
        if (counted) {
            counted = false;
            weft::detail::blocked_leave(blocked_kind);
        }
    }

    /// The error a cancelled wait reports: operation_canceled or timed_out.
    std::error_code cancel_error() const noexcept {
        return cancel != nullptr ? cancel->error() : make_error_code(weft::errc::canceled);
    }

    weft::detail::cancel_state* cancel; // written by bind() / bind_thread()
    weft::detail::blocked_on blocked_kind = weft::detail::blocked_on::sync_other;
    bool armed = false;
    bool counted = false;
};

/// What a cancelled waiter gives up, under its primitive's lock: `unlink` takes `w` out of its
/// queue and passes on what it no longer needs (a semaphore re-grants permits to the waiters
/// behind it, a barrier withdraws the arrival), collecting waiters to wake into `wl`.
using unlink_fn = void (*)(task_waiter* w, wake_list& wl) noexcept;

/// The cancellation hook every primitive's waiter shares (step 3 of task_waiter's protocol). Runs
/// under the task's cancel_state lock, on any thread; takes `lock` (the primitive's): a queued `w`
/// is unlinked, marked cancelled and woken after the unlock, then the waiters `unlink` collected;
/// an idle one (not enqueued yet) is marked cancelled, which the waiting side sees under the lock;
/// a done or closed one is left alone (the completion stands).
void cancel_wait(task_waiter* w, weft::detail::spin_lock& lock, unlink_fn unlink) noexcept;

/// Operations completed without waiting that cost one unit of the runtime's cooperative budget
/// (a power of two). See spend_budget().
inline constexpr unsigned awaits_per_budget_unit = 128;
static_assert((awaits_per_budget_unit & (awaits_per_budget_unit - 1)) == 0);

/// Per-thread count of sync operations that completed without waiting (see spend_budget()).
inline thread_local unsigned immediate_awaits = 0;

/// Cooperative budget (Tokio's coop: a task that never has to wait must
/// still let its neighbours run): an await that completed without waiting calls
/// this; true means the task has spent its budget and must yield (its caller then queues it
/// behind the work already waiting, with yield_to_back, and suspends).
///
/// One budget unit is charged per awaits_per_budget_unit such operations on this thread, so a task
/// yields after at most 128 x awaits_per_budget_unit of them in a row (16,384: some 100-300 us of
/// channel traffic; Go preempts after 10 ms), and a hot producer still cannot starve its
/// neighbours. Charging a whole unit per operation made every producer and consumer of bench
/// `mpmc` yield every 128 operations: always runnable, they stayed spread over both workers and
/// fought over the channel's cache lines instead of settling into long runs (2 workers, clang:
/// 60-110 ns/item with 1 operation per unit, 33 with 32, 29 with 64, 24-27 with 128; Go 40-50;
/// bench `mutex`: 27 ns/lock with 1 per unit, 12-13 with 32 and more). The count is per thread,
/// not per task: a task may be charged for a neighbour's operations, which only makes it yield
/// sooner.
inline bool spend_budget() noexcept {
    if ((++immediate_awaits & (awaits_per_budget_unit - 1)) != 0) [[likely]] {
        return false;
    }
    return weft::detail::budget_exhausted();
}

/// spend_budget(), then yield if the budget is spent: queues `h` behind the work already waiting
/// on this worker (yield_now) and returns true (the caller suspends). Off a worker it never
/// yields.
inline bool yield_if_budget_spent(std::coroutine_handle<> h) noexcept {
    if (spend_budget()) [[unlikely]] {
        weft::detail::yield_to_back(h);
        return true;
    }
    return false;
}

} // namespace weft::sync::detail

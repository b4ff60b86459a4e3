// weft::sync::condition_variable: wait for a condition guarded by a weft::sync::mutex (Go's
// sync.Cond, std::condition_variable), suspending the task, never the worker thread.
//
//     weft::sync::mutex m;
//     weft::sync::condition_variable cv;
//     std::deque<job> jobs;
//
//     auto g = co_await m.lock();                                   // consumer
//     if (!g) co_return;
//     if (!co_await cv.wait(*g, [&] { return !jobs.empty(); })) co_return;   // cancelled
//     take(jobs);
//
//     { auto g = co_await m.lock(); jobs.push_back(j); }           // producer
//     cv.notify_one();
//
// wait(guard) atomically releases the mutex and suspends until notified, then re-acquires the
// mutex before it returns: the guard holds the lock again whatever the outcome. Spurious
// wake-ups are possible only in the sense that another task may have changed the state between
// the notify and the re-lock: use the predicate form, which loops until pred() holds.
// notify_one() wakes the longest waiter, notify_all() every waiter; neither needs the mutex held.
// Thread-safety: every member may be called concurrently from any task; notify_* also from plain
// threads.
// Memory ordering: as the mutex's (the state is read and written under it).
// Cancellation: a wait completes with operation_canceled / timed_out when its task is cancelled,
// after re-acquiring the mutex (uncancellably, so that the guard is valid); a notify that chose
// that waiter at the same moment is not passed on (as with std::condition_variable, a notify_one
// may then wake nobody who needs it: prefer notify_all when waiters can be cancelled).
// Which thread resumes the awaiter: the worker of the task that unlocked the mutex after the
// notify (the waiter re-locks before it returns).
// Misuse aborts with a message: waiting with a guard that holds no lock, destroying the
// condition_variable while tasks wait on it.
#pragma once

#include <weft/runtime/result.hpp>
#include <weft/runtime/task.hpp>
#include <weft/sync/guard.hpp>
#include <weft/sync/mutex.hpp>

#include <weft/runtime/detail/nodiscard.hpp>
#include <weft/sync/detail/notify_list.hpp>

#include <coroutine>
#include <utility>

namespace weft::sync {

/// A condition variable for weft::sync::mutex; see the file comment.
class condition_variable {
public:
    condition_variable() noexcept = default;
    ~condition_variable();
    condition_variable(const condition_variable&) = delete;
    condition_variable& operator=(const condition_variable&) = delete;

    /// `co_await cv.wait(guard)`: result<void>. Releases the guard's mutex, waits for a notify,
    /// re-acquires the mutex. Success: notified; error: cancelled (the lock is held either way).
    task<result<void>> wait(unique_guard<mutex>& guard);

    /// `co_await cv.wait(guard, pred)`: waits until pred() is true (checked with the lock held,
    /// first before waiting at all). Success: pred() holds; error: cancelled.
    template <class Pred>
    task<result<void>> wait(unique_guard<mutex>& guard, Pred pred) {
        while (!pred()) {
            result<void> r = co_await wait(guard);
            if (!r) {
                co_return r;
            }
        }
        co_return result<void>{};
    }

    /// Wakes the task that has waited longest, if any.
    void notify_one() noexcept;
    /// Wakes every waiting task.
    void notify_all() noexcept { list_.release_all(); }

private:
    detail::notify_list list_;
};

namespace detail {

/// What the first half of a wait reports: notified or cancelled, and whether the mutex was
/// released (and must be re-acquired).
struct cv_outcome {
    result<void> r;
    bool released;
};

/// The first half of a wait: enqueue, unlock the mutex, suspend until notified or cancelled.
class WEFT_NODISCARD("a wait does nothing unless co_awaited") cv_wait : private notify_waiter {
public:
    cv_wait(notify_list* l, mutex* m) noexcept
        : notify_waiter(l)
        , m_(m) {}
    cv_wait(const cv_wait&) = delete;
    cv_wait& operator=(const cv_wait&) = delete;

    bool await_ready() const noexcept { return false; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) noexcept {
        bind(h);
        return suspend();
    }
    cv_outcome await_resume() noexcept {
        finish();
        return {
            state == wait_state::done ? result<void>{} : result<void>{cancel_error()}, released_};
    }

private:
    bool suspend() noexcept;
    mutex* m_;
    bool released_ = false; // set before the mutex is released, under the list's lock
};

} // namespace detail

} // namespace weft::sync

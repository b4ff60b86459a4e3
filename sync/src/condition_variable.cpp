// condition_variable: a notify_list of waiting tasks, used together with a weft::sync::mutex.
//
// Vocabulary
//   waiter   a task in wait(): it is in the list from before it releases the mutex until a notify
//            (or its cancellation) takes it out; then it re-locks the mutex.
//
// Invariants
//   1. A waiter is enqueued and its mutex released inside one critical section of the list's lock:
//      a notify that follows the caller's state change (made under the mutex) either comes after
//      the enqueue and takes the waiter, or came before the caller locked the mutex and checked
//      the predicate. Nothing is lost; and the waiter cannot be woken (and resumed elsewhere)
//      before it has released the mutex.
//   2. Lock order: cancel_state, list lock, the mutex's queue lock. No path takes them the other
//      way round.
//   3. wait() returns with the mutex held on every path, including cancellation.
//
// Rejected approaches
//   - Releasing the mutex before enqueueing: a notify in between is lost (the textbook lost
//     wake-up).
//   - Releasing it after the list's lock is released: the waiter could already have been
//     notified and resumed on another worker, and the mutex could be gone by the time unlock()
//     touches it.
//   - A cancellable re-lock: a cancelled wait would return without the lock, and every caller
//     would have to check which case it is in. The re-lock ignores cancellation (it is short:
//     the mutex is only held by tasks that are running).
//
// Current approach, in steps
//   wait(guard): arm; lock the list; if the hook already cancelled us, fail (the mutex is still
//     held: nothing to re-lock); enqueue; count blocked; unlock the mutex; unlock the list;
//     suspend. Resumed (notified or cancelled): re-lock the mutex (uncancellable), return.
//   notify_one: lock the list; take the first waiter; unlock; wake it. notify_all: take every one.
//
// References
//   Go src/sync/cond.go (Wait: add to the notify list, unlock, wait, lock); C++11
//   std::condition_variable (spurious wake-ups, the predicate form).

#include <weft/sync/condition_variable.hpp>

#include <weft/runtime/detail/assert.hpp>

namespace weft::sync {

condition_variable::~condition_variable() {
    WEFT_ASSERT(
        list_.waiters.empty(), "weft::sync::condition_variable destroyed while tasks wait on it");
}

task<result<void>> condition_variable::wait(unique_guard<mutex>& guard) {
    WEFT_ASSERT(
        guard.owns_lock(), "weft::sync::condition_variable::wait with a guard that holds no lock");
    mutex* m = guard.mutex();
    const detail::cv_outcome out = co_await detail::cv_wait(&list_, m);
    if (out.released) {
        // Re-acquire, ignoring cancellation: the caller's guard owns the lock again.
        result<unique_guard<mutex>> again = co_await m->lock_uncancellable();
        WEFT_ASSERT(again.has_value(), "weft::sync::condition_variable: the re-lock failed");
        (void)(*again).release();
    }
    co_return out.r;
}

void condition_variable::notify_one() noexcept {
    detail::wake_list wl;
    list_.lock.lock();
    list_.take_one(wl);
    list_.lock.unlock();
    wl.wake_all();
}

namespace detail {

bool cv_wait::suspend() noexcept {
    if (!arm()) {
        return false; // already cancelled: the mutex was never released
    }
    notify_list& l = *list;
    l.lock.lock();
    if (state == wait_state::cancelled) { // the hook fired between arm() and the lock
        l.lock.unlock();
        return false;
    }
    state = wait_state::queued;
    l.waiters.push_back(this);
    count_blocked(weft::detail::blocked_on::sync_other);
    released_ = true;
    m_->unlock(); // still under the list's lock: no notify can slip in, nobody can wake us yet
    l.lock.unlock();
    return true;
}

} // namespace detail

} // namespace weft::sync

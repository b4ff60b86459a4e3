// once: a three-state word (idle, running, done) and a notify_list of callers waiting for the
// runner.
//
// Vocabulary
//   runner   the caller that moved the state idle -> running; it runs f outside any lock.
//   waiter   a caller that found the state running; it waits for the runner to finish, then
//            claims again (the runner may have failed, leaving the state idle).
//
// Invariants
//   1. The state moves idle -> running -> done | idle, every step under list_.lock; done is final.
//   2. Exactly one runner at a time; f runs with no lock held (it may await anything).
//   3. A waiter sleeps only while the state is running (checked under the lock), and the runner
//      wakes every waiter under the same lock when it leaves running: no wake-up is lost.
//
// Rejected approaches
//   - Go's rule that a panicking f counts as done: in C++ the exception reaches the caller, and a
//     later caller retrying (std::call_once) is what initialisation code usually wants.
//   - Holding a lock while f runs (std::call_once's usual futex): f may suspend; waiters must be
//     tasks in a queue, not threads on a lock.
//
// Current approach, in steps
//   call(f): loop { claim: done -> return; idle -> become the runner; running -> wait (arm, lock,
//     re-check, enqueue, suspend) and claim again once woken; cancelled -> return the error }.
//     The runner runs f; finish(ok) sets done (or idle on an exception) under the lock, takes
//     every waiter, unlocks, wakes them.
//
// References
//   Go src/sync/once.go (fast path on a done flag, slow path under a mutex); C++11 std::call_once
//   (exceptional calls do not count).

#include <weft/sync/once.hpp>

#include <weft/runtime/detail/assert.hpp>

namespace weft::sync {

once::~once() {
    WEFT_ASSERT(list_.waiters.empty(), "weft::sync::once destroyed while tasks wait on it");
}

void once::finish(bool ok) noexcept {
    detail::wake_list wl;
    list_.lock.lock();
    // release: f's effects happen-before every caller that sees done.
    state_.store(ok ? done : idle, std::memory_order_release);
    list_.take_all(wl);
    list_.lock.unlock();
    wl.wake_all();
}

namespace detail {

once_claim::once_claim(once* o) noexcept
    : notify_waiter(&o->list_)
    , o_(o) {
}

bool once_claim::await_ready() noexcept {
    if (o_->is_done()) {
        role_ = once_role::done;
        return true;
    }
    return false;
}

bool once_claim::suspend() noexcept {
    notify_list& l = o_->list_;
    const bool may_wait = arm();
    l.lock.lock();
    if (state == wait_state::cancelled && may_wait) { // the hook fired between arm() and the lock
        l.lock.unlock();
        role_ = once_role::cancelled;
        return false;
    }
    const std::uint8_t s = o_->state_.load(std::memory_order_acquire);
    if (s == once::done) {
        role_ = once_role::done;
    } else if (s == once::idle) {
        o_->state_.store(once::running, std::memory_order_relaxed);
        role_ = once_role::run; // a cancelled task may still run f: it is not a wait
    } else if (!may_wait) {
        role_ = once_role::cancelled;
    } else {
        state = wait_state::queued;
        l.waiters.push_back(this);
        count_blocked(weft::detail::blocked_on::sync_other);
        l.lock.unlock();
        return true;
    }
    l.lock.unlock();
    return false;
}

once_claim_result once_claim::await_resume() noexcept {
    finish();
    if (role_ == once_role::done || role_ == once_role::run) {
        return {role_, {}}; // decided without waiting
    }
    if (state == wait_state::done) {
        return {once_role::retry, {}}; // woken by the runner: look again
    }
    return {once_role::cancelled, cancel_error()};
}

} // namespace detail

} // namespace weft::sync

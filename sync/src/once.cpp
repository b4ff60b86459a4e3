// once: a three-state word (idle, running, done) and a notify_list of callers waiting for the
// runner.
//
// Vocabulary
//   runner   the caller that moved the state idle -> running; it runs f outside any lock.
//   waiter   a caller that found the state running; it waits for the runner to finish, then
//            claims again (the runner may have failed, leaving the state idle).
//
// Invariants
//   1. The state (in list_.word, above the waiting bit) moves idle -> running under list_.lock,
//      then running -> done | idle by the runner: one CAS when the waiting bit is clear, else
//      under list_.lock; done is final.
//   2. Exactly one runner at a time; f runs with no lock held (it may await anything).
//   3. A waiter sleeps only while the state is running: under the lock it sets the waiting bit
//      by a CAS that still sees running, and enqueues. The runner's CAS that leaves running
//      either sees the bit (it then takes the lock and wakes every waiter) or made the waiter's
//      CAS fail: no wake-up is lost.
//   4. After the operation that lets a caller proceed, the runner touches the once only if some
//      caller is still queued: a caller that sees done may free the once at once, while a queued
//      one keeps it alive until it is woken, after the unlock.
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
//     The runner runs f; finish(ok) sets done (or idle on an exception): by one CAS if the
//     waiting bit is clear, else under the lock, taking every waiter, then unlocks, wakes them.
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
    const std::uint64_t next = (ok ? done : idle) << 1;
    std::uint64_t s = list_.word.load(std::memory_order_relaxed);
    while ((s & detail::notify_list::waiting_bit) == 0) {
        // release: f's effects happen-before every caller that sees done. Nobody waits: this
        // CAS is the last touch (a caller that sees done may free the once at once).
        if (list_.word.compare_exchange_weak(
                s, next, std::memory_order_release, std::memory_order_relaxed)) {
            return;
        }
    }
    detail::wake_list wl;
    list_.lock.lock();
    list_.word.store(next, std::memory_order_release); // clears the waiting bit too
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
    std::uint64_t s = l.word.load(std::memory_order_acquire);
    for (;;) {
        if ((s >> 1) != once::running || !may_wait) {
            break;
        }
        // The runner's finish() may CAS the word meanwhile (without the lock): set the waiting
        // bit only while it still says running, so that finish() takes the lock and wakes us.
        if (l.word.compare_exchange_weak(
                s,
                s | notify_list::waiting_bit,
                std::memory_order_acq_rel,
                std::memory_order_acquire)) {
            break;
        }
    }
    if ((s >> 1) == once::done) {
        role_ = once_role::done;
    } else if ((s >> 1) == once::idle) {
        // Nobody else changes an idle word (there is no runner), and nobody waits on it.
        l.word.store(once::running << 1, std::memory_order_relaxed);
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

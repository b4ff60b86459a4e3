// barrier: a phase counter under a spin lock, and the waiters of the current phase.
//
// Vocabulary
//   phase     one round of the barrier: it completes when `expected_` tasks have arrived.
//   leader    the task whose arrival completes the phase: it releases the others and goes on
//             without suspending.
//
// Invariants (all under lock_)
//   1. arrived_ < expected_ between phases; waiters_ holds exactly the arrivals of this phase
//      that are suspended (the leader never is).
//   2. Completing a phase takes every waiter (marked done) and resets arrived_ in the same
//      critical section, so an arrival for the next phase can never be counted in this one.
//   3. A cancelled waiter is removed with its arrival (arrived_ - 1) in one critical section.
//
// Rejected approaches
//   - A lock-free arrival counter (std::barrier's usual implementation): withdrawing the arrival of
//     a cancelled task would race with the phase completing. Arrivals are rare next to the work
//     between them; a spin lock keeps cancellation exact.
//
// Current approach, in steps
//   arrive_and_wait: arm (outside the lock); lock; if the hook already cancelled us, fail without
//     arriving; arrive; the last arrival completes the phase (takes the waiters, resets the
//     count), unlocks, wakes them, and returns true without suspending; otherwise enqueue, count
//     the task blocked, unlock, suspend.
//   cancellation hook: lock; if still queued, remove it and take back its arrival; unlock; wake.
//   arrive_and_drop: lock; expected_ - 1; complete the phase if that was the last missing arrival.
//
// References
//   C++20 std::barrier ([thread.barrier]); Tokio tokio/src/sync/barrier.rs (leader flag).

#include <weft/sync/barrier.hpp>

#include <weft/runtime/detail/assert.hpp>

namespace weft::sync {

barrier::barrier(std::ptrdiff_t count) noexcept
    : expected_(count) {
    WEFT_ASSERT(count > 0, "weft::sync::barrier needs a count of at least 1");
}

barrier::~barrier() {
    WEFT_ASSERT(waiters_.empty(), "weft::sync::barrier destroyed while tasks wait on it");
}

bool barrier::complete_phase_locked(detail::wake_list& wl) noexcept {
    if (arrived_ < expected_) {
        return false;
    }
    arrived_ = 0;
    while (detail::waiter* w = waiters_.pop_front()) {
        w->state = detail::wait_state::done;
        wl.push(w);
    }
    return true;
}

void barrier::arrive_and_drop() noexcept {
    detail::wake_list wl;
    lock_.lock();
    WEFT_ASSERT(expected_ > 0, "weft::sync::barrier: more arrive_and_drop() than participants");
    --expected_;
    if (expected_ > 0) {
        complete_phase_locked(wl);
    } else {
        arrived_ = 0;
    }
    lock_.unlock();
    wl.wake_all();
}

namespace detail {

bool barrier_awaiter::suspend() noexcept {
    if (!arm()) {
        return false;
    }
    barrier& b = *b_;
    wake_list wl;
    b.lock_.lock();
    if (state == wait_state::cancelled) { // the hook fired between arm() and the lock
        b.lock_.unlock();
        return false;
    }
    ++b.arrived_;
    if (b.complete_phase_locked(wl)) {
        leader_ = true;
        state = wait_state::done;
        b.lock_.unlock();
        wl.wake_all();
        return false;
    }
    state = wait_state::queued;
    b.waiters_.push_back(this);
    count_blocked(weft::detail::blocked_on::sync_other);
    b.lock_.unlock();
    return true;
}

void barrier_awaiter::on_cancel(weft::detail::cancel_hook* h) noexcept {
    auto* w = static_cast<barrier_awaiter*>(h);
    cancel_wait(w, w->b_->lock_, [](task_waiter* t, wake_list&) noexcept {
        auto* bw = static_cast<barrier_awaiter*>(t);
        bw->b_->waiters_.remove(bw);
        --bw->b_->arrived_; // withdraw the arrival: the phase needs another one
    });
}

} // namespace detail

} // namespace weft::sync

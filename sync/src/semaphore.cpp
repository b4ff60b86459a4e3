// semaphore: a FIFO counting semaphore with hand-off of permits.
//
// Vocabulary
//   permits   the count, kept in state_ above the two bits.
//   waiting   state_'s low bit: set while the queue is not empty.
//   locked    state_'s second bit: the queue lock (a spin lock living in the same word).
//   grant     giving a queued waiter its permits directly (it owns them when it resumes).
//
// Invariants
//   1. Outside the lock, waiting bit set <=> queue not empty (both changed only by the lock's
//      holder; the bit is cleared, if the queue is empty, by the RMW that unlocks).
//   2. While the waiting bit is set, the permit count changes only under the lock: the lock-free
//      fast paths CAS the whole word and bail out when they see the bit.
//   3. The head of the queue always wants more permits than are free (grants are eager: after
//      every release and every departure of the head), so a newcomer that finds a queue queues.
//   4. A granted waiter keeps its permits even if cancelled at that moment; a cancelled waiter
//      holds none.
//   5. After the operation that lets a waiter proceed, nothing touches the semaphore: the RMW
//      that unlocks is also the one that reopens the fast paths (clearing the waiting bit), so
//      an acquirer that takes the permits left over, and frees the semaphore at once, comes
//      after the releaser's last touch; granted waiters are woken after it.
//
// Rejected approaches
//   - Barging (a newcomer takes free permits while others wait): cheaper under contention, but a
//     large acquire(n) starves behind a stream of small ones; shared_mutex relies on FIFO to
//     keep writers from starving behind readers. Go's semaphore.Weighted makes the same choice.
//   - Waking waiters to retry: needs a retry loop per waiter; hand-off decides ownership once,
//     under the lock.
//   - A separate spin_lock beside the word: clearing the waiting bit and then unlocking are two
//     steps, and between them a fast path may take the permits and its task free the semaphore.
//
// Current approach, in steps
//   acquire(n): CAS permits -= n if the bit is clear and enough are free. Otherwise (waiter.cpp
//     protocol) arm, lock, take them if that is now possible, else set the bit, enqueue, count
//     the task blocked, unlock, suspend.
//   release(n): CAS permits += n if the bit is clear. Otherwise lock, add n, grant to the head
//     while permits suffice (clearing the bit when the queue empties), unlock, wake the granted.
//   cancellation hook: lock; if still queued, remove it; if it was the head, grant to the new head
//     (it may fit now); unlock, wake.
//
// shared_mutex (shared_mutex.hpp) is this semaphore with max_readers permits: a reader takes one,
// a writer takes all of them. FIFO hand-off makes it fair both ways: a queued writer holds back the
// readers that arrive after it (no writer starvation), and the readers queued behind a writer are
// granted together when it unlocks. Rejected for it: Go's RWMutex (a reader count with a pending-
// writer bias, plus a mutex and two semaphores): in the task world every one of those waits needs
// its own cancellation path; one FIFO queue with hand-off has exactly one, already exact.
//
// References
//   Go golang.org/x/sync/semaphore (Weighted: FIFO, notifyWaiters); Tokio
//   tokio/src/sync/batch_semaphore.rs (permits handed to waiters in order; a dropped waiter
//   returns what it had been assigned) and tokio/src/sync/rwlock.rs (a RwLock on it).

#include <weft/sync/semaphore.hpp>

#include <weft/runtime/detail/scheduler_hooks.hpp>
#include <weft/runtime/detail/spin_lock.hpp>

#include <sched.h>

namespace weft::sync {

namespace detail {

void sem_waiter::on_cancel(weft::detail::cancel_hook* h) noexcept {
    // cancel_wait's protocol (waiter.cpp), on the lock bit in the semaphore's word. Runs under
    // the task's cancel_state lock, on any thread.
    auto* w = static_cast<sem_waiter*>(h);
    semaphore* s = w->sem;
    wake_list wl;
    s->lock_queue();
    if (w->state == wait_state::queued) {
        const bool was_head = s->queue_.front() == w;
        s->queue_.remove(w);
        if (was_head) {
            s->grant_locked(wl); // the permits it waited for may now satisfy those behind it
        }
        w->state = wait_state::cancelled;
        s->unlock_queue(); // last touch of the semaphore
        wake(w);
        wl.wake_all();
        return;
    }
    if (w->state == wait_state::idle) {
        w->state = wait_state::cancelled; // not enqueued yet: the waiting side sees it locked
    }
    s->unlock_queue();
}

bool acquire_awaiter::await_ready() noexcept {
    if (sem->try_take(want)) {
        state = wait_state::done;
        return !spend_budget();
    }
    return false;
}

bool acquire_awaiter::suspend() noexcept {
    if (!arm()) {
        return false;
    }
    switch (sem->enqueue_or_take(*this, kind_)) {
    case semaphore::enqueued::acquired:
        state = wait_state::done;
        return false;
    case semaphore::enqueued::cancelled:
        return false;
    case semaphore::enqueued::queued:
        return true;
    }
    return false;
}

} // namespace detail

semaphore::semaphore(std::uint64_t permits) noexcept
    : state_(permits << shift) {
    WEFT_ASSERT(permits <= max_permits, "weft::sync::semaphore: too many permits");
}

semaphore::~semaphore() {
    WEFT_ASSERT(queue_.empty(), "weft::sync::semaphore destroyed while tasks wait on it");
}

bool semaphore::try_take(std::uint64_t n) noexcept {
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    while ((s & waiting_bit) == 0 && (s >> shift) >= n) {
        // acquire: pairs with the release of the permits.
        if (state_.compare_exchange_weak(
                s, s - (n << shift), std::memory_order_acquire, std::memory_order_relaxed)) {
            return true;
        }
    }
    return false;
}

bool semaphore::try_acquire(std::uint64_t n) noexcept {
    check_n(n);
    return try_take(n);
}

void semaphore::lock_queue() noexcept {
    // A spin_lock's policy (test, then test-and-set; yield after a while: the holder may be a
    // descheduled plain thread), on the bit.
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    for (unsigned spins = 0;;) {
        if ((s & locked_bit) == 0) {
            // acquire: pairs with unlock_queue()'s release.
            if (state_.compare_exchange_weak(
                    s, s | locked_bit, std::memory_order_acquire, std::memory_order_relaxed)) {
                return;
            }
            continue;
        }
        if (spins < 128) {
            weft::detail::cpu_relax();
            ++spins;
        } else {
            sched_yield();
        }
        s = state_.load(std::memory_order_relaxed);
    }
}

semaphore::enqueued
semaphore::enqueue_or_take(detail::sem_waiter& w, weft::detail::blocked_on kind) noexcept {
    lock_queue();
    if (w.state == detail::wait_state::cancelled) { // the hook fired between arm() and here
        unlock_queue();
        return enqueued::cancelled;
    }
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    for (;;) {
        if ((s & waiting_bit) != 0) {
            break; // others wait: queue behind them
        }
        if ((s >> shift) >= w.want) {
            if (state_.compare_exchange_weak(
                    s,
                    s - (w.want << shift),
                    std::memory_order_acquire,
                    std::memory_order_relaxed)) {
                unlock_queue();
                return enqueued::acquired;
            }
            continue;
        }
        if (state_.compare_exchange_weak(
                s, s | waiting_bit, std::memory_order_acq_rel, std::memory_order_relaxed)) {
            break;
        }
    }
    w.state = detail::wait_state::queued;
    queue_.push_back(&w);
    w.count_blocked(kind);
    unlock_queue();
    return enqueued::queued;
}

void semaphore::grant_locked(detail::wake_list& wl) noexcept {
    while (!queue_.empty()) {
        auto* w = static_cast<detail::sem_waiter*>(queue_.front());
        // Only lock holders change the count while the bit is set (invariant 2).
        if ((state_.load(std::memory_order_relaxed) >> shift) < w->want) {
            return;
        }
        // acq_rel: the releases that made these permits happen-before the waiter's resumption.
        state_.fetch_sub(w->want << shift, std::memory_order_acq_rel);
        queue_.pop_front();
        w->state = detail::wait_state::done;
        wl.push(w);
    }
    // The waiting bit stays set until unlock_queue(): cleared here, a fast path could take the
    // permits left over and let its task free the semaphore while we still hold the lock.
}

void semaphore::release(std::uint64_t n) noexcept {
    check_n(n);
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    while ((s & waiting_bit) == 0) {
        WEFT_ASSERT(
            (s >> shift) + n <= max_permits,
            "weft::sync::semaphore: release beyond max_permits (more releases than acquires?)");
        // release: pairs with the acquire that takes these permits.
        if (state_.compare_exchange_weak(
                s, s + (n << shift), std::memory_order_release, std::memory_order_relaxed)) {
            return;
        }
    }
    detail::wake_list wl;
    lock_queue();
    s = state_.fetch_add(n << shift, std::memory_order_acq_rel);
    WEFT_ASSERT(
        (s >> shift) + n <= max_permits,
        "weft::sync::semaphore: release beyond max_permits (more releases than acquires?)");
    grant_locked(wl);
    unlock_queue(); // last touch of the semaphore: the permits left over are free from here on
    wl.wake_all();
}

void semaphore::blocking_acquire(std::uint64_t n) noexcept {
    check_n(n);
    WEFT_ASSERT(
        weft::detail::current_worker() == nullptr,
        "weft::sync::semaphore::blocking_acquire called on a weft worker (it would block the "
        "worker; co_await acquire() instead)");
    if (try_take(n)) {
        return;
    }
    detail::sem_waiter w(this, n);
    w.bind_thread();
    if (enqueue_or_take(w, weft::detail::blocked_on::sync_other) == enqueued::queued) {
        detail::park_thread(w);
    }
}

} // namespace weft::sync

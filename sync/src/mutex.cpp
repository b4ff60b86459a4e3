// mutex: Go's sync.Mutex (normal and starvation modes) for weft tasks.
//
// Vocabulary
//   state     one word: locked | starving | woken | waiting (mutex.hpp). The lock itself is the
//             locked bit, taken by CAS; the queue of waiters lives beside it under qlock_.
//   barging   a task that arrives while the lock is free takes it at once, even if others wait.
//   woken     a waiter an unlock took off the queue so that it competes for the lock again (it
//             does not own the lock). Only one at a time (woken bit): an unlock does not wake a
//             second one while the first is on its way.
//   hand-off  starvation mode: an unlock keeps the lock locked and gives it to the first waiter.
//   slow path a small coroutine (lock_slow) started only when a lock has to wait: a woken waiter
//             must be able to lose and wait again, which one awaiter cannot express.
//
// Invariants
//   1. starving => locked, and starving or a waiter in the queue => waiting; waiting is cleared
//      when the queue empties (under qlock_).
//   2. A task commits to sleep only under qlock_, by a CAS that still sees the lock held: an
//      unlock either happened before (the CAS fails and the task retries the lock) or will find
//      the task in the queue.
//   3. At most one woken waiter; it clears the woken bit when it takes the lock or re-queues.
//   4. A waiter leaves the queue exactly once: popped by an unlock (woken or granted), or removed
//      by its cancellation hook, both under qlock_. A granted lock is never lost: the waiter
//      owns it even if cancelled at that moment.
//   5. After the operation that lets a waiter proceed, an unlock touches the mutex only because
//      it saw `waiting` or `starving`: a queued waiter keeps the mutex alive until it is woken,
//      after qlock_ is released. (Not yet when every such waiter is cancelled in between: then a
//      barger may lock, unlock and free the mutex before unlock_slow takes qlock_.)
//
// Rejected approaches
//   - Hand-off at every contended unlock (cppcoro async_mutex, Tokio's Mutex, a FIFO semaphore):
//     fair, but once one task queues, every later lock becomes a task switch, and the two tasks
//     that bounce the lock never leave that state (a lock convoy). Measured with bench `mutex`
//     (1000 tasks x 1000 locks, 2 workers): Tokio's fair mutex ~200 ns per lock vs Go's ~15.
//     Go's design keeps barging for throughput and bounds waiting with the starvation mode; so no
//     waiter starves.
//   - Waking a waiter and letting it retry inside await_resume: await_resume cannot suspend
//     again. The retry loop lives in a coroutine frame (the runtime's frame allocator recycles
//     it), created only on contention; the uncontended lock is one CAS in await_ready.
//   - Yielding for the cooperative budget after taking the lock: the lock would be held across a
//     task switch and every other locker would queue. The budget is checked first; a task whose
//     budget is spent yields and only then competes.
//
// Current approach, in steps
//   lock (await_ready): if the budget is spent, go to the slow path (which yields first); else
//     CAS 0 -> locked, or barge (CAS in locked) if the lock is free and not starving.
//   lock (await_suspend): spin a few rounds (not in starvation mode, more than one worker; see
//     spin_rounds for why only a few); then start lock_slow.
//   lock_slow, one round: arm the cancel hook; under qlock_, if the lock is free take it, else
//     CAS waiting (and starving, if this waiter has waited over 1 ms and lost after being woken)
//     and clear woken if we held it, enqueue (a woken loser at the front), count the task blocked,
//     suspend. Resumed: granted -> done; woken -> next round; cancelled -> fail.
//   unlock: subtract locked (one atomic add, as Go's Unlock; done if nothing else was set).
//     Otherwise: starving -> hand-off (the set starving bit keeps lockers out; under qlock_ pop
//     the head, set locked again on its behalf, end starvation mode if the queue is empty or the
//     head waited under 1 ms, wake it; if starving is clear by then, cancellations emptied the
//     queue and the lock is simply free: leave it); else, unless someone is woken or took it, under
//     qlock_ set woken, pop the head, wake it.
//   cancellation hook: under qlock_, remove the waiter if still queued (clearing waiting and
//     starving if the queue empties) and wake it. A woken waiter whose task is cancelled takes
//     the lock if it is free, else clears woken (the holder's unlock then wakes the next).
//
// References
//   Go src/sync/mutex.go (lockSlow, unlockSlow, starvation mode) and runtime/sema.go;
//   Tokio tokio/src/sync/mutex.rs (fair, on a FIFO semaphore); cppcoro lib/async_mutex.cpp.

#include <weft/runtime/runtime.hpp>
#include <weft/runtime/yield.hpp>
#include <weft/sync/mutex.hpp>

#include <weft/runtime/detail/timer_node.hpp>

namespace weft::sync {

namespace {
constexpr std::int64_t starvation_ns = 1'000'000; // Go: starvationThresholdNs
// Spin rounds before queueing: a few tries, tens of nanoseconds. Go spins up to 4 x 30 PAUSE, but
// only when its processor has nothing else to run (runtime_canSpin). The runtime does not tell us
// that, and spinning while other tasks wait keeps two cores fighting over the lock's cache line:
// bench `mutex` (1000 tasks, 2 workers) ran at ~19 ns/lock with 40 rounds, ~6 ns with 4.
constexpr int spin_rounds = 4;
} // namespace

namespace detail {

/// One round of lock_slow: wait in the queue (or take the lock on the way).
struct mutex_wait {
    mutex* m;
    mutex_waiter* w;
    bool was_woken;
    bool starve;
    bool cancellable;

    bool await_ready() const noexcept { return false; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) noexcept {
        w->bind(h);
        return m->wait_turn(*w, was_woken, starve, cancellable);
    }
    wait_state await_resume() noexcept {
        w->finish();
        return w->state;
    }
};

void mutex_waiter::on_cancel(weft::detail::cancel_hook* h) noexcept {
    auto* w = static_cast<mutex_waiter*>(h);
    cancel_wait(w, w->m->qlock_, [](task_waiter* t, wake_list&) noexcept {
        auto* mw = static_cast<mutex_waiter*>(t);
        sync::mutex* mx = mw->m;
        mx->queue_.remove(mw);
        if (mx->queue_.empty()) {
            mx->state_.fetch_and(
                ~(mutex::starving_bit | mutex::waiting_bit), std::memory_order_acq_rel);
        }
    });
}

bool lock_awaiter::spin_first() noexcept {
    return !yield_first_ && m_->spin();
}

void lock_awaiter::start_slow() {
    slow_.emplace(m_->lock_slow(yield_first_, cancellable_).release());
}

result<unique_guard<mutex>> lock_awaiter::finish_slow() {
    result<void> r = slow_->await_resume();
    if (!r) {
        return r.error();
    }
    return unique_guard<mutex>(*m_);
}

} // namespace detail

mutex::~mutex() {
    WEFT_ASSERT(
        state_.load(std::memory_order_relaxed) == 0,
        "weft::sync::mutex destroyed while locked or while tasks wait on it");
}

bool mutex::try_lock() noexcept {
    std::uint32_t s = state_.load(std::memory_order_relaxed);
    while ((s & (locked_bit | starving_bit)) == 0) {
        // acquire: pairs with unlock's release.
        if (state_.compare_exchange_weak(
                s, s | locked_bit, std::memory_order_acquire, std::memory_order_relaxed)) {
            return true;
        }
    }
    return false;
}

bool mutex::spin() noexcept {
    // Spinning helps only if the holder runs on another core right now (Go's canSpin).
    if (weft::detail::current_worker() != nullptr && weft::current_workers() < 2) {
        return false;
    }
    for (int i = 0; i < spin_rounds; ++i) {
        const std::uint32_t s = state_.load(std::memory_order_relaxed);
        if ((s & starving_bit) != 0) {
            return false; // hand-off mode: the lock goes to the queue, not to us
        }
        if ((s & locked_bit) == 0 && try_lock()) {
            return true;
        }
        weft::detail::cpu_relax();
    }
    return false;
}

bool mutex::drop_woken() noexcept {
    std::uint32_t s = state_.load(std::memory_order_relaxed);
    for (;;) {
        if ((s & (locked_bit | starving_bit)) == 0) {
            if (state_.compare_exchange_weak(
                    s,
                    (s | locked_bit) & ~woken_bit,
                    std::memory_order_acquire,
                    std::memory_order_relaxed)) {
                return true; // it was free: taken after all
            }
        } else if (state_.compare_exchange_weak(
                       s, s & ~woken_bit, std::memory_order_acq_rel, std::memory_order_relaxed)) {
            return false; // the holder's unlock will wake the next waiter
        }
    }
}

mutex::enqueued
mutex::enqueue_or_acquire(detail::mutex_waiter& w, bool was_woken, bool starve) noexcept {
    qlock_.lock();
    if (w.state == detail::wait_state::cancelled) { // the hook fired between arm() and here
        qlock_.unlock();
        return enqueued::cancelled;
    }
    std::uint32_t s = state_.load(std::memory_order_relaxed);
    for (;;) {
        if ((s & (locked_bit | starving_bit)) == 0) {
            std::uint32_t n = s | locked_bit;
            if (was_woken) {
                n &= ~woken_bit;
            }
            if (state_.compare_exchange_weak(
                    s, n, std::memory_order_acquire, std::memory_order_relaxed)) {
                qlock_.unlock();
                return enqueued::acquired;
            }
            continue;
        }
        std::uint32_t n = s | waiting_bit;
        if (was_woken) {
            n &= ~woken_bit;
        }
        if (starve && (s & locked_bit) != 0) {
            n |= starving_bit;
        }
        // acq_rel: an unlock that sees `waiting` also sees this waiter in the queue (qlock_).
        if (state_.compare_exchange_weak(
                s, n, std::memory_order_acq_rel, std::memory_order_relaxed)) {
            break;
        }
    }
    w.state = detail::wait_state::queued;
    if (was_woken) {
        queue_.push_front(&w); // it waited longest: keep its place (Go: queueLifo)
    } else {
        queue_.push_back(&w);
    }
    w.count_blocked(weft::detail::blocked_on::mutex);
    qlock_.unlock();
    return enqueued::queued;
}

bool mutex::wait_turn(
    detail::mutex_waiter& w, bool was_woken, bool starve, bool cancellable) noexcept {
    if (cancellable && !w.arm()) {
        // Cancelled. A woken waiter holds the right to compete: use it or pass it on.
        if (was_woken && drop_woken()) {
            w.state = detail::wait_state::done;
        }
        return false;
    }
    switch (enqueue_or_acquire(w, was_woken, starve)) {
    case enqueued::acquired:
        w.state = detail::wait_state::done;
        return false;
    case enqueued::cancelled:
        if (was_woken && drop_woken()) {
            w.state = detail::wait_state::done;
        }
        return false;
    case enqueued::queued:
        return true;
    }
    return false;
}

task<result<void>> mutex::lock_slow(bool yield_first, bool cancellable) {
    if (yield_first) {
        co_await weft::yield_now();
        if (try_lock() || spin()) {
            co_return result<void>{};
        }
    }
    detail::mutex_waiter w(this);
    w.wait_start = weft::detail::now_ns();
    bool was_woken = false;
    for (;;) {
        const bool starve = was_woken && weft::detail::now_ns() - w.wait_start > starvation_ns;
        w.state = detail::wait_state::idle;
        const detail::wait_state st =
            co_await detail::mutex_wait{this, &w, was_woken, starve, cancellable};
        if (st == detail::wait_state::done) {
            co_return result<void>{};
        }
        if (st == detail::wait_state::cancelled) {
            co_return result<void>(w.cancel_error());
        }
        was_woken = true; // woken: compete again, from the front of the queue
    }
}

unique_guard<mutex> mutex::blocking_lock() noexcept {
    WEFT_ASSERT(
        weft::detail::current_worker() == nullptr,
        "weft::sync::mutex::blocking_lock called on a weft worker (it would block the worker; "
        "co_await lock() instead)");
    if (try_lock_fast() || spin()) {
        return unique_guard<mutex>(*this);
    }
    detail::mutex_waiter w(this);
    w.wait_start = weft::detail::now_ns();
    bool was_woken = false;
    for (;;) {
        const bool starve = was_woken && weft::detail::now_ns() - w.wait_start > starvation_ns;
        w.bind_thread();
        w.state = detail::wait_state::idle;
        if (wait_turn(w, was_woken, starve, false)) {
            park_thread(w);
        }
        if (w.state == detail::wait_state::done) {
            return unique_guard<mutex>(*this);
        }
        was_woken = true;
    }
}

void mutex::unlock_slow(std::uint32_t old) noexcept {
    // unlock() has subtracted locked_bit already: `old` is the state it replaced.
    WEFT_ASSERT((old & locked_bit) != 0, "weft::sync::mutex: unlock of an unlocked mutex");
    std::uint32_t s = old & ~locked_bit;
    if ((s & starving_bit) != 0) {
        hand_off(); // nobody can take the lock while starving_bit is set
        return;
    }
    if ((s & waiting_bit) == 0 || (s & woken_bit) != 0) {
        return;
    }
    // Wake the first waiter to compete, unless someone took the lock meanwhile (its unlock will
    // wake one) or is already woken.
    detail::waiter* w = nullptr;
    qlock_.lock();
    s = state_.load(std::memory_order_relaxed);
    while (!queue_.empty() && (s & (locked_bit | woken_bit | starving_bit)) == 0) {
        std::uint32_t n = s | woken_bit;
        if (queue_.front()->next == nullptr) {
            n &= ~waiting_bit; // taking the last one
        }
        if (state_.compare_exchange_weak(
                s, n, std::memory_order_acq_rel, std::memory_order_relaxed)) {
            w = queue_.pop_front();
            w->state = detail::wait_state::woken;
            break;
        }
    }
    qlock_.unlock();
    if (w != nullptr) {
        detail::wake(w);
    }
}

void mutex::hand_off() noexcept {
    // unlock() cleared locked_bit; starving_bit still keeps every locker out (try_lock, spin,
    // drop_woken and enqueue_or_acquire all test locked | starving), unless a cancellation hook
    // emptied the queue meanwhile and cleared starving_bit (then the lock is simply free).
    qlock_.lock();
    if ((state_.load(std::memory_order_relaxed) & starving_bit) == 0) {
        // Every waiter was cancelled since unlock saw `starving` (the hook that emptied the queue
        // cleared it): the lock is simply free. Someone may have taken it since and a new waiter
        // queued behind that holder, whose unlock serves it: handing that waiter the lock here
        // would give it a second owner.
        qlock_.unlock();
        return;
    }
    auto* w = static_cast<detail::mutex_waiter*>(queue_.pop_front());
    WEFT_ASSERT(w != nullptr, "weft::sync::mutex: starving with nobody queued");
    std::uint32_t clear = 0;
    if (queue_.empty()) {
        clear = starving_bit | waiting_bit;
    } else if (weft::detail::now_ns() - w->wait_start < starvation_ns) {
        clear = starving_bit; // the head is not starving: back to normal mode (Go does the same)
    }
    // Lock it again, now for w. acq_rel: the unlocker's writes (released by its fetch_sub) reach
    // w through the wake as well.
    std::uint32_t s = state_.load(std::memory_order_relaxed);
    while (!state_.compare_exchange_weak(
        s, (s | locked_bit) & ~clear, std::memory_order_acq_rel, std::memory_order_relaxed)) {
    }
    w->state = detail::wait_state::done; // it owns the lock
    qlock_.unlock();
    detail::wake(w);
}

} // namespace weft::sync

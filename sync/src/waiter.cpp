// What every weft::sync primitive shares: the spin lock, waiters, waking, plain-thread parking,
// and the cancellation protocol.
//
// Vocabulary
//   primitive  a channel, mutex, semaphore, ... Each has one spin lock guarding its state and
//              its queue(s) of waiters.
//   waiter     what a suspended task (or a parked plain thread) leaves in a primitive's queue:
//              links, the coroutine handle and its runtime, a state (idle / queued / done /
//              closed / cancelled). It lives in the awaiter, in the task's coroutine frame.
//   completer  whoever moves a waiter from queued to done or closed: a sender finding a waiting
//              receiver, an unlock finding a waiting locker, a close, a set().
//   hook       the cancel_hook a waiting task arms in its cancel_state (runtime), fired from any
//              thread by a cancellation, under the cancel_state's own tiny lock.
//
// Invariants
//   1. A waiter's state and links change only under its primitive's lock.
//   2. Exactly one party takes a waiter out of `queued` (a completer or the hook: both under the
//      lock), and only that party wakes it, once, after releasing the lock; waking is its last
//      touch (the task may run at once elsewhere and free the frame).
//   3. Lock order: cancel_state lock, then primitive lock. A primitive's lock is never held while
//      arming, disarming, or calling into the scheduler, so the hook can never deadlock.
//   4. A completion decided under the lock stands: a task cancelled while its value or lock is
//      being handed over keeps what it got, and a cancelled waiter got nothing. So nothing is ever
//      lost or delivered twice.
//   5. Nothing here blocks a worker thread: the lock is held for a few instructions.
//   6. After the operation that lets a waiter proceed, nothing touches the primitive: a waiter
//      that got through without waiting may free it at once. A notify_list's releaser takes the
//      lock only when its RMW saw the waiting bit that queued waiters set (event.cpp).
//
// Rejected approaches
//   - A std::mutex per primitive: a futex syscall under contention, for critical sections of a
//     few dozen instructions. Go uses its own runtime lock for the same reason.
//   - Arming the cancel hook under the primitive's lock: the hook takes the locks in the other
//     order (cancel_state, then primitive) and would deadlock with it.
//   - Lock-free queues of waiters: cancellation from the middle of the queue and Go's close()
//     semantics need a consistent view of the queue; a lock held this briefly costs about as
//     much as the CASes it would replace.
//
// Current approach: a cancellable wait, in steps (task_waiter in detail/waiter.hpp)
//   1. Try to complete at once under the lock (no arming: the common case pays nothing for
//      cancellation). If that works, release the lock and, if the task's budget is spent, yield.
//   2. Otherwise bind the waiter to the task, and arm the hook (outside the lock). If the task is
//      already cancelled, or the runtime is stopping, fail with the cancellation error.
//   3. Take the lock again. If the hook fired meanwhile it found the waiter idle and marked it
//      cancelled: fail. Otherwise try once more to complete at once (the state may have changed
//      while the lock was free), else enqueue, count the task blocked (deadlock detector), release
//      the lock and suspend.
//   4. The hook: take the lock; queued -> unlink, mark cancelled, release, wake; idle -> mark
//      cancelled; done or closed -> nothing. Some primitives then pass on what the waiter no
//      longer needs (a semaphore re-grants permits to the waiters behind it, a mutex wakes the
//      next locker).
//   5. Resumed, the task disarms the hook (which waits for a hook running right now), uncounts
//      itself and reads its outcome from the waiter.
//
// Plain threads (blocking_* calls) leave the same waiter, with no coroutine handle: waking them
// sets a futex word and wakes the futex. They cannot be cancelled.
//
// References
//   Go runtime/chan.go and runtime/sema.go (sudog queues under one lock per object);
//   cppcoro lib/async_mutex.cpp; Tokio tokio/src/sync/batch_semaphore.rs (waiters that leave the
//   queue pass on their permits); the runtime's runtime/src/scheduler.cpp, "Cancellation".

#include <weft/runtime/detail/assert.hpp>
#include <weft/sync/detail/notify_list.hpp>
#include <weft/sync/detail/waiter.hpp>

#include <atomic>
#include <climits>
#include <cstdint>

#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace weft::sync::detail {

void park_thread(waiter& w) noexcept {
    // acquire: pairs with unpark_thread's release store; the completer's writes to the waiter
    // (outcome, value) are visible once the word reads 1.
    std::atomic_ref<std::uint32_t> word(w.thread_word);
    while (word.load(std::memory_order_acquire) == 0) {
        syscall(SYS_futex, &w.thread_word, FUTEX_WAIT_PRIVATE, 0, nullptr, nullptr, 0);
    }
}

void unpark_thread(waiter& w) noexcept {
    // Take the address first: once the word is 1 the parked thread may return and free `w`.
    // FUTEX_WAKE on a private futex only hashes the address, so waking after that is harmless.
    std::uint32_t* addr = &w.thread_word;
    std::atomic_ref<std::uint32_t>(*addr).store(1, std::memory_order_release);
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

void cancel_wait(task_waiter* w, weft::detail::spin_lock& lock, unlink_fn unlink) noexcept {
    // Runs under the task's cancel_state lock, on any thread.
    wake_list wl;
    lock.lock();
    if (w->state == wait_state::queued) {
        unlink(w, wl);
        w->state = wait_state::cancelled;
        lock.unlock();
        wake(w);
        wl.wake_all();
        return;
    }
    if (w->state == wait_state::idle) {
        w->state =
            wait_state::cancelled; // not enqueued yet: the waiting side sees it under the lock
    }
    lock.unlock();
}

void notify_waiter::on_cancel(weft::detail::cancel_hook* h) noexcept {
    auto* w = static_cast<notify_waiter*>(h);
    cancel_wait(w, w->list->lock, [](task_waiter* t, wake_list&) noexcept {
        auto* nw = static_cast<notify_waiter*>(t);
        notify_list& l = *nw->list;
        l.waiters.remove(nw);
        if (l.waiters.empty()) {
            l.word.fetch_and(~notify_list::waiting_bit, std::memory_order_acq_rel);
        }
    });
}

bool notify_ready_or_mark(notify_list& l, ready_fn ready) noexcept {
    // acquire: pairs with the releaser's RMW (the condition and what it publishes).
    std::uint64_t s = l.word.load(std::memory_order_acquire);
    while (!ready(s)) {
        // acq_rel: a releaser whose RMW comes after this one sees the bit, and takes the lock.
        if (l.word.compare_exchange_weak(
                s,
                s | notify_list::waiting_bit,
                std::memory_order_acq_rel,
                std::memory_order_acquire)) {
            return false;
        }
    }
    return true;
}

bool notify_suspend(notify_waiter& w, ready_fn ready, weft::detail::blocked_on kind) noexcept {
    if (!w.arm()) {
        return false;
    }
    notify_list& l = *w.list;
    l.lock.lock();
    if (w.state == wait_state::cancelled) { // the hook fired between arm() and the lock
        l.lock.unlock();
        return false;
    }
    if (notify_ready_or_mark(l, ready)) {
        w.state = wait_state::done;
        l.lock.unlock();
        return false;
    }
    w.state = wait_state::queued;
    l.waiters.push_back(&w);
    w.count_blocked(kind);
    l.lock.unlock();
    return true;
}

void notify_block(notify_list& l, ready_fn ready) noexcept {
    WEFT_ASSERT(
        weft::detail::current_worker() == nullptr,
        "weft::sync: a blocking_wait called on a weft worker (it would block the worker; "
        "co_await wait() instead)");
    notify_waiter w(&l);
    w.bind_thread();
    l.lock.lock();
    if (notify_ready_or_mark(l, ready)) {
        l.lock.unlock();
        return;
    }
    w.state = wait_state::queued;
    l.waiters.push_back(&w);
    l.lock.unlock();
    park_thread(w);
}

} // namespace weft::sync::detail

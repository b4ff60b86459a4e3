// Timers: each worker's timer queue, sleeps, and their cancellation.
//
// Vocabulary
//   timer node  a timer_node (timer_node.hpp), intrusive: it lives inside the awaiter that waits on
//               it (in the coroutine frame), so a sleep allocates nothing.
//   owner       the worker a timer was registered on (the one the task ran on); only it touches
//               its timer queue (timer_queue.hpp: a sorted run plus a 4-ary heap).
//   inbox       the owner's MPSC stack of timer nodes cancelled from other threads.
//
// Invariants
//   1. A node's state goes waiting -> fired (the owner, when the deadline passes) or
//      waiting -> cancelled (anyone, through timer_cancel or a sleep's cancel hook). Exactly one
//      CAS wins; the loser leaves the node alone.
//   2. A node is unlinked from its queue only by the owner, and its waiter does not run before the
//      unlink: the node lives in the waiter's frame.
//   3. timers_size_ mirrors the queue's size after every change, for the deadlock detector and
//      quiescent() on other threads.
//
// Rejected approaches
//   - Unlinking a cancelled node from another thread under a lock: every owner operation would
//     pay for the lock; the inbox costs the owner one relaxed load per scheduling turn.
//
// Current approach: cancellation, in steps
//   1. cancel_state.hpp holds the per-task flag and hook. A sleep's hook CASes its timer node
//      waiting -> cancelled (invariant 1).
//   2. On the owner worker it unlinks the node and queues the task at once.
//   3. Elsewhere it posts the node to the owner's inbox (release) and unparks the owner.
//   4. The owner drains the inbox (acquire) on its next turn, unlinks each node, and only then
//      queues its waiter (invariant 2).
//   A parked worker sleeps until its nearest deadline; at shutdown each worker fires all its
//   timers early (fire_all_timers), and the sleeps see the runtime stopping.
//
// Out of memory
//   Firing needs room in the wake-up list: without it the timer loops stop and the rest fire on
//   a later turn, once the woken tasks have run (fifo_has_room). A sleep whose registration cannot
//   grow the timer queue throws bad_alloc into its task (sleep_awaiter::suspend may throw); a sleep
//   at shutdown registers nothing, so the stopping runtime allocates nothing for it.
//
// References
//   Go runtime/time.go (per-P 4-ary timer heaps, timers moved by their owner); Tokio
//   runtime/time (per-driver wheel, cancellation through the driver).

#include <weft/runtime/timer.hpp>

#include <weft/runtime/detail/assert.hpp>

#include "scheduler.hpp"

#include <ctime>

namespace weft::detail {

// ---------------------------------------------------------------------------------------------
// worker: the owner's side

void worker::register_timer(timer_node* n) {
    n->owner = this;
    timers_.push(n);
    timers_size_.store(timers_.size(), std::memory_order_relaxed);
}

bool worker::try_cancel_local_timer(timer_node* n) noexcept {
    if (n->queue_pos != ~0u) {
        timers_.remove(n);
        timers_size_.store(timers_.size(), std::memory_order_relaxed);
    }
    return true;
}

void worker::post_cancelled_timer(timer_node* n) noexcept {
    timer_node* head = inbox_.load(std::memory_order_relaxed);
    do {
        n->inbox_next = head;
        // release: the node's fields are visible to the owner's acquire exchange in drain_inbox.
    } while (!inbox_.compare_exchange_weak(
        head, n, std::memory_order_release, std::memory_order_relaxed));
    unpark();
}

void worker::drain_inbox() noexcept {
    timer_node* n = inbox_.exchange(nullptr, std::memory_order_acquire);
    while (n != nullptr) {
        timer_node* next = n->inbox_next;
        if (n->queue_pos != ~0u) {
            timers_.remove(n);
        }
        // The canceller set the awaiter's outcome before posting; now the task may run.
        push_wakeup(n->waiter);
        n = next;
    }
    timers_size_.store(timers_.size(), std::memory_order_relaxed);
}

bool worker::fire(timer_node* n) noexcept {
    std::uint32_t expected = timer_node::waiting;
    if (!n->state.compare_exchange_strong(
            expected, timer_node::fired, std::memory_order_acq_rel, std::memory_order_acquire)) {
        // Cancelled: the node is on (or about to be on) the inbox, which queues the waiter.
        return false;
    }
    if (n->on_fire != nullptr) {
        n->on_fire(n);
    } else {
        push_wakeup(n->waiter);
    }
    return true;
}

bool worker::run_timers() noexcept {
    if (timers_.empty()) {
        return false;
    }
    std::int64_t now = now_ns();
    bool any = false;
    // Room first: out of memory, the rest of the due timers wait for the next turn (after the
    // woken tasks have run) instead of failing in a noexcept path.
    while (!timers_.empty() && timers_.next_deadline() <= now && fifo_has_room()) {
        if (fire(timers_.pop())) {
            worker_counters::bump(counters_.timers_fired);
            any = true;
        }
    }
    timers_size_.store(timers_.size(), std::memory_order_relaxed);
    if (any && deque_.size() > 1) {
        sched_.maybe_notify_local();
    }
    return any;
}

void worker::fire_all_timers() noexcept {
    // As in run_timers: out of memory for the wake-ups, fire the rest on a later turn (the worker
    // keeps calling this while the runtime stops and timers are left).
    while (!timers_.empty() && fifo_has_room()) {
        fire(timers_.pop());
    }
    timers_size_.store(timers_.size(), std::memory_order_relaxed);
}

// ---------------------------------------------------------------------------------------------
// Entry points (timer_node.hpp, timer.hpp)

std::int64_t now_ns() noexcept {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void timer_register(timer_node* n) noexcept {
    worker* w = tls_worker;
    WEFT_ASSERT(w != nullptr, "weft: a timer was started outside a weft worker");
    w->register_timer(n);
}

cancel_result timer_cancel(timer_node* n) noexcept {
    std::uint32_t expected = timer_node::waiting;
    if (!n->state.compare_exchange_strong(
            expected,
            timer_node::cancelled,
            std::memory_order_acq_rel,
            std::memory_order_acquire)) {
        return cancel_result::cancel_lost;
    }
    worker* owner = n->owner;
    if (owner == tls_worker) {
        owner->try_cancel_local_timer(n);
        return cancel_result::cancel_done;
    }
    owner->post_cancelled_timer(n);
    return cancel_result::cancel_pending;
}

bool sleep_awaiter::suspend(std::coroutine_handle<> h) {
    worker* w = tls_worker;
    WEFT_ASSERT(w != nullptr, "weft: a timer was started outside a weft worker");
    const bool stopping = runtime_stopping();
    if (!stopping) {
        // Out of memory for the timer queue, bad_alloc goes to the sleeping task (a throwing
        // await_suspend resumes it with the exception); a stopping runtime registers nothing.
        w->register_timer(&node_);
    }
    if (stopping || (cancel_ != nullptr && !cancel_->arm(this))) {
        if (!stopping) {
            w->try_cancel_local_timer(&node_);
        }
        node_.state.store(timer_node::cancelled, std::memory_order_relaxed); // nobody else saw it
        // Suspend all the same, behind the queued tasks: a loop that ignores the error would
        // otherwise never give its worker back, and shutdown could never end.
        w->push_yielded(h);
        return true;
    }
    return true;
}

void sleep_awaiter::on_cancel(cancel_hook* hook) noexcept {
    // Runs under the task's cancel_state lock, on any thread.
    auto* self = static_cast<sleep_awaiter*>(hook);
    std::uint32_t expected = timer_node::waiting;
    if (!self->node_.state.compare_exchange_strong(
            expected,
            timer_node::cancelled,
            std::memory_order_acq_rel,
            std::memory_order_acquire)) {
        return; // already fired: the task is queued and will see a normal wake-up
    }
    worker* owner = self->node_.owner;
    if (owner == tls_worker) {
        owner->try_cancel_local_timer(&self->node_);
        owner->push_wakeup(self->node_.waiter);
    } else {
        owner->post_cancelled_timer(&self->node_); // the owner unlinks, then queues the waiter
    }
}

} // namespace weft::detail

// The finish of a spawned task and block_on: the scheduler's side of the join protocol.
//
// Vocabulary
//   join word     promise_base::join_ (join_word.hpp: its encoding and the protocol steps).
//   joiner        whoever waits for a spawned task: a join_handle await, a group (when_all,
//                 when_any, with_timeout), a scope, or a thread in runtime::block_on.
//   block waiter  block_on's join_listener: a semaphore the finishing task releases.
//
// Invariants
//   1. The task and its joiner meet on the join word alone; whoever comes second does the
//      follow-up (resume the waiter, notify the listener, free the frame).
//   2. A block waiter stays allocated while a task might still notify it: when a deadlock is
//      declared and the task has not finished, block_on returns without it and leaks it.
//
// Rejected approaches
//   - A mutex and condition variable per join: the join is on the fork-join hot path (skynet,
//     fib); one exchange by the task and at most one CAS by the joiner is the whole cost.
//
// Current approach
//   1. finish_spawned (the task's final suspend; in scheduler_hooks.cpp, next to tls_worker, so
//      that its thread-local access stays one instruction on the spawn-join hot path): count the
//      task done, record the runtime if it threw, exchange the word with done, then by what was
//      there: nothing (the handle takes the result), detached (report the exception, free the
//      frame), a listener (child_done), a waiter (symmetric transfer to it).
//   2. block_until_done (runtime::block_on, off the workers): register a block waiter on the
//      scheduler, try_listen on the word; if the task is still running, run one deadlock check
//      (the workers may all be asleep already) and wait on the semaphore.
//   3. inject_spawn: a spawn from runtime::spawn; on a worker of that runtime, onto its deque,
//      elsewhere onto the global queue.
//
// References
//   TooManyCooks tmc/detail/ex_cpu.ipp (a spawned task's join state in its own frame).

#include <weft/runtime/detail/assert.hpp>
#include <weft/runtime/detail/promise.hpp>

#include "scheduler.hpp"
#include "thread_signals.hpp"

#include <algorithm>
#include <mutex>

namespace weft::detail {

void inject_spawn(scheduler& s, std::coroutine_handle<> h) {
    worker* w = tls_worker;
    if (w != nullptr && &w->sched() == &s) {
        w->push_local(h, true);
        return;
    }
    try {
        s.inject(h);
    } catch (...) {
        h.destroy();
        throw;
    }
}

bool block_until_done(scheduler& s, promise_base& p) {
    WEFT_ASSERT(
        tls_worker == nullptr,
        "weft::runtime::block_on called on a worker thread (it would block the worker; "
        "co_await the task instead)");
    // Heap-allocated: if a deadlock is declared we return without it, and a task that finishes
    // later (it should not) still finds a live listener. Leaked only in that case.
    auto* w = new scheduler::block_waiter;
    w->task = &p;
    w->child_done = [](join_listener* self, void*) noexcept -> std::coroutine_handle<> {
        static_cast<scheduler::block_waiter*>(self)->sem.release();
        return std::noop_coroutine();
    };
    s.add_block_waiter(w);
    if (p.join_.try_listen(w)) {
        // The workers may all have gone to sleep before we registered: their last deadlock check
        // found no waiter to release. Check once more now that we are one.
        s.check_deadlock();
        async_signals_blocked quiet; // a signal goes to sysmon meanwhile (thread_signals.hpp)
        w->sem.acquire();
    }
    s.remove_block_waiter(w);
    if (w->deadlocked.load(std::memory_order_acquire) && !p.join_.is_done()) {
        return false; // abandon: the listener stays allocated
    }
    delete w;
    return true;
}

void scheduler::add_block_waiter(block_waiter* w) {
    std::lock_guard lk(block_mu_);
    block_waiters_.push_back(w);
}

void scheduler::remove_block_waiter(block_waiter* w) {
    std::lock_guard lk(block_mu_);
    block_waiters_.erase(std::find(block_waiters_.begin(), block_waiters_.end(), w));
}

} // namespace weft::detail

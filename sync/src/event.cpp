// event, latch and wait_group share one algorithm: a condition (a flag, a counter at zero) and a
// notify_list of waiters released together (detail/notify_list.hpp).
//
// Vocabulary
//   condition  what a waiter waits for: set_ (event), count_ == 0 (latch, wait_group). An atomic
//              read without the lock by the fast path, and under the list's lock by a waiter about
//              to enqueue.
//   release    making the condition true, then, under the list's lock, taking every waiter.
//
// Invariants
//   1. A waiter checks the condition and enqueues in one critical section of the list's lock; a
//      releaser makes the condition true before it takes that lock. So either the waiter sees
//      the condition, or the releaser sees the waiter: no wake-up is lost.
//   2. A released waiter is marked done under the lock; its cancellation hook then does nothing.
//
// Rejected approaches
//   - Skipping the lock in set()/done() when the queue looks empty: a waiter between its check and
//     its enqueue would be missed. One uncontended lock per release is cheap; waits that find the
//     condition true take no lock at all.
//   - std::latch / std::barrier: they block the thread.
//
// Current approach, in steps
//   wait: read the condition (acquire); true -> done (yield if the budget is spent). Else arm,
//   lock,
//     re-check, enqueue, count blocked, unlock, suspend (notify_suspend in waiter.cpp).
//   release: make the condition true (release store / RMW), lock, take every waiter, unlock, wake.
//
// References
//   Go src/sync/waitgroup.go (counter and waiters, panics on misuse); Abseil
//   absl/synchronization/notification.h (the memory-ordering contract); C++20 std::latch.

#include <weft/sync/event.hpp>

#include <weft/runtime/detail/assert.hpp>

namespace weft::sync {

event::~event() {
    WEFT_ASSERT(list_.waiters.empty(), "weft::sync::event destroyed while tasks wait on it");
}

void event::set() noexcept {
    // release: pairs with ready()'s acquire load; waiters released below see it through the lock.
    set_.store(true, std::memory_order_release);
    list_.release_all();
}

} // namespace weft::sync

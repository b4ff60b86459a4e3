// event, latch and wait_group share one algorithm: a condition (a flag, a counter at zero) and a
// notify_list of waiters released together (detail/notify_list.hpp).
//
// Vocabulary
//   condition  what a waiter waits for: the set bit (event), a count of zero (latch,
//              wait_group), kept in the list's word above its waiting bit. An atomic read
//              without the lock by the fast path, and under the list's lock by a waiter about to
//              enqueue.
//   waiting    bit 0 of the word: set while the queue is not empty (changed under the lock).
//   release    making the condition true (one RMW on the word), then, if that RMW saw the
//              waiting bit, taking every waiter under the list's lock.
//
// Invariants
//   1. A waiter checks the condition and sets the waiting bit by one CAS, and enqueues, in one
//      critical section of the list's lock; a releaser makes the condition true by one RMW on
//      the same word. So either the waiter's CAS sees the condition, or the releaser's RMW sees
//      the bit: no wake-up is lost.
//   2. A released waiter is marked done under the lock; its cancellation hook then does nothing.
//   3. After the operation that lets a waiter proceed, the releaser touches the primitive only
//      if some waiter is still queued (the bit): a waiter that saw the condition may free the
//      primitive at once (Go's `wg.Wait(); return`), while a queued one keeps it alive until it
//      is woken, after the unlock.
//
// Rejected approaches
//   - Taking the lock at every release: the waiter that sees the condition without waiting may
//     already have freed the primitive when the releaser gets to the lock.
//   - std::latch / std::barrier: they block the thread.
//
// Current approach, in steps
//   wait: read the word (acquire); condition true -> done (yield if the budget is spent). Else
//     arm, lock, re-check and set the waiting bit by CAS (notify_ready_or_mark), enqueue, count
//     blocked, unlock, suspend (notify_suspend in waiter.cpp).
//   release: make the condition true (RMW); waiting bit clear -> return. Else lock, take every
//     waiter, clear the bit, unlock, wake.
//   cancellation hook: lock, unlink, clear the bit if the queue is now empty, unlock, wake.
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
    // acq_rel: pairs with the waiters' acquire load and with their CAS that set the waiting bit.
    const std::uint64_t old = list_.word.fetch_or(set_bit, std::memory_order_acq_rel);
    if ((old & detail::notify_list::waiting_bit) != 0) {
        list_.release_all(); // the queued waiters keep the event alive until woken
    }
}

} // namespace weft::sync

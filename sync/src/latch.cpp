// latch: a counter and a notify_list; the algorithm is event.cpp's (condition: count == 0).
//
// Vocabulary, invariants and protocol: see event.cpp. Specific to the latch:
//   - count_down is one RMW on the list's word (acq_rel: every count_down happens-before the
//     one that reaches zero, and that one's release of the waiters); only the call that brings
//     the count to zero while the waiting bit is set takes the lock. After the operation that
//     lets a waiter proceed, nothing touches the latch: with nobody queued, that RMW is the last
//     touch (a waiter that saw zero may free the latch at once).
//   - The count never goes up, so once a wait sees zero it is zero for ever.
//
// References
//   C++20 std::latch ([thread.latch]); Go src/sync/waitgroup.go.

#include <weft/sync/latch.hpp>

#include <weft/runtime/detail/assert.hpp>

namespace weft::sync {

latch::latch(std::ptrdiff_t count) noexcept {
    WEFT_ASSERT(count >= 0, "weft::sync::latch: negative initial count");
    list_.word.store(static_cast<std::uint64_t>(count) << 1, std::memory_order_relaxed);
}

latch::~latch() {
    WEFT_ASSERT(list_.waiters.empty(), "weft::sync::latch destroyed while tasks wait on it");
}

void latch::count_down(std::ptrdiff_t n) noexcept {
    WEFT_ASSERT(n >= 0, "weft::sync::latch::count_down with a negative count");
    if (n == 0) {
        return;
    }
    const std::uint64_t step = static_cast<std::uint64_t>(n) << 1;
    const std::uint64_t old = list_.word.fetch_sub(step, std::memory_order_acq_rel);
    WEFT_ASSERT(
        (old >> 1) >= static_cast<std::uint64_t>(n), "weft::sync::latch: count_down below zero");
    // Nobody queued: that RMW was the last touch (a waiter that saw zero may have freed us).
    if ((old >> 1) == static_cast<std::uint64_t>(n) &&
        (old & detail::notify_list::waiting_bit) != 0) {
        list_.release_all();
    }
}

} // namespace weft::sync

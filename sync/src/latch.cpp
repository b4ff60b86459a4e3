// latch: a counter and a notify_list; the algorithm is event.cpp's (condition: count == 0).
//
// Vocabulary, invariants and protocol: see event.cpp. Specific to the latch:
//   - count_down is one RMW (acq_rel: every count_down happens-before the one that reaches zero,
//     and that one's release of the waiters); only the call that brings the count to zero takes
//     the lock.
//   - The count never goes up, so once a wait sees zero it is zero for ever.
//
// References
//   C++20 std::latch ([thread.latch]); Go src/sync/waitgroup.go.

#include <weft/sync/latch.hpp>

#include <weft/runtime/detail/assert.hpp>

namespace weft::sync {

latch::latch(std::ptrdiff_t count) noexcept
    : count_(count) {
    WEFT_ASSERT(count >= 0, "weft::sync::latch: negative initial count");
}

latch::~latch() {
    WEFT_ASSERT(list_.waiters.empty(), "weft::sync::latch destroyed while tasks wait on it");
}

void latch::count_down(std::ptrdiff_t n) noexcept {
    WEFT_ASSERT(n >= 0, "weft::sync::latch::count_down with a negative count");
    if (n == 0) {
        return;
    }
    const std::ptrdiff_t left = count_.fetch_sub(n, std::memory_order_acq_rel) - n;
    WEFT_ASSERT(left >= 0, "weft::sync::latch: count_down below zero");
    if (left == 0) {
        list_.release_all();
    }
}

} // namespace weft::sync

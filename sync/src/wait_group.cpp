// wait_group: a counter and a notify_list; the algorithm is event.cpp's (condition: count == 0).
//
// Vocabulary, invariants and protocol: see event.cpp. Specific to the wait group:
//   - add() is one RMW (acq_rel: every done() happens-before the one that reaches zero and its
//     release of the waiters); only the add() that brings the counter to zero takes the lock.
//   - Unlike Go, a wait that is still waiting when a new round starts (add from zero) keeps
//     waiting for that round: it was not released, because the counter never read zero for it.
//
// References
//   Go src/sync/waitgroup.go (Add, Done, Wait; "sync: negative WaitGroup counter").

#include <weft/sync/wait_group.hpp>

#include <weft/runtime/detail/assert.hpp>

namespace weft::sync {

wait_group::~wait_group() {
    WEFT_ASSERT(list_.waiters.empty(), "weft::sync::wait_group destroyed while tasks wait on it");
}

void wait_group::add(std::int64_t delta) noexcept {
    const std::int64_t now = count_.fetch_add(delta, std::memory_order_acq_rel) + delta;
    WEFT_ASSERT(now >= 0, "weft::sync::wait_group: negative counter (more done() than add())");
    if (now == 0 && delta != 0) {
        list_.release_all();
    }
}

} // namespace weft::sync

// wait_group: a counter and a notify_list; the algorithm is event.cpp's (condition: count == 0).
//
// Vocabulary, invariants and protocol: see event.cpp. Specific to the wait group:
//   - add() is one RMW on the list's word (acq_rel: every done() happens-before the one that
//     reaches zero and its release of the waiters); only the add() that brings the counter to
//     zero while the waiting bit is set takes the lock. With nobody queued that RMW is done()'s
//     last touch: after the operation that lets a waiter proceed, nothing touches the group (Go's
//     `wg.Wait(); return` may free it at once; Go's Add likewise skips the semaphore then).
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
    const std::uint64_t step = static_cast<std::uint64_t>(delta) << 1;
    // acq_rel: every done() happens-before the one that reaches zero, and that one before the
    // waits it lets through (their acquire load of the word).
    const std::uint64_t old = list_.word.fetch_add(step, std::memory_order_acq_rel);
    const std::int64_t now = count_in(old + step);
    WEFT_ASSERT(now >= 0, "weft::sync::wait_group: negative counter (more done() than add())");
    // Nobody queued: that RMW was the last touch (a waiter that saw zero may have freed us).
    if (now == 0 && delta != 0 && (old & detail::notify_list::waiting_bit) != 0) {
        list_.release_all();
    }
}

} // namespace weft::sync

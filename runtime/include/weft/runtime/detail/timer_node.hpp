// A timer registered on a worker's timer queue. Intrusive: it lives inside the awaiter that waits
// on it (in the coroutine frame), so a sleep allocates nothing.
//
// Ownership protocol (runtime/src/timers.cpp has the essay):
//   - Only the owner worker touches its timer queue (runtime/src/timer_queue.hpp). A timer is
//   registered on the worker the task runs on.
//   - state_ goes waiting -> fired (by the owner when the deadline passes, then on_fire runs) or
//     waiting -> cancelled (by anyone, through timer_cancel). Exactly one CAS wins.
//   - A cancel from another thread cannot unlink the node itself: it pushes the node onto the
//     owner's inbox and the owner unlinks it and then runs `waiter` (the coroutine waiting for the
//     unlink). Until then the node's memory must stay alive: the waiter stays suspended.
#pragma once

#include <weft/runtime/detail/spin_lock.hpp>

#include <atomic>
#include <coroutine>
#include <cstdint>

namespace weft::detail {

class worker;

struct timer_node {
    enum : std::uint32_t { waiting = 0, cancelled = 1, fired = 2, fire_complete = 3 };

    std::int64_t deadline_ns = 0;     // steady_clock nanoseconds
    std::coroutine_handle<> waiter{}; // resumed on fire (default) or after remote unlink
    void (*on_fire)(timer_node*) noexcept =
        nullptr;                   // null: schedule `waiter`; must be the last
                                   // touch of the node unless it sets fire_complete
    worker* owner = nullptr;       // written at registration, read by cancellers
    std::uint32_t queue_pos = ~0u; // owner only: heap index or run position; ~0u when unlinked
    std::atomic<std::uint32_t> state{waiting}; // see above
    timer_node* inbox_next = nullptr;          // link in the owner's inbox (cancellations)
};

/// Current steady_clock time in nanoseconds.
std::int64_t now_ns() noexcept;

/// Registers `n` on the current worker's timer queue. Requires a worker thread.
void timer_register(timer_node* n) noexcept;

/// Cancels `n`. Returns:
///   cancel_done     unlinked now (we were on the owner); the node is free to go
///   cancel_pending  the owner will unlink it and then schedule n->waiter: suspend until then
///   cancel_lost     the timer had already fired; on_fire has run or is running
enum class cancel_result { cancel_done, cancel_pending, cancel_lost };
cancel_result timer_cancel(timer_node* n) noexcept;

/// After timer_cancel(n) returned cancel_lost for a node whose on_fire ends by storing
/// fire_complete: waits until on_fire has finished with the node (it is short and never blocks),
/// so that the node's memory may go.
inline void wait_fire_complete(const timer_node& n) noexcept {
    // acquire: pairs with on_fire's release store of fire_complete, its last touch of the node;
    // whatever on_fire wrote before it is visible after.
    while (n.state.load(std::memory_order_acquire) != timer_node::fire_complete) {
        cpu_relax();
    }
}

} // namespace weft::detail

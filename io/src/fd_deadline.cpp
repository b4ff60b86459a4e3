// A descriptor's read and write deadlines (fd_set_deadline; the stream and datagram types'
// set_read_deadline / set_write_deadline / set_deadline, Go's SetDeadline family).
//
// Vocabulary
//   deadline  st->deadline[side]: absolute steady-clock nanoseconds, < 0 for none. Any thread
//             stores it (release); op_start loads it (acquire) into an op that has no deadline of
//             its own, and the op's deadline timer (arm_waiting, op_protocol.cpp) enforces it.
//
// Invariants
//   1. A deadline applies to the ops that start after it is set; ops already in flight keep the
//      deadline they started with, unless the new one has already passed.
//   2. A deadline already in the past interrupts the ops in flight on that side (why_deadline:
//      they fail with timed_out), the Go idiom for unblocking a reader from another task.
//
// Current approach
//   Store the deadline. If it has passed: under st's lock take the side's queued ops (recording
//   why_deadline) and ask its other ops in flight to cancel (cancel_locked); after unlocking,
//   complete the taken ones.
//
// References
//   Go runtime/netpoll.go (poll_runtime_pollSetDeadline).

#include <weft/runtime/detail/timer_node.hpp>

#include "fd_state.hpp"
#include "io_reactor.hpp"
#include "op_protocol.hpp"
#include "wait_queue.hpp"

#include <atomic>
#include <cerrno>
#include <cstdint>

namespace weft::io::detail {

std::int64_t to_ns(clock::time_point t) noexcept {
    if (t == clock::time_point{}) {
        return -1;
    }
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    return ns < 0 ? 0 : ns;
}

void fd_set_deadline(fd_state* st, op_side side, std::int64_t deadline_ns) noexcept {
    auto s = static_cast<unsigned>(side);
    st->deadline[s].store(deadline_ns < 0 ? -1 : deadline_ns, std::memory_order_release);
    if (deadline_ns < 0 || deadline_ns > weft::detail::now_ns()) {
        return;
    }
    // Already passed: interrupt what is in flight on that side (Go's SetReadDeadline(past)).
    st->lock.lock();
    op* taken = wq_take_all(st, side);
    {
        for (op* o = taken; o != nullptr; o = o->rnext) {
            o->res = -ECANCELED;
            record_why(*o, why_deadline);
        }
    }
    for (op* o = st->ops[s]; o != nullptr; o = o->next) {
        if (why_of(o->state.load(std::memory_order_acquire)) == why_none) {
            o->owner->cancel_locked(*o, why_deadline);
        }
    }
    st->lock.unlock();
    for (op* o = taken; o != nullptr;) {
        op* next = o->rnext;
        complete_taken(*o, false);
        o = next;
    }
}

} // namespace weft::io::detail

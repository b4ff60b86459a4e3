// Quick uses of a descriptor: fd_use for a system call that cannot wait (a page-cache read by
// preadv2(RWF_NOWAIT), file.cpp), with one atomic add instead of st->lock, so that workers
// reading one file do not take turns on its lock.
//
// The word (fd_state::quick): the low bits count the users between fd_use_quick and
// fd_unuse_quick; q_gate is set by close(), after which fd_use_quick fails; q_holder is set by
// close() together with q_gate when users were inside: close() then takes one ordinary use
// (inflight) on their behalf, and whichever user leaves last clears q_holder and drops that use,
// so the number is closed only once they are all out (op_protocol.cpp, invariant 3). A user that
// comes in after the gate sees it and leaves without touching anything else.
//
// Memory orders: fd_use_quick's acquire add and close()'s acq_rel CAS (quick_close_locked) meet on
// the one word, so either close() comes first (the user sees the gate and never reads fd) or it
// sees the user's count (and holds a use for it); the last user's acq_rel CAS reads close()'s
// holder bit.

#include "fd_state.hpp"

#include <atomic>
#include <cerrno>
#include <cstdint>

namespace weft::io::detail {

namespace {
constexpr std::uint32_t q_gate = 1u << 31;
constexpr std::uint32_t q_holder = 1u << 30;
constexpr std::uint32_t q_count = q_holder - 1;
} // namespace

bool quick_close_locked(fd_state* st) noexcept {
    std::uint32_t v = st->quick.load(std::memory_order_relaxed);
    for (;;) {
        std::uint32_t want = v | q_gate | ((v & q_count) != 0 ? q_holder : 0);
        // acq_rel: sees the users' increments; the last user's decrement reads our holder bit.
        if (st->quick.compare_exchange_weak(
                v, want, std::memory_order_acq_rel, std::memory_order_relaxed)) {
            return (want & q_holder) != 0;
        }
    }
}

int fd_use_quick(fd_state* st) noexcept {
    if (st == nullptr) {
        return -EBADF;
    }
    // acquire: the read of fd below stays after our count. close()'s CAS on the same word either
    // comes first (we see the gate and never read fd) or sees our count (and holds a use for us).
    const std::uint32_t v = st->quick.fetch_add(1, std::memory_order_acquire);
    if ((v & q_gate) != 0) {
        fd_unuse_quick(st);
        return -EBADF;
    }
    return st->fd; // stable: the number is not closed while we are counted
}

void fd_unuse_quick(fd_state* st) noexcept {
    std::uint32_t v = st->quick.load(std::memory_order_relaxed);
    std::uint32_t want;
    do {
        want = v - 1;
        if (want == (q_gate | q_holder)) {
            want = q_gate; // the last user out after close(): ours to drop its use
        }
        // acq_rel: pairs with quick_close_locked's CAS.
    } while (!st->quick.compare_exchange_weak(
        v, want, std::memory_order_acq_rel, std::memory_order_relaxed));
    if (want == q_gate && v == (q_gate | q_holder | 1)) {
        fd_unuse(st);
    }
}

} // namespace weft::io::detail

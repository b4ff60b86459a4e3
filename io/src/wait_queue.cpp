// The wait queues of a descriptor: per side, a FIFO of the ops that wait for it (every epoll op
// that met EAGAIN; io_uring accept waiters), linked through op::rnext/rprev. Every function here
// runs with st->lock held; whoever takes an op off a queue completes it (op_protocol.cpp,
// invariant 1). Each push and removal also keeps the counts that pending() and the epoll home's
// poll() read (io_reactor::queued, io_reactor::home_waiters).

#include "wait_queue.hpp"

#include "fd_state.hpp"
#include "io_reactor.hpp"

#include <atomic>
#include <cstddef>

namespace weft::io::detail {

namespace {
void count_queued(fd_state* st, op& o, std::ptrdiff_t d) noexcept {
    o.owner->queued.fetch_add(static_cast<std::size_t>(d), std::memory_order_relaxed);
    if (st->home != nullptr) {
        st->home->home_waiters.fetch_add(static_cast<std::size_t>(d), std::memory_order_relaxed);
    }
}
} // namespace

void wq_push_back(fd_state* st, op& o) noexcept {
    auto s = static_cast<unsigned>(o.side);
    o.rnext = nullptr;
    o.rprev = st->wq_tail[s];
    if (o.rprev != nullptr) {
        o.rprev->rnext = &o;
    } else {
        st->wq_head[s] = &o;
    }
    st->wq_tail[s] = &o;
    o.queued = true;
    count_queued(st, o, 1);
}

void wq_remove(fd_state* st, op& o) noexcept {
    auto s = static_cast<unsigned>(o.side);
    if (o.rprev != nullptr) {
        o.rprev->rnext = o.rnext;
    } else {
        st->wq_head[s] = o.rnext;
    }
    if (o.rnext != nullptr) {
        o.rnext->rprev = o.rprev;
    } else {
        st->wq_tail[s] = o.rprev;
    }
    o.rnext = o.rprev = nullptr;
    o.queued = false;
    count_queued(st, o, -1);
}

op* wq_take_all(fd_state* st, op_side side) noexcept {
    auto s = static_cast<unsigned>(side);
    op* head = st->wq_head[s];
    st->wq_head[s] = st->wq_tail[s] = nullptr;
    for (op* o = head; o != nullptr; o = o->rnext) {
        o->queued = false;
        count_queued(st, *o, -1);
    }
    return head;
}

} // namespace weft::io::detail

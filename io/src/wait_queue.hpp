// Private: the wait queues of a descriptor (fd_state::wq_head / wq_tail), FIFO per side, linked
// through op::rnext / op::rprev; see wait_queue.cpp. Every function runs with st->lock held.
#pragma once

#include <weft/io/detail/op.hpp>

namespace weft::io::detail {

struct fd_state;

void wq_push_back(fd_state* st, op& o) noexcept;
void wq_remove(fd_state* st, op& o) noexcept;
/// Detaches the whole queue of `side`; returns its head (linked by rnext).
op* wq_take_all(fd_state* st, op_side side) noexcept;

} // namespace weft::io::detail

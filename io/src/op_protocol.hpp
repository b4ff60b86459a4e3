// Private: the op protocol both backends share (op_protocol.cpp's essay): the bits of op::state
// and op::flow, and the helpers a backend calls to arm, complete and cancel an op.
#pragma once

#include <weft/io/detail/op.hpp>

#include <cstdint>

namespace weft::io::detail {

/// Why an op was cut short; stored in op::state bits 4..7 by the first canceller.
enum op_why : std::uint32_t {
    why_none = 0,
    why_cancel = 1,   // the task was cancelled (cancel_state): its error()
    why_deadline = 2, // the descriptor's deadline or the op's own deadline: timed_out
    why_closed = 3,   // close() on the descriptor: bad_file_descriptor
    why_stopping = 4, // the runtime is shutting down: operation_canceled
};

// op::state bits (op_protocol.cpp, invariants 1 and 4).
inline constexpr std::uint32_t st_posted = 1; // on the owner's cancel inbox (io_uring)
inline constexpr std::uint32_t st_done = 2;   // the final completion arrived (io_uring)
inline constexpr std::uint32_t why_shift = 4;
inline constexpr std::uint32_t why_mask = 0xF0;

inline std::uint32_t why_of(std::uint32_t s) noexcept {
    return (s & why_mask) >> why_shift;
}

// op::flow bits (owner/initiator private marks).
inline constexpr std::uint8_t fl_hook = 1;          // cancel hook armed (disarm in op_finish)
inline constexpr std::uint8_t fl_timer = 2;         // deadline timer registered
inline constexpr std::uint8_t fl_connecting = 0x80; // epoll: connect(2) was issued

/// res value of a read_exact that met end of stream first.
inline constexpr std::int64_t res_unexpected_eof = -(std::int64_t{1} << 20);

/// Arms the cancel hook and the deadline timer of `o` before it waits. False when the task is
/// already cancelled (o.res = -ECANCELED, why_cancel recorded); nothing is armed then.
bool arm_waiting(op& o) noexcept;

/// Stops the deadline timer of an op that completed on the timer's own worker (owner thread of
/// the io_uring ring, or an inline completion). Never waits.
void stop_timer_local(op& o) noexcept;

/// Completes a queue-style op that the caller has just taken off its wait queue (so nobody else
/// can complete it): stops its timer and resumes the task. `from_timer`: called by that timer's
/// own on_fire.
void complete_taken(op& o, bool from_timer) noexcept;

/// Records `why` in o.state if no reason is recorded and the op is not done. Returns the state
/// before (so the caller can tell whether it won).
std::uint32_t record_why(op& o, std::uint32_t why) noexcept;

/// Queue-style cancellation (epoll ops, io_uring accept waiters): takes the op off its queue and
/// completes it, or records `why` for the thread that is running it right now.
void cancel_queued(op& o, std::uint32_t why, bool from_timer) noexcept;

} // namespace weft::io::detail

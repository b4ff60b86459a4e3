// Sleeping: weft::sleep_for and weft::sleep_until.
//
//     co_await weft::sleep_for(10ms);                  // result<void>
//     if (auto r = co_await weft::sleep_for(1s); !r)   // cancelled: r.error() is
//         co_return r.error();                         // operation_canceled or timed_out
//
// A sleep suspends the task (never the worker thread) until the deadline, then the task resumes on
// the worker whose timer queue holds it (or is stolen from there). Timers live on a per-worker
// queue (a sorted run for in-order deadlines plus a 4-ary heap); a parked worker sleeps until its
// nearest deadline. Precision is that of the kernel's futex/io_uring timeout, typically 50-100 us
// late under load, never early. Cancellation: a cancelled task's sleep completes at once with the
// cancellation error, and so does a sleep started by a task that is already cancelled, or while the
// runtime shuts down. Out of memory for the timer queue, the await throws std::bad_alloc.
// Thread-safety: the awaitable belongs to the task that awaits it.
#pragma once

#include <weft/runtime/result.hpp>

#include <weft/runtime/detail/sleep_awaiter.hpp>
#include <weft/runtime/detail/timer_node.hpp>

#include <chrono>
#include <coroutine>
#include <cstdint>

namespace weft {

/// The clock of every weft deadline.
using clock = std::chrono::steady_clock;

/// Suspends the calling task until `deadline`; see the file comment.
inline detail::sleep_awaiter sleep_until(clock::time_point deadline) noexcept {
    return detail::sleep_awaiter{
        std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count()};
}

/// Suspends the calling task for `d` (at least); see the file comment.
template <class Rep, class Period>
detail::sleep_awaiter sleep_for(std::chrono::duration<Rep, Period> d) noexcept {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    return detail::sleep_awaiter{detail::now_ns() + (ns > 0 ? ns : 0)};
}

} // namespace weft

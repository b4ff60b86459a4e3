// weft::yield_now(): lets other queued tasks run before this one continues.
//
//     for (;;) { crunch(); co_await weft::yield_now(); }
//
// The task goes behind every task already queued on its worker (Go's Gosched puts it behind the
// global queue; we keep it local for cache warmth, and idle workers can still steal it). The task
// resumes on a worker of the same runtime, not necessarily the same one.
#pragma once

#include <weft/runtime/detail/nodiscard.hpp>

#include <coroutine>

namespace weft {

namespace detail {
struct yield_awaiter; // below
} // namespace detail

/// Suspends the calling task and queues it behind the work already queued.
inline detail::yield_awaiter yield_now() noexcept;

// ---------------------------------------------------------------------------------------------
// Machinery: the awaiter yield_now returns.

namespace detail {
void yield_to_back(std::coroutine_handle<> h) noexcept;

struct WEFT_NODISCARD("yield_now does nothing unless co_awaited") yield_awaiter {
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) const noexcept { yield_to_back(h); }
    void await_resume() const noexcept {}
};
} // namespace detail

inline detail::yield_awaiter yield_now() noexcept {
    return {};
}

} // namespace weft

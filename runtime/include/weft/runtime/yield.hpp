// weft::yield_now(): lets other queued tasks run before this one continues.
//
//     for (;;) { crunch(); co_await weft::yield_now(); }
//
// The task goes behind every task already queued on its worker (Go's Gosched puts it behind the
// global queue; we keep it local for cache warmth, and idle workers can still steal it). The task
// resumes on a worker of the same runtime, not necessarily the same one.
//
// It is a cancellation point: in a cancelled task it still yields, then returns
// weft::errc::canceled (or timed_out), so a compute loop can stop there:
//
//     for (;;) { crunch(); if (!co_await weft::yield_now()) co_return; }
//
// The result<void> is not [[nodiscard]], and the yield happens either way: a loop that ignores
// the result (a wait for a flag) keeps letting other tasks run, as before.
#pragma once

#include <weft/runtime/result.hpp>

#include <weft/runtime/detail/cancel_state.hpp>
#include <weft/runtime/detail/nodiscard.hpp>
#include <weft/runtime/detail/promise.hpp>

#include <coroutine>

namespace weft {

namespace detail {
struct yield_awaiter; // below
} // namespace detail

/// Suspends the calling task and queues it behind the work already queued; returns the
/// cancellation error if the task is cancelled.
inline detail::yield_awaiter yield_now() noexcept;

// ---------------------------------------------------------------------------------------------
// Machinery: the awaiter yield_now returns.

namespace detail {
void yield_to_back(std::coroutine_handle<> h) noexcept;

struct WEFT_NODISCARD("yield_now does nothing unless co_awaited") yield_awaiter {
    using weft_discardable = void; // a loop may ignore the result (see the file comment)
    cancel_state* cancel = nullptr;
    bool await_ready() const noexcept { return false; }
    template <class P>
    void await_suspend(std::coroutine_handle<P> h) noexcept {
        cancel = cancel_of(h);
        yield_to_back(h);
    }
    result<void> await_resume() const noexcept {
        if (cancel != nullptr && cancel->requested()) {
            return cancel->error();
        }
        return {};
    }
};
} // namespace detail

inline detail::yield_awaiter yield_now() noexcept {
    return {};
}

} // namespace weft

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
// runtime shuts down. Thread-safety: the awaitable belongs to the task that awaits it.
#pragma once

#include <weft/runtime/result.hpp>

#include <weft/runtime/detail/cancel_state.hpp>
#include <weft/runtime/detail/nodiscard.hpp>
#include <weft/runtime/detail/promise.hpp>
#include <weft/runtime/detail/timer_node.hpp>

#include <chrono>
#include <coroutine>
#include <cstdint>

namespace weft {

using clock = std::chrono::steady_clock;

namespace detail {

class WEFT_NODISCARD("a sleep does nothing unless co_awaited") sleep_awaiter : private cancel_hook {
public:
    explicit sleep_awaiter(std::int64_t deadline_ns) noexcept
        : cancel_hook{&on_cancel} {
        node_.deadline_ns = deadline_ns;
    }
    sleep_awaiter(const sleep_awaiter&) = delete;

    bool await_ready() const noexcept { return false; }

    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) noexcept {
        node_.waiter = h;
        cancel_ = cancel_of(h);
        return suspend(h);
    }

    result<void> await_resume() noexcept {
        if (cancel_ != nullptr) {
            cancel_->disarm();
        }
        // Cancelled: the node says so (whoever cancelled it set that before resuming us). A
        // shutdown fires every timer early: a sleep cut short that way was cancelled too.
        bool cancelled = node_.state.load(std::memory_order_acquire) == timer_node::cancelled;
        if (!cancelled && runtime_stopping() && now_ns() < node_.deadline_ns) {
            cancelled = true;
        }
        if (cancelled) {
            return cancel_ != nullptr ? cancel_->error()
                                      : std::make_error_code(std::errc::operation_canceled);
        }
        return {};
    }

private:
    bool suspend(std::coroutine_handle<> h) noexcept;
    static void on_cancel(cancel_hook* hook) noexcept;

    timer_node node_; // node_.state == cancelled is how a cancelled sleep is told apart
    cancel_state* cancel_ = nullptr;
};

} // namespace detail

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

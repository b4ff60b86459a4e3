// weft::deadline: a point in time passed down a call chain (Go's context.WithDeadline, without
// the context), and weft::with_deadline, which bounds a task by one.
//
//     weft::task<weft::result<reply>> handle(request rq) {
//         auto d = weft::deadline::after(2s);              // the whole request: 2 s
//         auto user = co_await weft::with_deadline(d, load_user(rq)); // whatever is left of it
//         if (!user) co_return user.error();               // timed_out once d has passed
//         co_return co_await weft::with_deadline(d, render(*user));
//     }
//
// A deadline converts to clock::time_point, so it goes wherever weft takes one: sleep_until(d),
// a socket's set_read_deadline(d). remaining() is what is left (zero once passed), for an API
// that takes a duration. deadline::never() is later than every other deadline.
//
// with_deadline(d, task) is with_timeout (with_timeout.hpp) with an absolute time: the task runs
// as a child, cancelled with timed_out when d passes, and the outcome is the same (result<U> for
// a task of U or of result<U>, an error code for task<void>). A deadline already passed cancels
// the child before it does anything that waits. It takes any awaitable, as with_timeout does.
#pragma once

#include <weft/runtime/timer.hpp>
#include <weft/runtime/with_timeout.hpp>

#include <chrono>
#include <compare>
#include <cstdint>
#include <utility>

namespace weft {

/// A point in time on weft's clock; see the file comment.
class deadline {
public:
    /// `d` from now (a negative `d` is now).
    template <class Rep, class Period>
    static deadline after(std::chrono::duration<Rep, Period> d) noexcept {
        const auto dd = std::chrono::duration_cast<clock::duration>(d);
        return deadline(clock::now() + (dd > clock::duration::zero() ? dd : clock::duration{}));
    }
    /// Later than any other deadline: the call has no bound.
    static deadline never() noexcept { return deadline(clock::time_point::max()); }

    constexpr explicit deadline(clock::time_point at) noexcept
        : at_(at) {}

    /// Time left: zero once the deadline has passed.
    clock::duration remaining() const noexcept {
        const auto now = clock::now();
        return at_ > now ? at_ - now : clock::duration::zero();
    }
    bool expired() const noexcept { return clock::now() >= at_; }
    bool is_never() const noexcept { return at_ == clock::time_point::max(); }

    constexpr clock::time_point time() const noexcept { return at_; }
    constexpr operator clock::time_point() const noexcept { return at_; }

    /// The sooner of two deadlines (a callee's own bound within its caller's).
    friend constexpr deadline earliest(deadline a, deadline b) noexcept {
        return a.at_ <= b.at_ ? a : b;
    }
    friend constexpr auto operator<=>(const deadline&, const deadline&) noexcept = default;

private:
    clock::time_point at_;
};

namespace detail {
inline std::int64_t deadline_ns(deadline d) noexcept {
    if (d.is_never()) {
        return INT64_MAX;
    }
    return std::chrono::duration_cast<std::chrono::nanoseconds>(d.time().time_since_epoch())
        .count();
}
} // namespace detail

/// Runs `t` until the deadline `d` (see the file comment).
template <class T>
task<timeout_result_t<T>> with_deadline(deadline d, task<T> t) {
    return detail::run_with_deadline(detail::deadline_ns(d), std::move(t));
}

/// Any other awaitable until the deadline: with_deadline(d, ch.recv()).
template <detail::non_task_awaitable A>
task<timeout_result_t<detail::await_value_t<A>>> with_deadline(deadline d, A&& a) {
    return with_deadline(d, detail::as_task(std::remove_cvref_t<A>(std::forward<A>(a))));
}

} // namespace weft

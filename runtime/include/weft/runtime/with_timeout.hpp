// weft::with_timeout: a deadline for a task.
//
//     weft::result<int> r = co_await weft::with_timeout(100ms, fetch());
//     if (!r && r.error() == std::errc::timed_out) { ... }
//
// The task runs as a child (spawned, with its own cancellation). When the deadline passes it is
// cancelled with reason timed_out: its pending and future weft awaits complete with
// std::errc::timed_out, and with_timeout waits for it to end, so nothing outlives the call and no
// buffer it uses is touched afterwards. The outcome:
//   - task<result<U>>: the child's result; an operation_canceled error becomes timed_out when
//     the deadline fired.
//   - task<void>:      timed_out if the deadline fired, else success.
//   - task<U>:         the child's value whenever it produced one (a value is never dropped),
//                      even if the deadline fired while it was finishing.
// An exception from the child is rethrown, except the weft::cancelled_error that the deadline
// itself caused (a task of T that joined a task the deadline cancelled): that is timed_out too.
// Cancelling the awaiting task cancels the child with operation_canceled.
//
// The deadline bounds compute-bound fork-join work as well: the cancellation reaches the tasks the
// child joins and the ones it spawned and has not started (runtime/src/cancel.cpp has the model),
// so with_timeout(100ms, fib(40)) returns timed_out about 100 ms after it started.
//
// Any other awaitable works too, moved into a task that awaits it (its value type decides the
// outcome as above):
//
//     co_await weft::with_timeout(1s, s.join());      // result<void>
//     auto v = co_await weft::with_timeout(1s, ch.recv()); // result<recv_result<T>>
//     co_await weft::with_timeout(1s, ready.wait());  // result<void>
//
// At the deadline that task is cancelled, which cuts the await short as cancelling the awaiting
// task would: a channel or event wait ends with timed_out, a scope::join() cancels the scope's
// children and waits for them (then with_timeout yields timed_out with every child ended). What
// the awaitable refers to (the scope, the channel) must outlive the with_timeout await, as for a
// plain co_await. In a task that is cancelled already the awaitable is not awaited at all (a
// spawned task cancelled before it starts does not run): with_timeout yields operation_canceled,
// and a scope given this way has not been joined (a plain co_await s.join() then cancels its
// children and waits for them).
#pragma once

#include <weft/runtime/result.hpp>
#include <weft/runtime/task.hpp>

#include <weft/runtime/detail/as_task.hpp>
#include <weft/runtime/detail/deadline_timer.hpp>
#include <weft/runtime/detail/group.hpp>
#include <weft/runtime/detail/timer_node.hpp>

#include <chrono>
#include <coroutine>
#include <span>
#include <type_traits>

namespace weft {

/// What with_timeout yields for a task of T: T itself when T is already a weft::result, else a
/// weft::result holding a T.
template <class T>
using timeout_result_t = std::conditional_t<detail::is_result<T>::value, T, result<T>>;

namespace detail {
template <class Rep, class Period>
std::int64_t deadline_after(std::chrono::duration<Rep, Period> d) noexcept;
template <class T>
task<timeout_result_t<T>> run_with_deadline(
    std::int64_t deadline_ns, task<T> t, group::parent_link link = group::parent_link::propagate);
} // namespace detail

/// Runs `t` with a deadline `d` from now (see the file comment).
template <class Rep, class Period, class T>
task<timeout_result_t<T>> with_timeout(std::chrono::duration<Rep, Period> d, task<T> t) {
    return detail::run_with_deadline(detail::deadline_after(d), std::move(t));
}

/// Any other awaitable with a deadline: with_timeout(1s, s.join()), with_timeout(1s, ch.recv()).
/// The awaitable is moved into a task (see the file comment).
template <class Rep, class Period, detail::non_task_awaitable A>
task<timeout_result_t<detail::await_value_t<A>>>
with_timeout(std::chrono::duration<Rep, Period> d, A&& a) {
    return with_timeout(d, detail::as_task(std::remove_cvref_t<A>(std::forward<A>(a))));
}

// ---------------------------------------------------------------------------------------------
// Machinery: the driver shared with shield (shield.hpp), which runs the child in a group that
// does not pass the awaiting task's cancellation on.

namespace detail {

template <class Rep, class Period>
std::int64_t deadline_after(std::chrono::duration<Rep, Period> d) noexcept {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    return now_ns() + (ns > 0 ? ns : 0);
}

/// Runs `t` as the only child of a group, cancelled with timed_out at `deadline_ns`.
template <class T>
task<timeout_result_t<T>>
run_with_deadline(std::int64_t deadline_ns, task<T> t, group::parent_link link) {
    WEFT_ASSERT(t.valid(), "weft::with_timeout of an empty task");
    auto typed = t.release();
    std::coroutine_handle<> hs[1] = {typed};
    promise_base* ps[1] = {&typed.promise()};
    struct destroy_on_exit {
        decltype(typed) h;
        ~destroy_on_exit() { destroy_frame(h, h.promise()); }
    } guard{typed};
    group g(hs, ps, group::mode::all, link);
    deadline_timer timer(g, deadline_ns);
    timer.start();
    co_await g.run();
    co_await timer.stop_and_wait();
    if (timer.fired() && is_cancellation(typed.promise().exception_)) {
        co_return errc::timed_out; // the deadline ended the child's body (a join rethrew it)
    }
    if constexpr (std::is_void_v<T>) {
        typed.promise().take();
        if (timer.fired()) {
            co_return std::errc::timed_out;
        }
        co_return result<void>{};
    } else if constexpr (is_result<T>::value) {
        T r = typed.promise().take();
        if (!r && timer.fired() && r.error() == std::errc::operation_canceled) {
            co_return std::errc::timed_out;
        }
        co_return r;
    } else {
        co_return result<T>{typed.promise().take()};
    }
}

} // namespace detail

} // namespace weft

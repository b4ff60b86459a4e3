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
#pragma once

#include <weft/runtime/result.hpp>
#include <weft/runtime/task.hpp>

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

/// Runs `t` with a deadline `d` from now (see the file comment).
template <class Rep, class Period, class T>
task<timeout_result_t<T>> with_timeout(std::chrono::duration<Rep, Period> d, task<T> t) {
    WEFT_ASSERT(t.valid(), "weft::with_timeout of an empty task");
    auto typed = t.release();
    std::coroutine_handle<> hs[1] = {typed};
    detail::promise_base* ps[1] = {&typed.promise()};
    struct destroy_on_exit {
        decltype(typed) h;
        ~destroy_on_exit() { detail::destroy_frame(h, h.promise()); }
    } guard{typed};
    detail::group g(hs, ps, detail::group::mode::all);
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    detail::deadline_timer timer(g, detail::now_ns() + (ns > 0 ? ns : 0));
    timer.start();
    co_await g.run();
    co_await timer.stop_and_wait();
    if (timer.fired() && detail::is_cancellation(typed.promise().exception_)) {
        co_return errc::timed_out; // the deadline ended the child's body (a join rethrew it)
    }
    if constexpr (std::is_void_v<T>) {
        typed.promise().take();
        if (timer.fired()) {
            co_return std::errc::timed_out;
        }
        co_return result<void>{};
    } else if constexpr (detail::is_result<T>::value) {
        T r = typed.promise().take();
        if (!r && timer.fired() && r.error() == std::errc::operation_canceled) {
            co_return std::errc::timed_out;
        }
        co_return r;
    } else {
        co_return result<T>{typed.promise().take()};
    }
}

} // namespace weft

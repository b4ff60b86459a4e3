// weft::shield: cleanup that a cancellation does not cut short, bounded by its own deadline.
//
//     task<void> serve(conn& c) {
//         while (auto req = co_await c.read()) { ... }   // fails once serve is cancelled
//         co_await weft::shield(2s, c.write("goodbye")); // runs even so, for at most 2 s
//     }
//
// Once a task is cancelled every later await of it fails at once (runtime/src/cancel.cpp), so a
// cancelled task could not send a last reply, flush a log or close a session cleanly. shield(d,
// t) runs `t` as a child that does not answer to the awaiting task's cancellation: awaits inside
// it wait as usual, whether the awaiting task was cancelled before the shield or is cancelled
// while it waits in it. The deadline `d` is the shield's own: when it passes the child is
// cancelled with timed_out, exactly as with_timeout does (with_timeout.hpp), so cleanup cannot
// hang. The shield waits for the child to end, so nothing outlives the call. What it yields is
// with_timeout's: weft::result<T> (T itself when it is a weft::result), timed_out when the
// deadline ended the child.
//
// The awaiting task's cancellation is not lost: it is still cancelled when the shield returns,
// and its next await fails (a cancellation that arrived while it was inside the shield included).
//
// Any awaitable works, as with with_timeout: shield(1s, ch.send(bye)), shield(1s, s.join()).
// Tasks the shielded child spawns are its own children: a weft::spawn inside a shield is not
// cancelled by the task outside it either.
//
// Runtime shutdown is not shielded: it fires the shield's deadline early, which cancels the child
// (reason operation_canceled), and its awaits fail as every task's do once shutdown has begun. A
// shield started during shutdown still runs its child's body, so cleanup code without
// cancellable awaits still runs. Either way runtime_options::shutdown_grace bounds the rest.
#pragma once

#include <weft/runtime/result.hpp>
#include <weft/runtime/task.hpp>
#include <weft/runtime/with_timeout.hpp>

#include <weft/runtime/detail/as_task.hpp>
#include <weft/runtime/detail/group.hpp>

#include <chrono>
#include <type_traits>
#include <utility>

namespace weft {

/// Runs `t` shielded from the awaiting task's cancellation, with a deadline `d` from now (see the
/// file comment).
template <class Rep, class Period, class T>
task<timeout_result_t<T>> shield(std::chrono::duration<Rep, Period> d, task<T> t) {
    WEFT_ASSERT(t.valid(), "weft::shield of an empty task");
    return detail::run_with_deadline(
        detail::deadline_after(d), std::move(t), detail::group::parent_link::shielded);
}

/// Any other awaitable, shielded: shield(2s, ch.send(bye)). The awaitable is moved into a task.
template <class Rep, class Period, detail::non_task_awaitable A>
task<timeout_result_t<detail::await_value_t<A>>>
shield(std::chrono::duration<Rep, Period> d, A&& a) {
    return shield(d, detail::as_task(std::remove_cvref_t<A>(std::forward<A>(a))));
}

} // namespace weft

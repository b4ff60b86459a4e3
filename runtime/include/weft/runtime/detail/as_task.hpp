// as_task: any awaitable as a weft::task, so that the combinators that run tasks as children
// (with_timeout, shield, when_any) take what scope::join(), channel::recv(), event::wait() or
// sleep_for() return as well.
//
// The awaitable is a by-value parameter of the coroutine: it lives in the task's frame, so the
// task may be awaited after the expression that made the awaitable has ended. An awaitable that
// refers to an object (scope::join() points at its scope, channel::recv() at its channel) needs
// that object to outlive the await, as a plain co_await does. It is awaited once, as an rvalue.
#pragma once

#include <weft/runtime/task.hpp>

#include <weft/runtime/detail/promise.hpp>
#include <weft/runtime/detail/task_factory.hpp>

#include <concepts>
#include <type_traits>
#include <utility>

namespace weft::detail {

/// What `co_await std::move(a)` yields for an A, without its reference.
template <class A>
using await_value_t = std::remove_cvref_t<
    decltype(awaiter_of(std::declval<std::remove_cvref_t<A>>()).await_resume())>;

/// An awaitable that is not a weft::task (the task overloads take those) and that can travel
/// into a frame by value.
template <class A>
concept non_task_awaitable =
    !is_task_v<std::remove_cvref_t<A>> && std::move_constructible<std::remove_cvref_t<A>> &&
    requires(std::remove_cvref_t<A> a) {
    awaiter_of(std::move(a)).await_ready();
    awaiter_of(std::move(a)).await_resume();
};

/// A task that awaits `a` (moved into its frame) and yields what that await yields.
template <class A>
task<await_value_t<A>> as_task(A a) {
    if constexpr (std::is_void_v<await_value_t<A>>) {
        co_await std::move(a);
    } else {
        co_return co_await std::move(a);
    }
}

/// A task as is; any other awaitable through as_task.
template <class A>
auto to_task(A&& a) {
    if constexpr (is_task_v<std::remove_cvref_t<A>>) {
        return std::forward<A>(a);
    } else {
        return as_task(std::remove_cvref_t<A>(std::forward<A>(a)));
    }
}

} // namespace weft::detail

// The callable forms of spawn, go, scope::spawn, runtime::spawn, block_on and run: a callable
// returning a task, plus its arguments, turned into one task that owns them.
//
// A coroutine lambda's frame keeps a pointer to its closure object, not a copy of its captures,
// so `spawn([s]() -> task<> {...}())` leaves the task reading a closure that died at the end of
// the spawning expression. in_frame_task takes the callable and its arguments by value, as
// coroutine parameters: they live in its own frame until the task it awaits has finished.
#pragma once

#include <weft/runtime/task.hpp>

#include <cstddef>
#include <type_traits>
#include <utility>

namespace weft::detail {

template <class T>
inline constexpr bool is_task_v = false;
template <class T>
inline constexpr bool is_task_v<task<T>> = true;

/// A weft::task<T>, by value.
template <class T>
concept a_task = is_task_v<T>;

template <class T>
struct task_value {};
template <class T>
struct task_value<task<T>> {
    using type = T;
};
/// T for a weft::task<T>.
template <class T>
using task_value_t = typename task_value<T>::type;

/// fn(i) returns a weft::task (spawn_many's per-index factory).
template <class F>
concept task_per_index = requires(F& f, std::size_t i) {
    { f(i) } -> a_task;
};

/// F, called as std::thread calls its function (the decayed callable on the decayed arguments,
/// as rvalues), returns a weft::task. A plain call, not std::invoke: <functional> would bring
/// <unordered_map> into every includer of scope.hpp (so member pointers are not callables here).
template <class F, class... Args>
concept task_factory = requires(std::decay_t<F> f, std::decay_t<Args>... args) {
    { std::move(f)(std::move(args)...) } -> a_task;
};

/// The task a task_factory returns.
template <class F, class... Args>
using factory_task_t =
    decltype(std::declval<std::decay_t<F>>()(std::declval<std::decay_t<Args>>()...));

/// Runs f(args...) inline. f and args are this coroutine's by-value parameters, so they live in
/// its frame until the task f returned has finished; they are called once, so they are moved.
template <class F, class... Args>
factory_task_t<F, Args...> in_frame_task(F f, Args... args) {
    co_return co_await std::move(f)(std::move(args)...);
}

/// in_frame_task over decay-copies of `f` and `args` (made before the call returns).
template <class F, class... Args>
factory_task_t<F, Args...> make_owning_task(F&& f, Args&&... args) {
    return in_frame_task<std::decay_t<F>, std::decay_t<Args>...>(
        std::forward<F>(f), std::forward<Args>(args)...);
}

} // namespace weft::detail

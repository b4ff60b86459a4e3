// weft::when_all: run several tasks concurrently and wait for all of them.
//
//     auto [a, b] = co_await weft::when_all(fetch(1), fetch(2));   // a tuple, in argument order
//     std::vector<int> v = co_await weft::when_all(std::move(tasks)); // a vector, in order
//
// The tasks are spawned (they may run on other workers) and the awaiting task resumes when the
// last one finishes. void tasks give std::monostate in the tuple. If a task throws, the others
// are cancelled, all are awaited, and the first exception is rethrown. Cancelling the awaiting
// task cancels every child. Children never outlive the await (structured concurrency).
// Memory ordering: everything the children did happens-before the await returns.
#pragma once

#include <weft/runtime/task.hpp>

#include <weft/runtime/detail/group.hpp>
#include <weft/runtime/detail/group_results.hpp>

#include <array>
#include <coroutine>
#include <exception>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace weft {

/// Runs every task in `tasks` concurrently; yields their results in order.
template <class T>
task<std::vector<detail::non_void_t<T>>> when_all(std::vector<task<T>> tasks) {
    std::vector<std::coroutine_handle<>> hs;
    std::vector<detail::promise_base*> ps;
    hs.reserve(tasks.size());
    ps.reserve(tasks.size());
    for (auto& t : tasks) {
        WEFT_ASSERT(t.valid(), "weft::when_all of an empty task");
        auto h = t.release();
        ps.push_back(&h.promise());
        hs.push_back(h);
    }
    detail::frames_guard<decltype(hs), decltype(ps)> guard{hs, ps};
    detail::group g(hs, ps, detail::group::mode::all);
    co_await g.run();
    detail::rethrow_first_failure(ps, g.first());
    std::vector<detail::non_void_t<T>> out;
    out.reserve(hs.size());
    for (auto h : hs) {
        out.push_back(detail::take_non_void(
            std::coroutine_handle<detail::task_promise<T>>::from_address(h.address())));
    }
    co_return out;
}

/// Runs the given tasks concurrently; yields a tuple of their results in argument order.
template <class... Ts>
task<std::tuple<detail::non_void_t<Ts>...>> when_all(task<Ts>... tasks) {
    std::tuple<std::coroutine_handle<detail::task_promise<Ts>>...> typed{tasks.release()...};
    std::array<std::coroutine_handle<>, sizeof...(Ts)> hs;
    std::array<detail::promise_base*, sizeof...(Ts)> ps;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        ((hs[I] = std::get<I>(typed), ps[I] = &std::get<I>(typed).promise()), ...);
    }
    (std::index_sequence_for<Ts...>{});
    for (auto h : hs) {
        WEFT_ASSERT(h, "weft::when_all of an empty task");
    }
    detail::frames_guard<decltype(hs), decltype(ps)> guard{hs, ps};
    detail::group g(hs, ps, detail::group::mode::all);
    co_await g.run();
    detail::rethrow_first_failure(ps, g.first());
    co_return [&]<std::size_t... I>(std::index_sequence<I...>) {
        return std::tuple<detail::non_void_t<Ts>...>{detail::take_non_void(std::get<I>(typed))...};
    }
    (std::index_sequence_for<Ts...>{});
}

} // namespace weft

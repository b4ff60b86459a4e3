// weft::when_any: run several tasks concurrently; the first to finish wins.
//
//     auto r = co_await weft::when_any(query(primary), query(replica));
//     use(r.index, r.value);
//
// The tasks are spawned; when the first finishes, the others are cancelled (their weft awaits
// complete with operation_canceled) and awaited, so nothing outlives the await. The winner's
// value is returned with its index; if the winner threw, its exception is rethrown. The losers'
// results and exceptions are discarded. Cancelling the awaiting task cancels every child.
#pragma once

#include <weft/runtime/when_all.hpp>

#include <weft/runtime/detail/group_results.hpp>

#include <cstddef>
#include <vector>

namespace weft {

/// The winner of a when_any: its position among the arguments and its value.
template <class T>
struct when_any_result {
    std::size_t index;
    detail::non_void_t<T> value;
};

/// Runs every task in `tasks`; yields the first to finish (see the file comment).
template <class T>
task<when_any_result<T>> when_any(std::vector<task<T>> tasks) {
    WEFT_ASSERT(!tasks.empty(), "weft::when_any needs at least one task");
    std::vector<std::coroutine_handle<>> hs;
    std::vector<detail::promise_base*> ps;
    for (auto& t : tasks) {
        WEFT_ASSERT(t.valid(), "weft::when_any of an empty task");
        auto h = t.release();
        ps.push_back(&h.promise());
        hs.push_back(h);
    }
    detail::frames_guard<decltype(hs), decltype(ps)> guard{hs, ps};
    detail::group g(hs, ps, detail::group::mode::any);
    co_await g.run();
    auto i = static_cast<std::size_t>(g.first());
    co_return when_any_result<T>{
        i,
        detail::take_non_void(
            std::coroutine_handle<detail::task_promise<T>>::from_address(hs[i].address()))};
}

/// Variadic form; all tasks produce the same type.
template <class T, class... Ts>
requires(std::is_same_v<T, Ts>&&...) task<when_any_result<T>> when_any(
    task<T> first, task<Ts>... rest) {
    std::vector<task<T>> v;
    v.reserve(1 + sizeof...(Ts));
    v.push_back(std::move(first));
    (v.push_back(std::move(rest)), ...);
    return when_any(std::move(v));
}

} // namespace weft

// weft::when_any: run several tasks concurrently; the first to finish wins.
//
//     auto r = co_await weft::when_any(query(primary), query(replica));
//     use(r.index, r.value);
//
// The tasks are spawned; when the first finishes, the others are cancelled (their weft awaits
// complete with operation_canceled) and awaited, so nothing outlives the await. The winner's
// value is returned with its index; if the winner threw, its exception is rethrown. The losers'
// results and exceptions are discarded. Cancelling the awaiting task cancels every child.
//
// Any awaitable may stand for a task (each is moved into a task that awaits it), as long as all
// yield the same type: when_any(ev.wait(), weft::sleep_for(1s)). A loser is cancelled as a task
// is: a channel or event wait ends, a scope::join() cancels the scope's children and waits.
#pragma once

#include <weft/runtime/when_all.hpp>

#include <weft/runtime/detail/as_task.hpp>
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

/// Any awaitables mixed with tasks: when_any(s.join(), stop.wait()). Each awaitable is moved into
/// a task that awaits it; all must yield the same type.
template <class A, class... As>
requires(
    (detail::non_task_awaitable<A> || (detail::non_task_awaitable<As> || ...)) &&
    ((detail::is_task_v<std::remove_cvref_t<A>> || detail::non_task_awaitable<A>)&&... &&
     (detail::is_task_v<std::remove_cvref_t<As>> ||
      detail::non_task_awaitable<As>))) auto when_any(A&& first, As&&... rest) {
    return when_any(
        detail::to_task(std::forward<A>(first)), detail::to_task(std::forward<As>(rest))...);
}

} // namespace weft

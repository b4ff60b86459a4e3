// Spawning a batch of tasks at once, and joining a batch: weft::spawn_many and weft::join_all.
//
//     std::vector<weft::join_handle<int>> hs =
//         weft::spawn_many(n, [&](std::size_t i) { return work(inputs[i]); });
//     std::vector<int> v = co_await weft::join_all(std::move(hs)); // the results, in order
//
// spawn_many(count, fn) calls fn(0), ..., fn(count - 1), each returning a weft::task<T>, then
// starts them all; spawn_many(tasks) starts a vector of tasks. Each child is set up exactly as
// weft::spawn sets one up (its name; the spawner's cancellation reaches it), but the batch goes
// onto the worker's queue with one publish instead of one per task, and at most one idle worker
// is woken for it (a woken worker that finds work wakes the next). The handles come back in
// index order; the tasks are queued LIFO like spawn's, so the calling worker runs the last one
// first while idle workers steal from the front.
//
//   - fn is called on the calling thread before any child is queued; if it throws, the tasks it
//     made so far are destroyed without running and the exception propagates.
//   - fn may capture anything (it is only called here), but the tasks it returns must not point
//     into it: fn should call a coroutine function, `[&](std::size_t i) { return work(i); }`.
//     A coroutine lambda *as fn* (`[x](std::size_t) -> weft::task<int> { ... }`) keeps a pointer
//     to fn, which dies when spawn_many returns (spawn.hpp explains the hazard).
//   - Only from a task running on a weft runtime; elsewhere std::logic_error.
//
// join_all(handles) waits for every handle in turn and yields their values in order (void tasks:
// task<void>). It waits Go-style: a child that throws does not cancel the others; every child is
// awaited, then the exception of the lowest-index child that threw is rethrown (the others'
// exceptions are dropped). To cancel the rest on the first failure, use when_all or a scope.
// Cancelling the task awaiting join_all cancels the children as joins do (spawn.hpp): each one
// it joins from then on. Every handle must be valid. O(1) per child.
// Memory ordering: everything the children did happens-before join_all returns.
#pragma once

#include <weft/runtime/spawn.hpp>
#include <weft/runtime/task.hpp>

#include <weft/runtime/detail/nodiscard.hpp>
#include <weft/runtime/detail/scheduler_hooks.hpp>
#include <weft/runtime/detail/task_factory.hpp>

#include <concepts>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

namespace weft {

namespace detail {
template <class T>
void setup_spawned(std::coroutine_handle<task_promise<T>> h, const char* name, cancel_state* chain);
template <class T>
void publish_spawned(std::vector<join_handle<T>>& hs);
void require_worker_for_spawn_many();
} // namespace detail

/// Starts fn(0), ..., fn(count - 1) (each a weft::task<T>) as one batch; the handles, in index
/// order. `name` (static storage) names every child. See the file comment.
template <detail::task_per_index F>
WEFT_NODISCARD("dropping the handles detaches every task")
auto spawn_many(std::size_t count, F&& fn, const char* name = nullptr)
    -> std::vector<join_handle<detail::task_value_t<decltype(fn(std::size_t{}))>>> {
    using T = detail::task_value_t<decltype(fn(std::size_t{}))>;
    detail::require_worker_for_spawn_many();
    detail::cancel_state* chain = detail::tls_chain;
    std::vector<join_handle<T>> hs;
    hs.reserve(count); // no reallocation: moving a handle would count its link (spawn.hpp)
    try {
        for (std::size_t i = 0; i < count; ++i) {
            task<T> t = fn(i);
            WEFT_ASSERT(t.valid(), "weft::spawn_many: fn returned an empty task");
            detail::setup_spawned(hs.emplace_back(t.release()).handle(), name, chain);
        }
    } catch (...) {
        for (auto& h : hs) {
            auto c = h.release();
            detail::destroy_frame(c, c.promise()); // never queued: it has not run
        }
        throw;
    }
    detail::publish_spawned(hs);
    return hs;
}

/// Starts every task in `tasks` as one batch; the handles, in the same order. `name` (static
/// storage) names every child. See the file comment.
template <class T>
WEFT_NODISCARD("dropping the handles detaches every task")
std::vector<join_handle<T>> spawn_many(std::vector<task<T>> tasks, const char* name = nullptr) {
    detail::require_worker_for_spawn_many();
    std::vector<join_handle<T>> hs;
    hs.reserve(tasks.size());
    detail::cancel_state* chain = detail::tls_chain;
    for (auto& t : tasks) {
        WEFT_ASSERT(t.valid(), "weft::spawn_many of an empty task");
        detail::setup_spawned(hs.emplace_back(t.release()).handle(), name, chain);
    }
    detail::publish_spawned(hs);
    return hs;
}

/// Waits for every task in `handles`; their values in order, or the lowest-index exception
/// rethrown once all have finished (the others are not cancelled). See the file comment.
template <class T>
requires(!std::is_void_v<T>) task<std::vector<T>> join_all(std::vector<join_handle<T>> handles) {
    std::vector<T> out;
    out.reserve(handles.size());
    std::exception_ptr first;
    for (auto& h : handles) {
        try {
            out.push_back(co_await h);
        } catch (...) {
            if (!first) {
                first = std::current_exception();
            }
        }
    }
    if (first) {
        std::rethrow_exception(first);
    }
    co_return out;
}

/// join_all for void tasks.
inline task<void> join_all(std::vector<join_handle<void>> handles) {
    std::exception_ptr first;
    for (auto& h : handles) {
        try {
            co_await h;
        } catch (...) {
            if (!first) {
                first = std::current_exception();
            }
        }
    }
    if (first) {
        std::rethrow_exception(first);
    }
}

// ---------------------------------------------------------------------------------------------
// Machinery

namespace detail {

inline void require_worker_for_spawn_many() {
    if (current_worker() == nullptr) {
        throw std::logic_error("weft::spawn_many called outside a weft runtime; use "
                               "weft::runtime::spawn from plain threads");
    }
}

/// What weft::spawn does to each child before queuing it. A linked child that never runs can
/// still be destroyed plainly: the link is not counted until a handle is moved.
template <class T>
void setup_spawned(
    std::coroutine_handle<task_promise<T>> h, const char* name, cancel_state* chain) {
    h.promise().name_ = name;
    if (chain != nullptr) {
        h.promise().own_cancel_.link(chain); // inherits the spawner's cancellation
    }
}

template <class T>
void publish_spawned(std::vector<join_handle<T>>& hs) {
    schedule_spawn_many(
        hs.size(),
        [](void* ctx, std::size_t i) -> std::coroutine_handle<> {
            return (*static_cast<std::vector<join_handle<T>>*>(ctx))[i].handle();
        },
        &hs);
}

} // namespace detail

} // namespace weft

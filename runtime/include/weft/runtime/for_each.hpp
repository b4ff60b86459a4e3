// weft::for_each: bounded fan-out. Runs fn(element) for every element of a range as a child
// task, with at most `limit` children in flight (Go's errgroup.SetLimit, .NET's
// Parallel.ForEachAsync, futures' buffer_unordered).
//
//     auto r = co_await weft::for_each(urls, 64, [&](const std::string& url) -> weft::task<> {
//         co_await fetch(url);
//     });
//     if (!r) { ... }                       // cancelled before every url was started
//
// - fn(element) returns weft::task<void> or weft::task<weft::result<void>>. Elements are passed
//   by reference: the range must outlive the await (a range passed as an rvalue is moved into
//   the call and lives as long). A range whose iterator yields values rather than references
//   (std::views::iota) keeps each value alive in a small holder frame for its child.
// - Each child is spawned (it may run on any worker, and be stolen), one at a time in range
//   order; the next starts when fewer than `limit` are in flight. A child's frame is freed as it
//   finishes, so a million elements at limit 64 hold at most 64 child frames at once. The range
//   is iterated lazily: an input range (a generator) is read one element per start.
// - A failure is a child that throws, or that returns a result holding an error. The first
//   failure cancels every child in flight (their weft awaits complete with operation_canceled)
//   and no further child starts; once every started child has ended, for_each rethrows the
//   first exception or returns the first error. fn throwing instead of returning a task, and the
//   range's iterator throwing, are failures too.
// - Cancelling the awaiting task cancels the children in flight and stops starting new ones;
//   for_each still waits for the started ones to end, then returns the cancellation's error
//   (operation_canceled, or timed_out under with_timeout) if elements were left unstarted.
//   Shutdown of the runtime stops it the same way.
// - Otherwise it returns success once every element's child has ended.
// - limit == 0 throws std::invalid_argument from the call itself (no task is created).
// fn is taken by value and lives until the await returns; it is invoked on the awaiting task
// (never concurrently with itself) but the tasks it returns run concurrently with each other.
// Memory ordering: everything the children did happens-before the await returns.
//
// A limited scope. weft::scope has no limit option: scope::spawn is not a coroutine and cannot
// wait for a slot, so a limited scope would have to queue the frames of children it cannot start
// yet (memory that grows with the backlog instead of the limit) or make spawning an await. For
// work known up front, for_each is that scope. For work discovered as you go, run `limit`
// workers that take items from a channel (weft/sync) inside a scope, or use for_each over a
// generator that produces the items.
//
// Why not a semaphore: the runtime library does not depend on weft/sync, and the limit needs
// less than a semaphore anyway: a count of children in flight and one waiter (this task),
// resumed by the child whose finish frees a slot, as scope's join resumes its joiner.
#pragma once

#include <weft/runtime/result.hpp>
#include <weft/runtime/task.hpp>

#include <weft/runtime/detail/cancel_state.hpp>
#include <weft/runtime/detail/promise.hpp>
#include <weft/runtime/detail/spin_lock.hpp>

#include <coroutine>
#include <cstddef>
#include <exception>
#include <functional>
#include <ranges>
#include <stdexcept>
#include <system_error>
#include <type_traits>
#include <utility>

namespace weft {

namespace detail {
template <class R, class F>
task<result<void>> for_each_driver(R range, std::size_t limit, F fn); // below
} // namespace detail

/// Runs fn(element) for every element of `range`, at most `limit` at a time (see the file
/// comment). Throws std::invalid_argument if limit is 0.
template <std::ranges::input_range R, class F>
task<result<void>> for_each(R&& range, std::size_t limit, F fn) {
    if (limit == 0) {
        throw std::invalid_argument("weft::for_each: limit must be at least 1");
    }
    // An lvalue range is referred to; an rvalue one is moved into the driver's frame.
    return detail::for_each_driver<R>(std::forward<R>(range), limit, std::move(fn));
}

// ---------------------------------------------------------------------------------------------
// Machinery: the bookkeeping of one for_each call (runtime/src/for_each.cpp), and the driver
// coroutine that walks the range.

namespace detail {

/// The children of one for_each call: their count in flight, their slots (which the cancel-all
/// walks), the first failure, and the driver when it waits. Lives in the driver's frame.
class for_each_core : private cancel_hook {
public:
    /// Reads a finished child's error result (null: its task returns void).
    using error_of_fn = std::error_code (*)(promise_base& child) noexcept;

    for_each_core(std::size_t limit, error_of_fn error_of) noexcept;
    ~for_each_core();
    for_each_core(const for_each_core&) = delete;
    for_each_core& operator=(const for_each_core&) = delete;

    struct wait_awaiter;
    /// Waits for a free slot (or lets other tasks run when the driver's budget is spent).
    /// Resumes with false once the call is stopping (a failure, or the driver's task was
    /// cancelled): start nothing more.
    wait_awaiter wait_slot() noexcept { return {this, false}; }
    /// Waits until every started child has ended.
    wait_awaiter drain() noexcept { return {this, true}; }

    /// Spawns `h` (its promise `p`) into a slot that wait_slot() found free.
    void start(std::coroutine_handle<> h, promise_base& p);
    /// Records a failure of the driver itself (fn or the range threw); stops the call.
    void fail(std::exception_ptr e) noexcept;
    /// After drain(): rethrows the first exception, or the first error; else the driver's
    /// cancellation error when `skipped` (elements were left unstarted), else success.
    result<void> outcome(bool skipped);

    struct wait_awaiter {
        for_each_core* core;
        bool all; // drain: wait for every child; else for one free slot
        bool await_ready() const noexcept { return false; }
        template <class P>
        bool await_suspend(std::coroutine_handle<P> h) noexcept {
            return core->suspend(h, cancel_of(h), all);
        }
        bool await_resume() noexcept { return core->resume(); }
    };

private:
    struct slot;

    bool suspend(std::coroutine_handle<> h, cancel_state* c, bool all) noexcept;
    bool resume() noexcept;
    // Starts nothing more and cancels the children in flight with `why`; `driver_cancelled`:
    // because the driver's own task was cancelled (outcome() then reports it).
    void stop_locked(cancel_reason why, bool driver_cancelled) noexcept; // mu_ held
    void stop(cancel_reason why, bool driver_cancelled) noexcept;
    bool ready_locked() const noexcept; // mu_ held
    static std::coroutine_handle<> on_child_done(join_listener* self, void* child) noexcept;
    static void on_parent_cancel(cancel_hook* self) noexcept;

    const std::size_t limit_;
    const error_of_fn error_of_;
    spin_lock mu_;
    std::size_t in_flight_ = 0;        // guarded by mu_: started, frame not yet freed
    slot* slots_ = nullptr;            // guarded by mu_: every slot ever made (<= limit)
    slot* free_ = nullptr;             // guarded by mu_: slots without a child
    std::coroutine_handle<> waiter_{}; // guarded by mu_: the driver, suspended
    bool wait_all_ = false;            // guarded by mu_: what the waiter waits for
    bool stopped_ = false;             // guarded by mu_: start nothing more
    cancel_reason cancelled_ = cancel_reason::none; // guarded by mu_: the driver's cancellation
    std::exception_ptr first_exception_;            // guarded by mu_
    std::error_code first_error_;                   // guarded by mu_
    // Driver only:
    cancel_state* armed_ = nullptr; // the driver's cancel state, armed with our hook
    bool waited_ = false;           // suspended (counted blocked, for the deadlock detector)
};

/// The error a finished child of type task<result<void>> returned (none if it threw).
template <class T>
std::error_code for_each_error_of(promise_base& child) noexcept {
    auto& p = static_cast<task_promise<T>&>(child);
    return p.has_exception() ? std::error_code{} : p.take().error();
}

template <class T>
struct for_each_child_traits {
    static constexpr bool ok = false;
};
template <>
struct for_each_child_traits<task<void>> {
    static constexpr bool ok = true;
    static constexpr for_each_core::error_of_fn error_of = nullptr;
};
template <>
struct for_each_child_traits<task<result<void>>> {
    static constexpr bool ok = true;
    static constexpr for_each_core::error_of_fn error_of = &for_each_error_of<result<void>>;
};

/// Keeps an element that the range yields by value alive for its child's whole run.
template <class T, class F, class V>
task<T> for_each_hold(F& fn, V v) {
    co_return co_await std::invoke(fn, v);
}

template <class R, class F>
task<result<void>> for_each_driver(R range, std::size_t limit, F fn) {
    using ref = std::ranges::range_reference_t<std::remove_reference_t<R>>;
    using child_task = std::remove_cvref_t<std::invoke_result_t<F&, ref>>;
    using traits = for_each_child_traits<child_task>;
    static_assert(
        traits::ok,
        "weft::for_each: fn(element) must return weft::task<void> or "
        "weft::task<weft::result<void>>");
    constexpr bool hold = !std::is_reference_v<ref>;

    for_each_core core(limit, traits::error_of);
    bool skipped = false;
    try {
        auto it = std::ranges::begin(range);
        const auto last = std::ranges::end(range);
        for (; it != last; ++it) {
            if (!co_await core.wait_slot()) {
                skipped = true;
                break;
            }
            child_task t = [&] {
                if constexpr (hold) {
                    using value = std::remove_cv_t<ref>;
                    return for_each_hold<typename child_task::value_type, F, value>(fn, *it);
                } else {
                    return std::invoke(fn, *it);
                }
            }();
            WEFT_ASSERT(t.valid(), "weft::for_each: fn returned an empty task");
            auto h = t.release();
            core.start(h, h.promise());
        }
    } catch (...) {
        core.fail(std::current_exception());
    }
    co_await core.drain();
    co_return core.outcome(skipped);
}

} // namespace detail

} // namespace weft

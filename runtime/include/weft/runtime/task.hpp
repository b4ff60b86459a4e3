// weft::task<T>: a lazy coroutine that produces a T.
//
//     weft::task<int> answer() { co_return 42; }
//     weft::task<> caller() {
//         int v = co_await answer();            // runs answer() inline, right now
//         auto h = weft::spawn(answer());       // or: runs it concurrently, maybe on another core
//         v += co_await h;
//     }
//
// A task does nothing until it is awaited or spawned. Awaiting transfers control to it directly
// (symmetric transfer: no queue round trip, no stack growth) and resumes the awaiter when it
// finishes, on the same thread. An exception thrown inside reaches the awaiter. A task is
// move-only; destroying a task that never ran frees it without running it.
//
// Thread-safety: a task object is owned by one coroutine at a time; it is not shared.
// Cancellation: a task awaited inline shares the cancellation of the task that awaits it, so
// cancelling a spawned task reaches every await it makes, however deep.
#pragma once

#include <weft/runtime/detail/assert.hpp>
#include <weft/runtime/detail/nodiscard.hpp>
#include <weft/runtime/detail/promise.hpp>
#include <weft/runtime/detail/task_promise.hpp>

#include <coroutine>
#include <utility>

namespace weft {

/// A lazy coroutine producing a T; see the file comment.
template <class T = void>
class WEFT_NODISCARD("a task does nothing until it is co_awaited or spawned") task {
public:
    using promise_type = detail::task_promise<T>;
    using handle_type = std::coroutine_handle<promise_type>;
    using value_type = T;

    task() noexcept = default;
    explicit task(handle_type h) noexcept
        : h_(h) {}
    task(task&& o) noexcept
        : h_(std::exchange(o.h_, {})) {}
    task& operator=(task&& o) noexcept {
        if (this != &o) {
            destroy();
            h_ = std::exchange(o.h_, {});
        }
        return *this;
    }
    task(const task&) = delete;
    task& operator=(const task&) = delete;
    ~task() { destroy(); }

    /// True if this object holds a coroutine (false after a move or release()).
    bool valid() const noexcept { return static_cast<bool>(h_); }

    /// Gives up ownership of the coroutine frame (used by spawn).
    handle_type release() noexcept { return std::exchange(h_, {}); }

    /// What co_await on a task returns (defined below).
    struct awaiter;

    /// Runs the task inline; the awaiter resumes when it finishes, with its value or exception.
    /// A task is awaited once: the await takes its frame (a second one is a checked error).
    awaiter operator co_await() && noexcept;
    awaiter operator co_await() & noexcept;

private:
    void destroy() noexcept {
        if (h_) {
            h_.destroy();
            h_ = {};
        }
    }
    handle_type h_{};
};

// ---------------------------------------------------------------------------------------------
// Machinery: the awaiter, and the promise's get_return_object (it needs task<T> complete).

/// Transfers straight into the task, which inherits the awaiting coroutine's cancellation.
/// It owns the frame from operator co_await on, and frees it once the await is over: the task
/// object is empty after one await, so a second one stops at the assert instead of resuming a
/// finished coroutine.
template <class T>
struct task<T>::awaiter {
    handle_type h;
    bool foreign = false; // the awaiting coroutine is not a weft task
    explicit awaiter(handle_type owned) noexcept
        : h(owned) {}
    awaiter(const awaiter&) = delete;
    awaiter& operator=(const awaiter&) = delete;
    ~awaiter() {
        if (h) {
            detail::destroy_frame(h, h.promise());
        }
    }
    bool await_ready() const noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> parent) noexcept {
        auto& p = h.promise();
        p.continuation_ = parent;
        if (detail::cancel_state* c = detail::cancel_of(parent)) {
            p.cancel_ = c;
        } else {
            foreign = true;
        }
        return h;
    }
    T await_resume() requires(!detail::is_result_v<T>) {
        leave();
        return h.promise().take();
    }
    /// An ignored `weft::result` is an ignored error: `co_await t;` warns for a `task<result<U>>`.
    [[nodiscard]] T await_resume() requires detail::is_result_v<T> {
        leave();
        return h.promise().take();
    }

private:
    void leave() noexcept {
        if (foreign) {
            detail::tls_chain = nullptr; // the task's chain ended with it
        }
    }
};

template <class T>
inline typename task<T>::awaiter task<T>::operator co_await() && noexcept {
    WEFT_ASSERT(h_, "co_await on an empty weft::task (moved from, or already awaited)");
    return awaiter{std::exchange(h_, {})};
}

template <class T>
inline typename task<T>::awaiter task<T>::operator co_await() & noexcept {
    WEFT_ASSERT(h_, "co_await on an empty weft::task (moved from, or already awaited)");
    return awaiter{std::exchange(h_, {})};
}

namespace detail {
template <class T>
task<T> task_promise<T>::get_return_object() noexcept {
    return task<T>{std::coroutine_handle<task_promise<T>>::from_promise(*this)};
}
inline task<void> task_promise<void>::get_return_object() noexcept {
    return task<void>{std::coroutine_handle<task_promise<void>>::from_promise(*this)};
}
} // namespace detail

} // namespace weft

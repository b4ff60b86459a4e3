// Spawning tasks: weft::spawn, weft::go and weft::join_handle<T>.
//
//     auto h = weft::spawn(work(42));   // runs concurrently, maybe on another worker
//     int v = co_await h;               // the result, or the task's exception rethrown
//     weft::go(background());           // fire and forget
//
// spawn() may only be called from a task running on a weft runtime; from another thread use
// weft::runtime::spawn. A spawned task is queued on the current worker (LIFO: it is the likeliest
// to be hot in cache) and may be stolen by an idle worker.
//
// join_handle<T>
//   - Awaiting it yields the task's value or rethrows its exception; it can be awaited once.
//     A join that finds the task finished does not suspend. The awaiter is resumed on the thread
//     that finished the task (by symmetric transfer), or at once if it was already finished.
//   - Dropping it (or detach()) lets the task run on; its exception, if any, then goes to the
//     runtime's detached-exception handler (default: printed to stderr with the task's name).
//   - cancel() asks the task to stop: its pending and future weft awaits complete with
//     std::errc::operation_canceled and it unwinds normally. The join still waits for it to end.
// Thread-safety: a handle belongs to one owner; cancel() and is_done() may race with the task.
// Memory ordering: everything the task did happens-before the await of its handle returns.
#pragma once

#include <weft/runtime/task.hpp>

#include <weft/runtime/detail/nodiscard.hpp>

#include <coroutine>
#include <utility>

namespace weft {

template <class T = void>
class WEFT_NODISCARD("dropping a join_handle detaches the task; use weft::go to say so")
    join_handle;

/// Starts `t` concurrently on the current runtime and returns a handle to join, cancel or detach
/// it. `name` (a string with static storage) appears in the report of a detached task's
/// uncaught exception.
template <class T>
join_handle<T> spawn(task<T> t, const char* name = nullptr) {
    WEFT_ASSERT(t.valid(), "weft::spawn of an empty task");
    auto h = t.release();
    h.promise().name_ = name;
    detail::schedule_spawn(h);
    return join_handle<T>{h};
}

/// Starts `t` detached (Go's `go f()`): it runs to the end on its own; its exception goes to the
/// runtime's detached-exception handler.
template <class T>
void go(task<T> t, const char* name = nullptr) {
    WEFT_ASSERT(t.valid(), "weft::go of an empty task");
    auto h = t.release();
    h.promise().name_ = name;
    h.promise().join_.preset_detached();
    detail::schedule_spawn(h);
}

/// The owner's end of a spawned task: join it (co_await), cancel it, or detach it. See the file
/// comment.
template <class T>
class WEFT_NODISCARD("dropping a join_handle detaches the task; use weft::go to say so")
    join_handle {
public:
    using promise_type = detail::task_promise<T>;
    using handle_type = std::coroutine_handle<promise_type>;

    join_handle() noexcept = default;
    explicit join_handle(handle_type h) noexcept
        : h_(h) {}
    join_handle(join_handle&& o) noexcept
        : h_(std::exchange(o.h_, {})) {}
    join_handle& operator=(join_handle&& o) noexcept {
        if (this != &o) {
            detach();
            h_ = std::exchange(o.h_, {});
        }
        return *this;
    }
    join_handle(const join_handle&) = delete;
    join_handle& operator=(const join_handle&) = delete;
    ~join_handle() { detach(); }

    /// True while this handle refers to a task (not moved from, detached or joined).
    bool valid() const noexcept { return static_cast<bool>(h_); }

    /// True once the task has finished (its result is ready; awaiting will not suspend).
    bool is_done() const noexcept { return h_ && h_.promise().join_.is_done(); }

    /// Asks the task to stop (see the file comment). Idempotent; no effect on a finished task.
    void cancel() noexcept {
        if (h_) {
            h_.promise().own_cancel_.request(detail::cancel_reason::cancelled);
        }
    }

    /// Lets the task run on without a handle. The handle becomes empty.
    void detach() noexcept {
        if (!h_) {
            return;
        }
        handle_type h = std::exchange(h_, {});
        // Pairs with finish_spawned's join_.finish(); whoever comes second frees the frame.
        if (h.promise().join_.detach()) {
            if (h.promise().has_exception()) {
                detail::report_detached_exception(
                    h.promise().name_, h.promise().exception_, h.promise().finished_on_);
            }
            h.destroy();
        }
    }

    /// What co_await on a join_handle returns (defined below).
    struct awaiter;

    /// Waits for the task and yields its value (or rethrows). The handle is consumed.
    awaiter operator co_await() & noexcept;
    awaiter operator co_await() && noexcept;

    /// The coroutine (for the runtime's structured-concurrency helpers).
    handle_type handle() const noexcept { return h_; }
    handle_type release() noexcept { return std::exchange(h_, {}); }

private:
    handle_type h_{};
};

// ---------------------------------------------------------------------------------------------
// Machinery: the join's awaiter (join_word.hpp has the protocol it follows).

template <class T>
struct join_handle<T>::awaiter {
    handle_type h;
    join_handle* owner;
    bool suspended = false;
    bool await_ready() const noexcept { return h.promise().join_.is_done(); }
    bool await_suspend(std::coroutine_handle<> waiter) noexcept {
        // Counted before the CAS: once it succeeds the task may finish and resume us anywhere.
        detail::blocked_enter(detail::blocked_on::join);
        // Written before the CAS: once it succeeds, another thread may resume us at once.
        suspended = true;
        // Fails when the task has finished meanwhile: the result is visible then.
        if (h.promise().join_.try_await(waiter)) {
            return true;
        }
        suspended = false;
        detail::blocked_leave(detail::blocked_on::join);
        return false;
    }
    T await_resume() {
        if (suspended) {
            detail::blocked_leave(detail::blocked_on::join);
        }
        handle_type done = std::exchange(owner->h_, {});
        struct destroy_on_exit {
            handle_type h;
            ~destroy_on_exit() { h.destroy(); }
        } guard{done};
        return done.promise().take();
    }
};

template <class T>
inline typename join_handle<T>::awaiter join_handle<T>::operator co_await() & noexcept {
    WEFT_ASSERT(h_, "co_await on an empty weft::join_handle (already joined, detached or moved)");
    return awaiter{h_, this};
}

template <class T>
inline typename join_handle<T>::awaiter join_handle<T>::operator co_await() && noexcept {
    return operator co_await();
}

} // namespace weft

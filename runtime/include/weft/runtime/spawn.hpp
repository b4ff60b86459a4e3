// Spawning tasks: weft::spawn, weft::go and weft::join_handle<T>.
//
//     auto h = weft::spawn(work(42));   // runs concurrently, maybe on another worker
//     int v = co_await h;               // the result, or the task's exception rethrown
//     weft::go(background());           // fire and forget
//
// Coroutine lambdas: give spawn and go the lambda, not the task it returns.
//
//     weft::spawn([s]() -> weft::task<int> { co_return s.size(); }()); // WRONG: dead lambda
//     weft::spawn([s]() -> weft::task<int> { co_return s.size(); });   // right: it lives on
//     weft::spawn(fetch, url, std::move(buf));                         // right: fetch(url, buf)
//
// A lambda's coroutine frame keeps a pointer to the lambda object, not a copy of its captures,
// and that object dies at the end of the spawning expression while the task runs on. Given a
// callable and arguments instead, spawn and go decay-copy them (as std::thread does: move-only
// arguments are moved in, pass std::ref for a reference) into the spawned task's own frame and
// call it there, once, as rvalues; they live until the task finishes. The callable must return a
// weft::task. A name goes first: `weft::spawn(weft::named("fetch"), fetch, url)`. The callable
// form costs one more coroutine frame than spawning a task; the task form is unchanged.
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
//     runtime's detached-exception handler (default: printed to stderr with the task's name),
//     except weft::cancelled_error: a cancelled task that stopped is not an error. A handle
//     dropped while an exception unwinds (the code that would have joined has failed) cancels
//     the task first.
//   - cancel() asks the task to stop: its pending and future weft awaits complete with
//     weft::errc::canceled (equal to std::errc::operation_canceled) and it unwinds normally. A
//     task cancelled before it first runs does not run at all: its join throws
//     weft::cancelled_error (a task of weft::result<U> returns the error instead). The join still
//     waits for the task to end.
//   - Cancellation is inherited: a spawned task is linked to the task that spawned it, and stops
//     when that one (or one of its spawners) is cancelled: at its start if it has not run yet,
//     at its next spawn or join if it runs. A task cancelled while it joins another (or that
//     joins after it was cancelled) also cancels the task it joins, which reaches a child
//     blocked on a channel or a socket. So cancelling the root of a fork-join tree (with_timeout
//     does) stops the whole tree quickly; runtime/src/cancel.cpp has the model and its cost. A
//     blocked child whose spawner is cancelled before it joins it is reached at that join; to
//     cancel a fan-out as one, use when_all, a scope or for_each. weft::go starts a task linked
//     to nobody.
// Thread-safety: a handle belongs to one owner; cancel() and is_done() may race with the task.
// Memory ordering: everything the task did happens-before the await of its handle returns.
#pragma once

#include <weft/runtime/task.hpp>

#include <weft/runtime/detail/nodiscard.hpp>
#include <weft/runtime/detail/task_factory.hpp>

#include <coroutine>
#include <exception>
#include <utility>

namespace weft {

template <class T = void>
class WEFT_NODISCARD("dropping a join_handle detaches the task; use weft::go to say so")
    join_handle;

/// A task's name for the callable forms, which take it first: `weft::spawn(weft::named("fetch"),
/// fetch, url)`. `name` must have static storage; it appears in the report of a detached task's
/// uncaught exception.
struct named {
    constexpr explicit named(const char* n) noexcept
        : name(n) {}
    const char* name; ///< the task's name (static storage), or null
};

/// Starts `t` concurrently on the current runtime and returns a handle to join, cancel or detach
/// it. `name` (a string with static storage) appears in the report of a detached task's
/// uncaught exception.
template <class T>
join_handle<T> spawn(task<T> t, const char* name = nullptr) {
    WEFT_ASSERT(t.valid(), "weft::spawn of an empty task");
    auto h = t.release();
    h.promise().name_ = name;
    if (detail::cancel_state* chain = detail::tls_chain) {
        h.promise().own_cancel_.link(chain); // inherits the spawner's cancellation
    }
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

/// Starts `f(args...)` concurrently, `f` a callable returning a task (a coroutine lambda); `f`
/// and `args` live in the task's frame until it finishes (see the file comment).
template <class F, class... Args>
requires detail::task_factory<F, Args...>
auto spawn(F&& f, Args&&... args) {
    return spawn(detail::make_owning_task(std::forward<F>(f), std::forward<Args>(args)...));
}

/// spawn(f, args...) with a name for the task.
template <class F, class... Args>
requires detail::task_factory<F, Args...>
auto spawn(named n, F&& f, Args&&... args) {
    return spawn(detail::make_owning_task(std::forward<F>(f), std::forward<Args>(args)...), n.name);
}

/// Starts `f(args...)` detached; `f` and `args` live in the task's frame (see the file comment).
template <class F, class... Args>
requires detail::task_factory<F, Args...>
void go(F&& f, Args&&... args) {
    go(detail::make_owning_task(std::forward<F>(f), std::forward<Args>(args)...));
}

/// go(f, args...) with a name for the task.
template <class F, class... Args>
requires detail::task_factory<F, Args...>
void go(named n, F&& f, Args&&... args) {
    go(detail::make_owning_task(std::forward<F>(f), std::forward<Args>(args)...), n.name);
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
        if (h_) {
            detach_now(); // out of line: a joined handle (the common case) pays one test
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
    [[gnu::noinline]] void detach_now() noexcept {
        handle_type h = std::exchange(h_, {});
        if (std::uncaught_exceptions() > 0) [[unlikely]] {
            // Dropped while an exception unwinds: the code that would have joined the task has
            // failed (often because a join rethrew a cancellation), so the task stops too.
            h.promise().own_cancel_.request(detail::cancel_reason::cancelled);
        }
        // Pairs with finish_spawned's join_.finish(); whoever comes second frees the frame.
        if (h.promise().join_.detach()) {
            if (h.promise().has_exception()) {
                detail::report_detached_exception(
                    h.promise().name_, h.promise().exception_, h.promise().finished_on_);
            }
            detail::destroy_frame(h, h.promise(), detail::tls_chain);
        }
    }

    handle_type h_{};
};

// ---------------------------------------------------------------------------------------------
// Machinery: the join's awaiter (join_word.hpp has the protocol it follows).

/// While suspended, the awaiter is the joiner's cancel hook: a cancellation of the joiner cancels
/// the child (runtime/src/cancel.cpp, step 3).
template <class T>
struct join_handle<T>::awaiter : private detail::cancel_hook {
    handle_type h;
    join_handle* owner;
    bool suspended = false;
    bool foreign = false;                          // the waiter is not a weft task
    detail::cancel_state* joiner_cancel = nullptr; // armed with this hook while suspended

    awaiter(handle_type child, join_handle* o) noexcept
        : detail::cancel_hook{&on_joiner_cancel}
        , h(child)
        , owner(o) {}
    awaiter(const awaiter&) = delete;
    awaiter& operator=(const awaiter&) = delete;

    bool await_ready() const noexcept { return h.promise().join_.is_done(); }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> waiter) noexcept {
        if (detail::cancel_state* c = detail::cancel_of(waiter)) {
            // Set before arming: once armed, the hook may fire on another thread and read it.
            joiner_cancel = c;
            if (!c->arm(this)) {
                joiner_cancel = nullptr;
                h.promise().own_cancel_.request(c->reason()); // cancelled already: so is the child
            }
        } else {
            foreign = true;
        }
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
        disarm();
        return false;
    }
    T await_resume() requires(!detail::is_result_v<T>) { return finish(); }
    /// An ignored `weft::result` is an ignored error: `co_await h;` warns for a `result<U>` task.
    [[nodiscard]] T await_resume() requires detail::is_result_v<T> { return finish(); }
    [[gnu::always_inline]] T finish() {
        if (suspended) {
            detail::blocked_leave(detail::blocked_on::join);
            disarm();
            if (foreign) {
                detail::tls_chain = nullptr; // resumed by the child: its chain is not ours
            }
        }
        handle_type done = std::exchange(owner->h_, {});
        struct destroy_on_exit {
            handle_type h;
            ~destroy_on_exit() { detail::destroy_frame(h, h.promise(), detail::tls_chain); }
        } guard{done};
        return done.promise().take();
    }

private:
    void disarm() noexcept {
        if (joiner_cancel != nullptr) {
            joiner_cancel->disarm();
        }
    }
    // Runs inside the joiner's cancel_state::request, on any thread, while we are suspended: the
    // child is alive (it is freed only after disarm(), in await_resume).
    static void on_joiner_cancel(detail::cancel_hook* self) noexcept {
        auto* a = static_cast<awaiter*>(self);
        a->h.promise().own_cancel_.request(a->joiner_cancel->reason());
    }
};

template <class T>
inline typename join_handle<T>::awaiter join_handle<T>::operator co_await() & noexcept {
    WEFT_ASSERT(h_, "co_await on an empty weft::join_handle (already joined, detached or moved)");
    return awaiter(h_, this);
}

template <class T>
inline typename join_handle<T>::awaiter join_handle<T>::operator co_await() && noexcept {
    return operator co_await();
}

} // namespace weft

// weft::scope: a task group. Children spawned into a scope never outlive it.
//
//     weft::scope s;
//     for (auto& url : urls) s.spawn(fetch(url));   // run concurrently
//     co_await s.join();                             // wait for all; rethrows the first failure
//
// - spawn(task) starts a child (its value, if any, is discarded: use when_all to collect values).
//   Children may spawn more children into the same scope.
// - spawn(f, args...) starts f(args...), f a callable returning a task (a coroutine lambda), with
//   f and args kept in the child's frame until it finishes; a name goes first:
//   spawn(weft::named("fetch"), f, args...). Spawn a coroutine lambda this way, never as
//   spawn(lambda()): that task would outlive the lambda it points into (see spawn.hpp).
// - The first child to fail (throw) cancels every other child; join() rethrows that exception
//   after all children have finished.
// - cancel() cancels every child running now and every child spawned later. A child cancelled
//   before it first ran does not run at all; the weft::cancelled_error that children end with
//   after a cancel() of the scope (or of the joiner) is not a failure: join() does not rethrow it.
// - Cancelling the task that awaits join() cancels the children; join still waits for them.
// - Destroying a scope whose children are still running is a programming error (aborts with a
//   message): structured concurrency means the owner joins. Finished children free their frames
//   at once, so a long-lived scope holds memory only for live children.
// Thread-safety: every member may be called from any task of the runtime, concurrently.
// Memory ordering: everything the children did happens-before join() returns.
// The awaiter of join() resumes on the worker that finished the last child.
#pragma once

#include <weft/runtime/spawn.hpp>
#include <weft/runtime/task.hpp>

#include <weft/runtime/detail/cancel_state.hpp>
#include <weft/runtime/detail/nodiscard.hpp>
#include <weft/runtime/detail/promise.hpp>
#include <weft/runtime/detail/task_factory.hpp>

#include <coroutine>
#include <cstddef>
#include <exception>
#include <utility>

namespace weft {

/// A task group whose children never outlive it; see the file comment.
class scope : private detail::cancel_hook {
public:
    scope() noexcept;
    ~scope();
    scope(const scope&) = delete;
    scope& operator=(const scope&) = delete;

    /// Starts `t` as a child of this scope (see the file comment).
    template <class T>
    void spawn(task<T> t, const char* name = nullptr) {
        WEFT_ASSERT(t.valid(), "weft::scope::spawn of an empty task");
        auto h = t.release();
        h.promise().name_ = name;
        adopt(h, h.promise());
    }

    /// Starts `f(args...)` as a child; `f` and `args` live in its frame (see the file comment).
    template <class F, class... Args>
    requires detail::task_factory<F, Args...>
    void spawn(F&& f, Args&&... args) {
        spawn(detail::make_owning_task(std::forward<F>(f), std::forward<Args>(args)...));
    }

    /// spawn(f, args...) with a name for the child.
    template <class F, class... Args>
    requires detail::task_factory<F, Args...>
    void spawn(named n, F&& f, Args&&... args) {
        spawn(detail::make_owning_task(std::forward<F>(f), std::forward<Args>(args)...), n.name);
    }

    /// Cancels every running child and every child spawned from now on.
    void cancel() noexcept;

    /// Children still running.
    std::size_t size() const;

    /// What join() returns (defined below).
    struct join_awaiter;

    /// Waits until every child has finished; rethrows the first child's exception.
    join_awaiter join() noexcept;

private:
    // The live children (a list of slots), the first error and the joiner, under one spin lock.
    // The type is defined in runtime/src/scope.cpp, where the protocol is; it lives in storage_
    // (constructed by scope(), destroyed by ~scope()). The constructor checks the size.
    struct bookkeeping;
    struct slot;
    bookkeeping& book() const noexcept;
    slot* take_slot();

    void adopt(std::coroutine_handle<> h, detail::promise_base& p);
    bool suspend_join(std::coroutine_handle<> h, detail::cancel_state* c);
    void resume_join();
    static std::coroutine_handle<> on_child_done(detail::join_listener* self, void* child) noexcept;
    static void on_parent_cancel(detail::cancel_hook* self) noexcept;

    static constexpr std::size_t bookkeeping_size = 96;
    alignas(void*) mutable unsigned char storage_[bookkeeping_size];
    detail::cancel_state* waiter_cancel_ = nullptr; // the joiner's; armed with our hook in join()
    bool waited_ = false;                           // join() suspended (for the deadlock count)
};

// ---------------------------------------------------------------------------------------------
// Machinery: join()'s awaiter.

struct WEFT_NODISCARD("join() must be co_awaited") scope::join_awaiter {
    scope* s;
    bool foreign = false; // the joiner is not a weft task
    bool await_ready() const { return s->size() == 0; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
        detail::cancel_state* c = detail::cancel_of(h);
        foreign = c == nullptr;
        return s->suspend_join(h, c);
    }
    void await_resume() {
        if (foreign) {
            detail::tls_chain = nullptr; // resumed by the last child: its chain is not ours
        }
        s->resume_join();
    }
};

inline scope::join_awaiter scope::join() noexcept {
    return {this};
}

} // namespace weft

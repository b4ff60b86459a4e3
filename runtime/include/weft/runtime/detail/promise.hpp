// The promise shared by every weft::task<T>: result slot, continuation for inline awaits, and the
// join state of a spawned task. Everything a spawned task needs lives here, in its own frame, so a
// spawn is one frame allocation and one 8-byte queue item (the coroutine handle), as in
// TooManyCooks (tmc/detail/ex_cpu.ipp).
//
// A spawned task's join state is one atomic word, join_ (join_word.hpp has its encoding and the
// protocol between the finishing task and its joiner).
#pragma once

#include <weft/runtime/detail/cancel_state.hpp>
#include <weft/runtime/detail/frame_allocator.hpp>
#include <weft/runtime/detail/join_word.hpp>
#include <weft/runtime/detail/scheduler_hooks.hpp>

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace weft::detail {

/// The cancel state of the task chain running on this thread (the chain whose code calls
/// weft::spawn), or null outside weft task code: set when a task starts and after every await
/// in a task (promise_base::await_transform), cleared by the worker before it resumes anything
/// from a queue. weft::spawn links the child to it (runtime/src/cancel.cpp, "Links").
extern constinit thread_local cancel_state* tls_chain;

/// The awaiter a task's co_await really uses: `inner` (the awaitable's awaiter, held by value
/// when operator co_await made it, else by reference to the operand, which lives to the end of
/// the full expression) with tls_chain set on resumption. Always inlined: it must cost what the
/// inner awaiter costs plus one thread-local store.
template <class Inner>
struct chain_awaiter {
    Inner inner;
    cancel_state* chain;
    [[gnu::always_inline]] bool await_ready() noexcept(noexcept(inner.await_ready())) {
        return inner.await_ready();
    }
    template <class P>
    [[gnu::always_inline]] decltype(auto)
    await_suspend(std::coroutine_handle<P> h) noexcept(noexcept(inner.await_suspend(h))) {
        return inner.await_suspend(h);
    }
    // The awaited value keeps its [[nodiscard]]: an ignored weft::result warns (with clang; see
    // nodiscard.hpp), except from awaiters that say their result may be dropped (sleeps, yield).
    using value_type = decltype(std::declval<Inner&>().await_resume());
    static constexpr bool must_use =
        is_result<std::remove_cvref_t<value_type>>::value && !requires {
        typename std::remove_cvref_t<Inner>::weft_discardable;
    };
    [[gnu::always_inline]] decltype(auto)
    await_resume() noexcept(noexcept(inner.await_resume())) requires(!must_use) {
        tls_chain = chain;
        return inner.await_resume();
    }
    [[nodiscard, gnu::always_inline]] decltype(auto)
    await_resume() noexcept(noexcept(inner.await_resume())) requires(must_use) {
        tls_chain = chain;
        return inner.await_resume();
    }
};

/// The awaiter of `a` as co_await would find it: a member or free operator co_await, else `a`.
template <class A>
decltype(auto) awaiter_of(A&& a) {
    if constexpr (requires { static_cast<A&&>(a).operator co_await(); }) {
        return static_cast<A&&>(a).operator co_await();
    } else if constexpr (requires { operator co_await(static_cast<A&&>(a)); }) {
        return operator co_await(static_cast<A&&>(a));
    } else {
        return static_cast<A&&>(a);
    }
}

class promise_base {
public:
    static void* operator new(std::size_t n) { return frame_alloc(n); }
    static void operator delete(void* p, std::size_t n) noexcept { frame_free(p, n); }

    /// A spawned task cancelled before it first runs ends at once: its body never runs and it
    /// completes with weft::cancelled_error (start_awaiter below).
    struct start_awaiter;
    start_awaiter initial_suspend() noexcept;
    void unhandled_exception() noexcept { exception_ = std::current_exception(); }

    /// The cancellation state this coroutine answers to (its spawner's when awaited inline).
    cancel_state& weft_cancel() noexcept { return *cancel_; }

    /// Every co_await in a task goes through a chain_awaiter, which sets tls_chain when the task
    /// resumes: code after an await runs as this task's chain, whoever resumed it.
    template <class A>
    auto await_transform(A&& a);

    // --- used by task, join_handle, spawn ---
    union {
        std::coroutine_handle<> continuation_{}; // awaiting coroutine when awaited inline
        // Spawned and finished with an exception: the scheduler it ran on, so that a handle
        // dropped later on any thread reports to that runtime's handler (finish_spawned).
        scheduler* finished_on_;
    };
    cancel_state* cancel_ = &own_cancel_; // own_cancel_ when spawned, else the spawner's
    join_word join_;                      // spawned: the join protocol (join_word.hpp)
    cancel_state own_cancel_;
    const char* name_ = nullptr;
    std::exception_ptr exception_;
};

/// Throws weft::cancelled_error for `why` (out of line: the throw is cold, the start check is
/// not). runtime/src/cancel.cpp has the cancellation model.
[[noreturn]] void throw_cancelled(cancel_reason why);

/// The start of a task that may be cancelled (maybe_cancelled_at_start): throws cancelled_error
/// if it or one of its spawners is; else returns, having noted its spawners clean.
void start_slow(promise_base& p);

/// True if `e` holds a weft::cancelled_error; its code goes to `*code` when given.
bool is_cancellation(const std::exception_ptr& e, std::error_code* code = nullptr) noexcept;

/// In a catch handler: true if the exception being handled is a weft::cancelled_error (its code
/// goes to `code`).
bool current_is_cancellation(std::error_code& code) noexcept;

/// The initial suspension of every task. When the task first runs, it checks its own
/// cancellation: one compare and one load. Only a spawned task can be cancelled before it runs
/// (a task awaited inline shares its awaiter's cancellation, and runs at once when awaited, so
/// its body always starts: cleanup code awaited by a cancelled task still runs).
struct promise_base::start_awaiter {
    promise_base* p;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    [[gnu::always_inline]] void await_resume() const {
        tls_chain = p->cancel_;
        if (p->cancel_ == &p->own_cancel_ && p->own_cancel_.maybe_cancelled_at_start())
            [[unlikely]] {
            start_slow(*p);
        }
    }
};

template <class A>
auto promise_base::await_transform(A&& a) {
    using inner = decltype(awaiter_of(static_cast<A&&>(a)));
    return chain_awaiter<inner>{awaiter_of(static_cast<A&&>(a)), cancel_};
}

/// Frees the frame of a finished task `h` (promise `p`), consumed by the task chain `consumer`
/// (the joiner's; null when unknown). Its link to its spawner is let go: for free when the
/// consumer is the spawner itself, else counted down on the spawner. A frame that links from
/// tasks it spawned still point to stays allocated (a zombie) until the last of them lets go.
/// runtime/src/cancel.cpp, "Links". The common case (nothing linked, or joined by its spawner)
/// costs two loads, a compare and a decrement.
void destroy_linked_frame(
    std::coroutine_handle<> h, promise_base& p, cancel_state* consumer) noexcept;
inline void destroy_frame(
    std::coroutine_handle<> h, promise_base& p, cancel_state* consumer = nullptr) noexcept {
    cancel_state& s = p.own_cancel_;
    if (s.links_ == 0) [[likely]] {
        cancel_state* up = s.parent();
        if (up == nullptr || up == consumer) {
            h.destroy();
            if (up != nullptr) {
                --up->links_; // the spawner's chain is the one running here
            }
            return;
        }
    }
    destroy_linked_frame(h, p, consumer);
}

inline promise_base::start_awaiter promise_base::initial_suspend() noexcept {
    return {this};
}

/// Called by a spawned task's final suspend: publishes completion, returns what to run next.
std::coroutine_handle<> finish_spawned(std::coroutine_handle<> self, promise_base& p) noexcept;

struct final_awaiter {
    bool await_ready() const noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
        promise_base& p = h.promise();
        if (p.continuation_) {
            return p.continuation_;
        }
        return finish_spawned(h, p);
    }
    void await_resume() const noexcept {}
};

template <class T>
class task_promise;

/// Lets an awaiting coroutine pass its cancellation state to a child it awaits inline.
template <class P>
cancel_state* cancel_of(std::coroutine_handle<P> h) noexcept {
    if constexpr (requires { h.promise().weft_cancel(); }) {
        return &h.promise().weft_cancel();
    } else {
        return nullptr;
    }
}

} // namespace weft::detail

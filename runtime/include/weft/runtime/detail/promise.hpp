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

class promise_base {
public:
    static void* operator new(std::size_t n) { return frame_alloc(n); }
    static void operator delete(void* p, std::size_t n) noexcept { frame_free(p, n); }

    std::suspend_always initial_suspend() const noexcept { return {}; }
    void unhandled_exception() noexcept { exception_ = std::current_exception(); }

    /// The cancellation state this coroutine answers to (its spawner's when awaited inline).
    cancel_state& weft_cancel() noexcept { return *cancel_; }

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

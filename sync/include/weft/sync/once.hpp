// weft::sync::once: run an initialisation exactly once, however many tasks ask (Go's sync.Once,
// std::call_once), without blocking threads.
//
//     weft::sync::once init;
//     co_await init.call([&]() -> weft::task<> { config = co_await load_config(); });
//
// call(f) runs f (a callable returning void, or a weft::task to await) if no call has completed
// yet; concurrent callers wait until it has. After a call completes normally, every later call
// returns at once. If f throws, the exception reaches that caller, the once is not done, and one
// of the waiting callers (or the next caller) runs its own f: std::call_once's rule (Go's Once
// instead counts a panicking f as done).
// Thread-safety: call() may be awaited concurrently from any tasks; is_done() from anywhere.
// Memory ordering: the completion of f happens-before every call() that returns after it.
// Cancellation: a caller waiting for another's f completes with operation_canceled / timed_out
// when its task is cancelled (f goes on in the other task); the caller running f shares f's fate
// (f's own awaits see the cancellation).
// Which thread resumes the awaiter: the worker of the task that finished f.
// Lifetime: f is moved into call()'s coroutine frame and lives until the call completes.
#pragma once

#include <weft/runtime/result.hpp>
#include <weft/runtime/task.hpp>

#include <weft/runtime/detail/nodiscard.hpp>
#include <weft/sync/detail/notify_list.hpp>

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <functional>
#include <type_traits>
#include <utility>

namespace weft::sync {

namespace detail {
class once_claim;
} // namespace detail

/// Runs an initialisation once; see the file comment.
class once {
public:
    once() noexcept = default;
    ~once();
    once(const once&) = delete;
    once& operator=(const once&) = delete;

    /// `co_await o.call(f)`: result<void>; runs f unless a call has completed (see the file
    /// comment). Success means the once is done; an error means this task was cancelled while it
    /// waited for another caller's f. An exception from f propagates to the caller that ran it.
    template <class F>
    task<result<void>> call(F f);

    /// True once a call has completed normally.
    bool is_done() const noexcept {
        return (list_.word.load(std::memory_order_acquire) >> 1) == done;
    }

private:
    friend class detail::once_claim;

    static constexpr std::uint64_t idle = 0, running = 1, done = 2;

    void finish(bool ok) noexcept;

    // list_.word: state << 1 | waiting bit. idle -> running (under list_.lock, by the caller
    // that will run f) -> done or back to idle (by that caller: one CAS if nobody waits, else
    // under list_.lock). Read lock-free by the fast path.
    detail::notify_list list_; // callers waiting for the runner
};

namespace detail {

/// What a caller of once::call is to do: return (done), run f (run), claim again (retry: the
/// runner finished or failed), or give up (cancelled, with the error).
enum class once_role : std::uint8_t { done, run, retry, cancelled };

struct once_claim_result {
    once_role role;
    std::error_code error;
};

/// Waits until the once is done (-> done) or free to run (-> run: this caller now runs f).
class WEFT_NODISCARD("a claim does nothing unless co_awaited") once_claim : private notify_waiter {
public:
    explicit once_claim(once* o) noexcept;
    once_claim(const once_claim&) = delete;
    once_claim& operator=(const once_claim&) = delete;

    bool await_ready() noexcept;
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) noexcept {
        bind(h);
        return suspend();
    }
    once_claim_result await_resume() noexcept;

private:
    bool suspend() noexcept;
    once* o_;
    once_role role_ = once_role::retry; // set when decided without suspending
};

template <class F>
inline constexpr bool returns_task_v = requires(F& f) {
    std::invoke(f).operator co_await();
};

} // namespace detail

template <class F>
task<result<void>> once::call(F f) {
    for (;;) {
        const detail::once_claim_result claim = co_await detail::once_claim(this);
        if (claim.role == detail::once_role::done) {
            co_return result<void>{};
        }
        if (claim.role == detail::once_role::cancelled) {
            co_return result<void>(claim.error);
        }
        if (claim.role == detail::once_role::retry) {
            continue;
        }
        try {
            if constexpr (detail::returns_task_v<F>) {
                co_await std::invoke(f);
            } else {
                std::invoke(f);
            }
        } catch (...) {
            finish(false);
            throw;
        }
        finish(true);
        co_return result<void>{};
    }
}

} // namespace weft::sync

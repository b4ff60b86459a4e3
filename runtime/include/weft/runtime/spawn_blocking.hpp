// weft::spawn_blocking: run a blocking call (a C library, a slow syscall, heavy CPU work) on the
// runtime's elastic thread pool, without blocking a worker.
//
//     std::string text = co_await weft::spawn_blocking([&] { return read_whole_file(path); });
//
// The callable runs on a pool thread (started on demand, up to runtime_options::
// max_blocking_threads; idle ones exit after blocking_keep_alive). The awaiting task suspends and
// is resumed on a worker of its runtime with the callable's value, or its exception rethrown.
// Cancellation: a call that has started cannot be interrupted; the await completes when it does.
// The callable is moved into the awaitable and lives until the await completes, so capturing
// locals by reference is safe. Memory ordering: the callable's effects happen-before the await
// returns.
#pragma once

#include <weft/runtime/detail/blocking_job.hpp>
#include <weft/runtime/detail/nodiscard.hpp>
#include <weft/runtime/detail/scheduler_hooks.hpp>

#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace weft {

namespace detail {

template <class F>
class WEFT_NODISCARD("spawn_blocking does nothing unless co_awaited") blocking_awaiter
    : private blocking_job {
public:
    using value_type = std::invoke_result_t<F&>;

    explicit blocking_awaiter(F fn)
        : blocking_job{&run_job}
        , fn_(std::move(fn)) {}

    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
        waiter_ = h;
        home_ = current_scheduler();
        blocking_submit(this);
    }
    value_type await_resume() {
        if (error_) {
            std::rethrow_exception(error_);
        }
        if constexpr (!std::is_void_v<value_type>) {
            return std::move(*value_);
        }
    }

private:
    static void run_job(blocking_job* job) noexcept {
        auto* self = static_cast<blocking_awaiter*>(job);
        try {
            if constexpr (std::is_void_v<value_type>) {
                self->fn_();
            } else {
                self->value_.emplace(self->fn_());
            }
        } catch (...) {
            self->error_ = std::current_exception();
        }
        schedule_wakeup_on(self->home_, self->waiter_);
    }

    F fn_;
    std::conditional_t<std::is_void_v<value_type>, bool, std::optional<value_type>> value_{};
    std::exception_ptr error_;
    std::coroutine_handle<> waiter_{};
    scheduler* home_ = nullptr;
};

} // namespace detail

/// Runs `fn()` on the blocking pool; co_await yields its result (see the file comment).
template <class F>
detail::blocking_awaiter<std::decay_t<F>> spawn_blocking(F&& fn) {
    return detail::blocking_awaiter<std::decay_t<F>>(std::forward<F>(fn));
}

} // namespace weft

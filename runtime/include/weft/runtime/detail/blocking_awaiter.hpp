// blocking_awaiter<F>, what spawn_blocking(fn) returns: a blocking_job (detail/blocking_job.hpp)
// that carries the callable to a pool thread, stores its value or exception, and wakes the
// awaiting task on its runtime. Not public: a user writes `co_await weft::spawn_blocking(fn)` and
// never names the awaiter. The pool is runtime/src/blocking_pool.cpp.
#pragma once

#include <weft/runtime/detail/blocking_job.hpp>
#include <weft/runtime/detail/nodiscard.hpp>
#include <weft/runtime/detail/scheduler_hooks.hpp>

#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace weft::detail {

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

} // namespace weft::detail

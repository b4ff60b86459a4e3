// sleep_awaiter, what sleep_for and sleep_until return: a timer_node registered on the current
// worker's timer queue, and the cancel hook that cuts the sleep short. Not public: a user writes
// `co_await weft::sleep_for(d)` and never names the awaiter. Its suspend and cancel paths are in
// runtime/src/timers.cpp.
#pragma once

#include <weft/runtime/result.hpp>

#include <weft/runtime/detail/cancel_state.hpp>
#include <weft/runtime/detail/nodiscard.hpp>
#include <weft/runtime/detail/promise.hpp>
#include <weft/runtime/detail/timer_node.hpp>

#include <coroutine>
#include <cstdint>
#include <system_error>

namespace weft::detail {

class WEFT_NODISCARD("a sleep does nothing unless co_awaited") sleep_awaiter : private cancel_hook {
public:
    explicit sleep_awaiter(std::int64_t deadline_ns) noexcept
        : cancel_hook{&on_cancel} {
        node_.deadline_ns = deadline_ns;
    }
    // Movable before it is awaited (with_timeout and when_any move it into a frame): nothing but
    // the deadline is set until then.
    sleep_awaiter(sleep_awaiter&& o) noexcept
        : cancel_hook{&on_cancel} {
        node_.deadline_ns = o.node_.deadline_ns;
    }
    sleep_awaiter& operator=(sleep_awaiter&&) = delete;
    using weft_discardable = void; // `co_await weft::sleep_for(d);` reads like Go: no warning

    bool await_ready() const noexcept { return false; }

    /// Throws std::bad_alloc (into the sleeping task) when the timer queue cannot grow.
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
        node_.waiter = h;
        cancel_ = cancel_of(h);
        return suspend(h);
    }

    result<void> await_resume() noexcept {
        if (cancel_ != nullptr) {
            cancel_->disarm();
        }
        // Cancelled: the node says so (whoever cancelled it set that before resuming us). A
        // shutdown fires every timer early: a sleep cut short that way was cancelled too.
        bool cancelled = node_.state.load(std::memory_order_acquire) == timer_node::cancelled;
        if (!cancelled && runtime_stopping() && now_ns() < node_.deadline_ns) {
            cancelled = true;
        }
        if (cancelled) {
            return cancel_ != nullptr ? cancel_->error() : make_error_code(weft::errc::canceled);
        }
        return {};
    }

private:
    bool suspend(std::coroutine_handle<> h);
    static void on_cancel(cancel_hook* hook) noexcept;

    timer_node node_; // node_.state == cancelled is how a cancelled sleep is told apart
    cancel_state* cancel_ = nullptr;
};

} // namespace weft::detail

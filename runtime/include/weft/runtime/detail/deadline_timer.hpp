// deadline_timer, the deadline half of with_timeout: a timer_node on the current worker's timer
// queue whose on_fire cancels a group's children with reason timed_out. Not public: a user passes
// a duration to with_timeout and never sees the timer. The fire/stop protocol is in
// runtime/src/structured.cpp.
#pragma once

#include <weft/runtime/detail/group.hpp>
#include <weft/runtime/detail/timer_node.hpp>

#include <coroutine>
#include <cstdint>

namespace weft::detail {

/// The deadline half of with_timeout: a timer that cancels a group's children when it fires.
class deadline_timer {
public:
    deadline_timer(group& g, std::int64_t deadline_ns) noexcept;
    deadline_timer(const deadline_timer&) = delete;

    /// Registers the timer on the current worker.
    void start() noexcept;
    bool fired() const noexcept { return fired_; }

    /// Unregisters the timer; must be co_awaited before the timer's memory goes away.
    struct stop_awaiter {
        deadline_timer* t;
        bool await_ready() const noexcept { return false; }
        bool await_suspend(std::coroutine_handle<> h) noexcept { return t->stop(h); }
        void await_resume() const noexcept {}
    };
    stop_awaiter stop_and_wait() noexcept { return {this}; }

private:
    bool stop(std::coroutine_handle<> h) noexcept; // true: suspend until the owner unlinks
    static void on_fire(timer_node* n) noexcept;

    timer_node node_;
    group& group_;
    bool fired_ = false;
};

} // namespace weft::detail

// The machinery under when_all, when_any, with_timeout and shield: a parent that starts N
// spawned children, is resumed once when the last of them has finished, and cancels them all when
// it is cancelled itself (structured concurrency: children never outlive the parent's await). A
// shielded group (shield.hpp) still waits for its children but does not pass the parent's
// cancellation on to them.
//
// Each child's join_ word points at the group (a join_listener), so the child's final suspend
// calls group::child_done instead of resuming a joiner; the last child to finish transfers
// straight to the parent. All children are queued with one batch of pushes and the parent
// transfers into the last one (TooManyCooks spawn_many.hpp).
#pragma once

#include <weft/runtime/detail/cancel_state.hpp>
#include <weft/runtime/detail/promise.hpp>

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <span>

namespace weft::detail {

class group : public join_listener, private cancel_hook {
public:
    enum class mode { all, any };
    /// propagate: a cancelled parent cancels the children (when it is cancelled already, they
    /// are cancelled before they start), and so does a runtime shutdown that has begun.
    /// shielded: neither; the children answer only to cancel_children() (a deadline_timer).
    enum class parent_link { propagate, shielded };

    /// `children` and `promises` must stay valid until the group's await returns.
    group(
        std::span<std::coroutine_handle<>> children,
        std::span<promise_base*> promises,
        mode m,
        parent_link link = parent_link::propagate) noexcept;

    /// Index of the first child to finish (when_any), or of the first that failed (when_all).
    std::ptrdiff_t first() const noexcept { return first_.load(std::memory_order_acquire); }

    /// Cancels every child still running with `why`.
    void cancel_children(cancel_reason why) noexcept;

    struct awaiter {
        group* g;
        bool await_ready() const noexcept { return g->children_.empty(); }
        template <class P>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<P> parent) noexcept {
            return g->start(parent, cancel_of(parent));
        }
        void await_resume() const noexcept { g->finish(); }
    };
    /// Starts the children and waits for all of them.
    awaiter run() noexcept { return awaiter{this}; }

private:
    std::coroutine_handle<>
    start(std::coroutine_handle<> parent, cancel_state* parent_cancel) noexcept;
    void finish() noexcept;
    static std::coroutine_handle<> on_child_done(join_listener* self, void* child) noexcept;
    static void on_parent_cancel(cancel_hook* self) noexcept;

    std::span<std::coroutine_handle<>> children_;
    std::span<promise_base*> promises_;
    mode mode_;
    parent_link link_;
    std::atomic<std::size_t> remaining_;
    static constexpr std::ptrdiff_t claiming = -2; // first_ while its claimer finds its index
    std::atomic<std::ptrdiff_t> first_{-1};
    std::coroutine_handle<> parent_{};
    cancel_state* parent_cancel_ = nullptr;
    bool armed_ = false;           // our hook is armed on parent_cancel_
    bool counted_blocked_ = false; // the parent counts as blocked (a join) while it waits
};

} // namespace weft::detail

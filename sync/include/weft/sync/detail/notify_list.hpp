// The waiting half of the primitives that release their waiters all at once when a condition
// becomes true (event, latch, wait_group, once, condition_variable's notify_all): a spin lock, a
// queue, and the generic cancellable await on it. See sync/src/waiter.cpp for the protocol.
#pragma once

#include <weft/runtime/result.hpp>

#include <weft/runtime/detail/nodiscard.hpp>
#include <weft/runtime/detail/scheduler_hooks.hpp>
#include <weft/runtime/detail/spin_lock.hpp>
#include <weft/sync/detail/waiter.hpp>

#include <coroutine>

namespace weft::sync::detail {

/// Waiters released together. The primitive's condition is read under `lock` by waiters, and
/// made true under `lock` (or before taking it) by the releaser, which then takes every waiter.
class notify_list {
public:
    notify_list() noexcept = default;
    notify_list(const notify_list&) = delete;
    notify_list& operator=(const notify_list&) = delete;

    /// Under `lock`: moves every waiter (marked done) into `wl`; wake them after unlocking.
    void take_all(wake_list& wl) noexcept {
        while (waiter* w = waiters.pop_front()) {
            w->state = wait_state::done;
            wl.push(w);
        }
    }
    /// Under `lock`: moves the first waiter (marked done) into `wl`; false if there is none.
    bool take_one(wake_list& wl) noexcept {
        waiter* w = waiters.pop_front();
        if (w == nullptr) {
            return false;
        }
        w->state = wait_state::done;
        wl.push(w);
        return true;
    }
    /// Takes every waiter and wakes them (locks and unlocks).
    void release_all() noexcept {
        wake_list wl;
        lock.lock();
        take_all(wl);
        lock.unlock();
        wl.wake_all();
    }

    weft::detail::spin_lock lock;
    waiter_list waiters; // guarded by lock
};

/// A task (or plain thread) waiting on a notify_list.
struct notify_waiter : task_waiter {
    explicit notify_waiter(notify_list* l) noexcept
        : task_waiter(&on_cancel)
        , list(l) {}
    static void on_cancel(weft::detail::cancel_hook* h) noexcept;
    notify_list* list;
};

/// The condition a notify wait waits for, evaluated under the list's lock.
using ready_fn = bool (*)(const void* ctx) noexcept;

/// Arms, then under the lock: done if `ready(ctx)`, else enqueue and count the task blocked as
/// `kind`. True when the task must suspend. `w` must be bound to the task.
bool notify_suspend(
    notify_waiter& w, ready_fn ready, const void* ctx, weft::detail::blocked_on kind) noexcept;

/// The same for a plain thread: returns once `ready(ctx)` held (blocking until a release).
void notify_block(notify_list& l, ready_fn ready, const void* ctx) noexcept;

/// The awaiter of a notify wait on primitive `Prim`, which provides
///   bool ready() const noexcept    the condition (lock-free read, also valid under the lock)
///   notify_list& waitlist() noexcept
/// Yields result<void>: success once the condition held, or the cancellation error.
template <class Prim>
class WEFT_NODISCARD("a wait does nothing unless co_awaited") notify_awaiter
    : private notify_waiter {
public:
    explicit notify_awaiter(Prim* p) noexcept
        : notify_waiter(&p->waitlist())
        , p_(p) {}
    notify_awaiter(const notify_awaiter&) = delete;
    notify_awaiter& operator=(const notify_awaiter&) = delete;

    bool await_ready() noexcept {
        if (p_->ready()) {
            state = wait_state::done;
            return !spend_budget();
        }
        return false;
    }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) noexcept {
        if (state == wait_state::done) { // ready at once, but the budget is spent: yield
            weft::detail::yield_to_back(h);
            return true;
        }
        bind(h);
        return notify_suspend(*this, &ready_thunk, p_, weft::detail::blocked_on::sync_other);
    }
    result<void> await_resume() noexcept {
        finish();
        return state == wait_state::done ? result<void>{} : result<void>{cancel_error()};
    }

private:
    static bool ready_thunk(const void* p) noexcept { return static_cast<const Prim*>(p)->ready(); }
    Prim* p_;
};

/// What a notify-style wait() returns: co_await it (once).
template <class Prim>
class WEFT_NODISCARD("a wait does nothing unless co_awaited") notify_awaitable {
public:
    explicit notify_awaitable(Prim* p) noexcept
        : p_(p) {}
    notify_awaiter<Prim> operator co_await() && noexcept { return notify_awaiter<Prim>(p_); }

private:
    Prim* p_;
};

/// Blocks a plain thread until `p->ready()` (see notify_block).
template <class Prim>
void notify_block_on(Prim* p) noexcept {
    if (!p->ready()) {
        notify_block(
            p->waitlist(),
            [](const void* c) noexcept { return static_cast<const Prim*>(c)->ready(); },
            p);
    }
}

} // namespace weft::sync::detail

// The waiting half of the primitives that release their waiters all at once when a condition
// becomes true (event, latch, wait_group, once, condition_variable's notify_all): a spin lock, a
// queue, the primitive's state word with its waiting bit, and the generic cancellable await on
// it. See sync/src/waiter.cpp for the protocol and sync/src/event.cpp for the waiting bit.
#pragma once

#include <weft/runtime/result.hpp>

#include <weft/runtime/detail/nodiscard.hpp>
#include <weft/runtime/detail/scheduler_hooks.hpp>
#include <weft/runtime/detail/spin_lock.hpp>
#include <weft/sync/detail/waiter.hpp>

#include <atomic>
#include <coroutine>
#include <cstdint>

namespace weft::sync::detail {

/// Waiters released together. The primitive keeps its state in `word` (its condition above bit
/// 0); bit 0, `waiting_bit`, is set exactly while the queue is not empty (changed only under
/// `lock`). A waiter sets it, by a CAS that still sees the condition false, in the critical
/// section that enqueues it; a releaser makes the condition true with one RMW on `word` and
/// takes the lock only if that RMW saw the bit: with nobody queued, the RMW is its last touch
/// (a waiter that sees the condition may free the primitive at once).
class notify_list {
public:
    static constexpr std::uint64_t waiting_bit = 1;

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
    /// Takes every waiter, clears the waiting bit and wakes them (locks and unlocks). Call it
    /// only when the RMW that made the condition true saw the waiting bit: the queued waiters,
    /// which cannot leave before this wakes them, are what keeps the primitive alive meanwhile.
    void release_all() noexcept {
        wake_list wl;
        lock.lock();
        take_all(wl);
        // acq_rel: ordered with the waiters' CAS that set the bit (all under the lock).
        word.fetch_and(~waiting_bit, std::memory_order_acq_rel);
        lock.unlock();
        wl.wake_all();
    }

    weft::detail::spin_lock lock;
    waiter_list waiters;                // guarded by lock
    std::atomic<std::uint64_t> word{0}; // the primitive's state << 1 | waiting_bit (see above)
};

/// A task (or plain thread) waiting on a notify_list.
struct notify_waiter : task_waiter {
    explicit notify_waiter(notify_list* l) noexcept
        : task_waiter(&on_cancel)
        , list(l) {}
    static void on_cancel(weft::detail::cancel_hook* h) noexcept;
    notify_list* list;
};

/// The condition a notify wait waits for, as a function of the list's word.
using ready_fn = bool (*)(std::uint64_t word) noexcept;

/// Under the list's lock: true if `ready(word)`; else sets the waiting bit (by a CAS that still
/// sees the condition false) and returns false: the caller then enqueues before unlocking.
bool notify_ready_or_mark(notify_list& l, ready_fn ready) noexcept;

/// Arms, then under the lock: done if `ready`, else enqueue (waiting bit set) and count the task
/// blocked as `kind`. True when the task must suspend. `w` must be bound to the task.
bool notify_suspend(notify_waiter& w, ready_fn ready, weft::detail::blocked_on kind) noexcept;

/// The same for a plain thread: returns once `ready` held (blocking until a release).
void notify_block(notify_list& l, ready_fn ready) noexcept;

/// The awaiter of a notify wait on primitive `Prim`, which provides
///   static bool ready_in(std::uint64_t word) noexcept   the condition
///   notify_list& waitlist() noexcept                    whose word it reads
/// Yields result<void>: success once the condition held, or the cancellation error.
template <class Prim>
class WEFT_NODISCARD("a wait does nothing unless co_awaited") notify_awaiter
    : private notify_waiter {
public:
    explicit notify_awaiter(Prim* p) noexcept
        : notify_waiter(&p->waitlist()) {}
    notify_awaiter(const notify_awaiter&) = delete;
    notify_awaiter& operator=(const notify_awaiter&) = delete;

    bool await_ready() noexcept {
        // acquire: pairs with the releaser's RMW. Seeing the condition, the wait is over and
        // the primitive is not touched again (its owner may free it at once).
        if (Prim::ready_in(list->word.load(std::memory_order_acquire))) {
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
        return notify_suspend(*this, &Prim::ready_in, weft::detail::blocked_on::sync_other);
    }
    [[nodiscard]] result<void> await_resume() noexcept {
        finish();
        return state == wait_state::done ? result<void>{} : result<void>{cancel_error()};
    }
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

/// Blocks a plain thread until the condition of `p` holds (see notify_block).
template <class Prim>
void notify_block_on(Prim* p) noexcept {
    notify_list& l = p->waitlist();
    if (!Prim::ready_in(l.word.load(std::memory_order_acquire))) {
        notify_block(l, &Prim::ready_in);
    }
}

} // namespace weft::sync::detail

// weft::for_each's bookkeeping (for_each.hpp): the children of one call, in flight at most
// `limit` at a time.
//
// Vocabulary
//   driver    the coroutine of the for_each call: walks the range, starts children, and waits
//             (wait_slot, drain) when it may start none.
//   slot      one child's place: the join_listener its join word points at, its frame, and its
//             promise while the cancel-all may reach it. At most `limit` slots are ever made
//             (one allocation each, reused), so a child costs its frame and nothing more.
//
// Protocol (everything under mu_, a spin lock; never held across user code or a frame's
// destruction)
//   1. start(): take a free slot (or make one), preset the child's join word to it, count it in
//      flight, spawn it. A call stopped meanwhile destroys the unstarted child instead.
//   2. A finishing child (on_child_done, from its final suspend) first leaves the cancel-all's
//      reach and records itself as the first failure if it is one (cancelling the others), then
//      destroys its own frame with mu_ released, then frees its slot, counts itself out and hands
//      the driver back if the driver waits for what that made true (a free slot, or none left).
//      The count drops only after the frame is gone, so no more than `limit` child frames ever
//      exist, and nothing of a child outlives the drain.
//   3. The driver waits by publishing its handle under mu_ after re-checking; the finisher that
//      satisfies the wait takes the handle and transfers to it (symmetric transfer).
//   4. The driver's own cancellation: while it runs, it polls its cancel state before each start
//      (no hook is armed then); while it waits, its hook (on_parent_cancel) is armed, armed
//      before mu_ is taken so that the lock order is always cancel state -> mu_ -> children's
//      cancel states. Shutdown has no hook: the driver checks runtime_stopping() before it
//      waits and again when it resumes.

#include <weft/runtime/for_each.hpp>
#include <weft/runtime/yield.hpp>

#include <weft/runtime/detail/assert.hpp>
#include <weft/runtime/detail/scheduler_hooks.hpp>

#include <utility>

namespace weft::detail {

struct for_each_core::slot : join_listener {
    explicit slot(for_each_core* c) noexcept
        : join_listener{&for_each_core::on_child_done}
        , core(c) {}
    for_each_core* core;
    slot* next_all = nullptr;        // guarded by core->mu_
    slot* next_free = nullptr;       // guarded by core->mu_
    promise_base* child = nullptr;   // guarded by core->mu_: set while the cancel-all may reach it
    std::coroutine_handle<> frame{}; // written by start() before the child runs
};

for_each_core::for_each_core(std::size_t limit, error_of_fn error_of) noexcept
    : cancel_hook{&on_parent_cancel}
    , limit_(limit)
    , error_of_(error_of) {
}

for_each_core::~for_each_core() {
    WEFT_ASSERT(in_flight_ == 0, "weft::for_each: destroyed with children in flight");
    for (slot* s = slots_; s != nullptr;) {
        delete std::exchange(s, s->next_all);
    }
}

bool for_each_core::ready_locked() const noexcept {
    return wait_all_ ? in_flight_ == 0 : (stopped_ || in_flight_ < limit_);
}

void for_each_core::stop_locked(cancel_reason why, bool driver_cancelled) noexcept {
    if (driver_cancelled && cancelled_ == cancel_reason::none) {
        cancelled_ = why;
    }
    if (stopped_) {
        return; // the children were cancelled already, and none has started since
    }
    stopped_ = true;
    for (slot* s = slots_; s != nullptr; s = s->next_all) {
        if (s->child != nullptr) {
            s->child->own_cancel_.request(why);
        }
    }
}

void for_each_core::stop(cancel_reason why, bool driver_cancelled) noexcept {
    spin_guard g(mu_);
    stop_locked(why, driver_cancelled);
}

bool for_each_core::suspend(std::coroutine_handle<> h, cancel_state* c, bool all) noexcept {
    if (c != nullptr && c->requested()) {
        stop(c->reason(), true);
    } else if (runtime_stopping()) {
        stop(cancel_reason::cancelled, true);
    }
    bool must_wait = false;
    bool stopped = false;
    {
        spin_guard g(mu_);
        wait_all_ = all;
        must_wait = !ready_locked();
        stopped = stopped_;
    }
    if (!must_wait) {
        if (!all && !stopped && budget_exhausted()) {
            // A slot is free, but the driver has used up its budget: let other tasks run first.
            yield_to_back(h);
            return true;
        }
        return false;
    }
    // Arm before publishing the handle: once published, a finishing child may resume us at once.
    armed_ = c;
    if (c != nullptr && !c->arm(this)) {
        armed_ = nullptr;
        stop(c->reason(), true);
    }
    blocked_enter(blocked_on::join);
    {
        spin_guard g(mu_);
        if (!ready_locked()) {
            waited_ = true;
            waiter_ = h;
            return true;
        }
    }
    blocked_leave(blocked_on::join);
    if (armed_ != nullptr) {
        armed_->disarm();
        armed_ = nullptr;
    }
    return false;
}

bool for_each_core::resume() noexcept {
    if (waited_) {
        waited_ = false;
        blocked_leave(blocked_on::join);
    }
    if (armed_ != nullptr) {
        armed_->disarm();
        armed_ = nullptr;
    }
    // Shutdown arms no hook: a driver woken by a child that shutdown cut short must look itself.
    if (runtime_stopping()) {
        stop(cancel_reason::cancelled, true);
    }
    spin_guard g(mu_);
    return !stopped_;
}

void for_each_core::start(std::coroutine_handle<> h, promise_base& p) {
    slot* s = nullptr;
    {
        spin_guard g(mu_);
        if (free_ != nullptr) {
            s = std::exchange(free_, free_->next_free);
        }
    }
    if (s == nullptr) {
        try {
            s = new slot(this);
        } catch (...) {
            h.destroy();
            throw;
        }
        spin_guard g(mu_);
        s->next_all = std::exchange(slots_, s);
    }
    s->frame = h;
    p.join_.preset_listener(s);
    bool stopped = false;
    {
        spin_guard g(mu_);
        stopped = stopped_;
        if (stopped) {
            s->next_free = std::exchange(free_, s);
        } else {
            s->child = &p;
            ++in_flight_;
        }
    }
    if (stopped) {
        h.destroy(); // a failure came in since wait_slot: this child never starts
        return;
    }
    try {
        schedule_spawn(h);
    } catch (...) {
        // schedule_spawn destroyed the frame (not on a worker)
        spin_guard g(mu_);
        s->child = nullptr;
        s->next_free = std::exchange(free_, s);
        --in_flight_;
        throw;
    }
}

void for_each_core::fail(std::exception_ptr e) noexcept {
    spin_guard g(mu_);
    if (!first_exception_ && !first_error_) {
        first_exception_ = std::move(e);
    }
    stop_locked(cancel_reason::cancelled, false);
}

result<void> for_each_core::outcome(bool skipped) {
    std::exception_ptr e;
    std::error_code ec;
    cancel_reason why = cancel_reason::none;
    {
        spin_guard g(mu_);
        e = std::exchange(first_exception_, nullptr);
        ec = first_error_;
        why = cancelled_;
    }
    if (e) {
        std::rethrow_exception(e);
    }
    if (ec) {
        return ec;
    }
    if (skipped && why != cancel_reason::none) {
        return why == cancel_reason::timed_out ? std::errc::timed_out
                                               : std::errc::operation_canceled;
    }
    return {};
}

std::coroutine_handle<> for_each_core::on_child_done(join_listener* self, void* child) noexcept {
    auto* s = static_cast<slot*>(self);
    for_each_core* core = s->core;
    auto* p = static_cast<promise_base*>(child);
    std::error_code ec;
    if (!p->exception_ && core->error_of_ != nullptr) {
        ec = core->error_of_(*p);
    }
    const std::coroutine_handle<> frame = s->frame;
    // A child that ended with the cancellation the call gave it (after a failure or a cancelled
    // driver: a child cancelled before it ran does not run) has not failed.
    const bool cancelled_child = p->exception_ && is_cancellation(p->exception_);
    {
        spin_guard g(core->mu_);
        s->child = nullptr; // out of the cancel-all's reach: its frame goes next
        if ((p->exception_ || ec) && !core->first_exception_ && !core->first_error_ &&
            !(cancelled_child && core->stopped_)) {
            if (p->exception_) {
                core->first_exception_ = p->exception_;
            } else {
                core->first_error_ = ec;
            }
            core->stop_locked(cancel_reason::cancelled, false);
        }
    }
    // The child is suspended at its final point: freeing it here is allowed. Before the count
    // drops, so that the drain returns only once every child's frame (its parameters) is gone.
    destroy_frame(frame, *p);
    std::coroutine_handle<> resume;
    {
        spin_guard g(core->mu_);
        s->next_free = std::exchange(core->free_, s);
        --core->in_flight_;
        if (core->waiter_ && core->ready_locked()) {
            resume = std::exchange(core->waiter_, {});
        }
    }
    return resume ? resume : std::noop_coroutine();
}

void for_each_core::on_parent_cancel(cancel_hook* self) noexcept {
    auto* core = static_cast<for_each_core*>(self);
    core->stop(core->armed_->reason(), true);
}

} // namespace weft::detail

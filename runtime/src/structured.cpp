// Structured concurrency: the group behind when_all / when_any / with_timeout, and the deadline
// timer of with_timeout.
//
// Vocabulary
//   parent    the coroutine awaiting group::run(); suspended until every child has finished.
//   child     a spawned task whose join_ word points at the group (join_word::preset_listener).
//
// Protocol
//   1. start(): arm the parent's cancel hook (a parent cancelled later cancels every child; one
//      cancelled already cancels them at once; a shielded group arms nothing), push children
//      0..n-2 onto the worker's deque in one batch (one publish, at most one wake-up), and
//      transfer into child n-1.
//   2. Each child's final suspend calls on_child_done: when_any records the first finisher and
//      cancels the others; when_all records the first child that threw and cancels the others.
//      Only that child looks up its index (a scan of the group), so a group costs O(N) in all.
//      remaining_ counts down (acq_rel: every child's writes happen-before the parent's resume);
//      the last child returns the parent's handle, so the parent resumes by symmetric transfer.
//   The parent counts as blocked on a join from start() to finish() (the deadlock detector).
//   3. finish() (await_resume) disarms the parent's hook. Children's frames are freed by the
//      caller (when_all.hpp) after it has taken their results.
//
// The deadline timer (with_timeout): a timer_node whose on_fire cancels the group's children with
// reason timed_out (with reason cancelled when shutdown fires it before its deadline). on_fire runs
// on the timer's owner worker; it marks fire_complete as its last touch of the node, and stop()
// waits for that mark before letting the node's memory go.

#include <weft/runtime/detail/deadline_timer.hpp>
#include <weft/runtime/detail/group.hpp>

#include "scheduler.hpp"

#include <cstddef>
#include <exception>
#include <utility>

namespace weft::detail {

group::group(
    std::span<std::coroutine_handle<>> children,
    std::span<promise_base*> promises,
    mode m,
    parent_link link) noexcept
    : join_listener{&on_child_done}
    , cancel_hook{&on_parent_cancel}
    , children_(children)
    , promises_(promises)
    , mode_(m)
    , link_(link)
    , remaining_(children.size()) {
    for (promise_base* p : promises_) {
        p->join_.preset_listener(this);
    }
}

void group::cancel_children(cancel_reason why) noexcept {
    for (promise_base* p : promises_) {
        p->own_cancel_.request(why);
    }
}

std::coroutine_handle<>
group::start(std::coroutine_handle<> parent, cancel_state* parent_cancel) noexcept {
    parent_ = parent;
    parent_cancel_ = parent_cancel;
    if (link_ == parent_link::shielded) {
        // A shield: the children start even in a cancelled parent, and during a shutdown (their
        // awaits then fail on their own; the shield's deadline_timer, fired early by the
        // shutdown, cancels them), so that cleanup code always runs.
    } else if (parent_cancel_ != nullptr && !parent_cancel_->arm(this)) {
        cancel_children(parent_cancel_->reason());
    } else {
        armed_ = parent_cancel_ != nullptr;
        if (runtime_stopping()) {
            cancel_children(cancel_reason::cancelled);
        }
    }
    worker* w = tls_worker;
    if (w != nullptr) {
        // The parent waits for its children like a join: counted, so that children all blocked
        // on primitives and a parent waiting for them are reported as a deadlock.
        counted_blocked_ = true;
        blocked_enter(blocked_on::join);
    }
    const std::size_t n = children_.size();
    if (w != nullptr) {
        // One deque publish for children 0..n-2; the last is transferred to directly.
        w->push_spawned_many(n - 1, [this](std::size_t i) { return children_[i]; });
        worker_counters::bump(w->counters().spawned); // the last child
    } else {
        for (std::size_t i = 0; i + 1 < n; ++i) {
            schedule_spawn(children_[i]);
        }
    }
    return children_[n - 1];
}

void group::finish() noexcept {
    if (parent_) {
        // Resumed by the last child: from here on the parent's chain runs (null: not a task).
        tls_chain = parent_cancel_;
    }
    if (counted_blocked_) {
        counted_blocked_ = false;
        blocked_leave(blocked_on::join);
    }
    if (armed_) {
        armed_ = false;
        parent_cancel_->disarm();
    }
}

std::coroutine_handle<> group::on_child_done(join_listener* self, void* child) noexcept {
    auto* g = static_cast<group*>(self);
    auto* p = static_cast<promise_base*>(child);
    const bool record = g->mode_ == mode::any || p->exception_ != nullptr;
    if (record) {
        // Only the one child that claims first_ looks for its own index (one scan per group):
        // a scan by every child made when_all of N children O(N^2).
        std::ptrdiff_t expected = -1;
        if (g->first_.compare_exchange_strong(expected, claiming, std::memory_order_acq_rel)) {
            std::size_t index = 0;
            while (g->promises_[index] != p) {
                ++index;
            }
            for (std::size_t i = 0; i < g->promises_.size(); ++i) {
                if (i != index) {
                    g->promises_[i]->own_cancel_.request(cancel_reason::cancelled);
                }
            }
            // Read by the parent after the countdown below (acq_rel) has handed it over.
            g->first_.store(static_cast<std::ptrdiff_t>(index), std::memory_order_relaxed);
        }
    }
    // acq_rel: this child's writes are visible to the parent; the last child sees them all.
    if (g->remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        return g->parent_;
    }
    return std::noop_coroutine();
}

void group::on_parent_cancel(cancel_hook* self) noexcept {
    auto* g = static_cast<group*>(self);
    g->cancel_children(g->parent_cancel_->reason());
}

// ---------------------------------------------------------------------------------------------

deadline_timer::deadline_timer(group& g, std::int64_t deadline_ns) noexcept
    : group_(g) {
    node_.deadline_ns = deadline_ns;
    node_.on_fire = &on_fire;
}

void deadline_timer::start() noexcept {
    timer_register(&node_);
}

void deadline_timer::on_fire(timer_node* n) noexcept {
    // Reach the enclosing deadline_timer from its first member.
    auto* self = reinterpret_cast<deadline_timer*>(n);
    if (runtime_stopping() && now_ns() < n->deadline_ns) {
        // Shutdown fires every timer early: that is a cancellation, not a timeout.
        self->group_.cancel_children(cancel_reason::cancelled);
    } else {
        self->fired_ = true;
        self->group_.cancel_children(cancel_reason::timed_out);
    }
    n->state.store(timer_node::fire_complete, std::memory_order_release); // last touch
}

bool deadline_timer::stop(std::coroutine_handle<> h) noexcept {
    node_.waiter = h;
    switch (timer_cancel(&node_)) {
    case cancel_result::cancel_done:
        return false;
    case cancel_result::cancel_pending:
        return true; // the owner unlinks the node, then resumes us
    case cancel_result::cancel_lost:
        // Fired: wait for on_fire to finish with the node (it is short and never blocks).
        // acquire: pairs with the release store of fire_complete; fired_ is visible after.
        wait_fire_complete(node_);
        return false;
    }
    return false;
}

} // namespace weft::detail

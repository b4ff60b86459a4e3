// The scheduler entry points that headers call (scheduler_hooks.hpp, reactor.hpp, yield.hpp):
// each looks up the calling thread's worker and forwards to it. The worker operations they reach
// are inline in scheduler.hpp, so a spawn or a wake-up costs one call. finish_spawned, the
// scheduler's side of the join protocol (join.cpp's essay), lives here for the same reason.

#include <weft/runtime/yield.hpp>

#include <weft/runtime/detail/assert.hpp>
#include <weft/runtime/detail/reactor.hpp>

#include "scheduler.hpp"

#include <atomic>
#include <stdexcept>

namespace weft::detail {

// Defined here, with the hooks that read it on every spawn, wake-up and finish: in its own
// translation unit a thread-local read is one instruction (local-exec), elsewhere two.
constinit thread_local worker* tls_worker = nullptr;

namespace {
// Written by set_reactor_factory (the io library, before a runtime starts); read by each
// scheduler's constructor (acquire: pairs with that release store).
std::atomic<reactor_factory> installed_factory{nullptr};
} // namespace

reactor_factory installed_reactor_factory() noexcept {
    return installed_factory.load(std::memory_order_acquire);
}

void set_reactor_factory(reactor_factory f) noexcept {
    installed_factory.store(f, std::memory_order_release);
}

reactor* current_reactor() noexcept {
    worker* w = tls_worker;
    return w != nullptr ? w->io() : nullptr;
}

void blocked_enter(blocked_on what) noexcept {
    if (worker* w = tls_worker) {
        w->count_blocked(what, 1);
    }
}

void blocked_leave(blocked_on what) noexcept {
    if (worker* w = tls_worker) {
        w->count_blocked(what, -1);
    }
}

worker* current_worker() noexcept {
    return tls_worker;
}

void schedule_spawn(std::coroutine_handle<> h) {
    worker* w = tls_worker;
    if (w == nullptr) {
        h.destroy();
        throw std::logic_error("weft::spawn called outside a weft runtime; use "
                               "weft::runtime::spawn from plain threads");
    }
    w->push_local(h, true);
}

void schedule_spawn_many(
    std::size_t n, std::coroutine_handle<> (*at)(void* ctx, std::size_t i), void* ctx) {
    worker* w = tls_worker;
    WEFT_ASSERT(w != nullptr, "weft::spawn_many called outside a weft runtime");
    w->push_spawned_many(n, [at, ctx](std::size_t i) { return at(ctx, i); });
}

void schedule_wakeup(std::coroutine_handle<> h) noexcept {
    if (worker* w = tls_worker) {
        w->push_wakeup(h);
        return;
    }
    WEFT_ASSERT(false, "weft: a task was woken from a thread outside its runtime without a home");
}

void schedule_wakeup_on(scheduler* home, std::coroutine_handle<> h) noexcept {
    worker* w = tls_worker;
    if (w != nullptr && (home == nullptr || &w->sched() == home)) {
        w->push_wakeup(h);
        return;
    }
    WEFT_ASSERT(home != nullptr, "weft: a task was woken from outside its runtime without a home");
    home->inject_wakeup(h);
}

scheduler* current_scheduler() noexcept {
    worker* w = tls_worker;
    return w != nullptr ? &w->sched() : nullptr;
}

bool budget_exhausted() noexcept {
    worker* w = tls_worker;
    if (w == nullptr) {
        return false;
    }
    if (--w->budget_ > 0) {
        return false;
    }
    worker_counters::bump(w->counters().budget_yields);
    w->budget_ = task_budget;
    return true;
}

// noinline: finish_spawned calls it only for a detached task that threw; inlined, it would cost
// the finish of every task a register save and restore.
[[gnu::noinline]] void
report_detached_exception(const char* name, std::exception_ptr e, scheduler* s) noexcept {
    if (is_cancellation(e)) {
        return; // a detached task that was cancelled did what it was asked: not an error to report
    }
    if (s == nullptr && tls_worker != nullptr) {
        s = &tls_worker->sched();
    }
    if (s != nullptr) {
        s->report_exception(name, e);
        return;
    }
    print_detached_exception(name, e);
}

void count_task_done() noexcept {
    if (worker* w = tls_worker) {
        worker_counters::bump(w->counters().done);
    }
}

bool runtime_stopping() noexcept {
    worker* w = tls_worker;
    return w != nullptr && w->sched().stopping();
}

void yield_to_back(std::coroutine_handle<> h) noexcept {
    if (worker* w = tls_worker) {
        w->push_yielded(h);
        return;
    }
    WEFT_ASSERT(false, "weft::yield_now awaited outside a weft worker");
}

std::coroutine_handle<> finish_spawned(std::coroutine_handle<> self, promise_base& p) noexcept {
    count_task_done();
    if (p.exception_ && tls_worker != nullptr) {
        // Published by the exchange below: a handle detached later, on any thread, reports here.
        p.finished_on_ = &tls_worker->sched();
    }
    // Publishes the result to the joiner and sees the joiner's registration (join_word.hpp).
    join_word::previous prev = p.join_.finish();
    if (prev.running()) {
        return std::noop_coroutine(); // the handle will take the result and free the frame
    }
    if (prev.detached()) {
        if (p.exception_) {
            report_detached_exception(p.name_, p.exception_);
        }
        destroy_frame(self, p);
        return std::noop_coroutine();
    }
    if (prev.has_listener()) {
        join_listener* l = prev.listener();
        return l->child_done(l, &p);
    }
    return prev.waiter();
}

} // namespace weft::detail

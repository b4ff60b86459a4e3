// The few scheduler entry points that header-only parts of weft (tasks, join handles, sync, io)
// call. Defined in runtime/src/scheduler.cpp. Not API: use spawn/go/yield_now instead.
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>

namespace weft::detail {

class worker;
class scheduler;
class cancel_state;

/// The worker running on this thread, or nullptr on a thread that is not a weft worker.
worker* current_worker() noexcept;

/// Makes a freshly spawned task runnable: on a worker, onto its local queue (and maybe wakes an
/// idle worker to steal it); elsewhere throws std::logic_error (use runtime::spawn).
void schedule_spawn(std::coroutine_handle<> h);

/// schedule_spawn of `at(ctx, 0)`, ..., `at(ctx, n - 1)` as one batch (one publish onto the
/// worker's deque, at most one wake-up); `at(ctx, n - 1)` runs first. On a worker only (the
/// caller checks current_worker()).
void schedule_spawn_many(
    std::size_t n, std::coroutine_handle<> (*at)(void* ctx, std::size_t i), void* ctx);

/// The runtime the calling worker belongs to (nullptr on other threads). Awaiters that may be
/// woken from outside the runtime record it when they suspend.
scheduler* current_scheduler() noexcept;

/// Makes a suspended task runnable again (a wake-up), from a worker of its runtime.
void schedule_wakeup(std::coroutine_handle<> h) noexcept;

/// Same, from any thread: on a worker of `home` the task goes onto that worker's queue, elsewhere
/// onto `home`'s global queue (and a sleeping worker is woken).
void schedule_wakeup_on(scheduler* home, std::coroutine_handle<> h) noexcept;

/// True when the running task has used up its cooperative budget; the caller should then suspend
/// and reschedule (an await that could complete at once yields instead). Counts one unit.
bool budget_exhausted() noexcept;

/// Reports the exception of a detached task to the handler of runtime `s` (nullptr: the calling
/// worker's runtime; stderr when there is none).
void report_detached_exception(
    const char* name, std::exception_ptr e, scheduler* s = nullptr) noexcept;

/// Counts a finished spawned task (for metrics and shutdown accounting).
void count_task_done() noexcept;

/// What a blocked task waits for; the deadlock report counts tasks per kind.
enum class blocked_on : unsigned { join, channel, select, mutex, sync_other, kinds_ };

/// Counts a task suspended on a weft primitive that only another task can complete (a join, a
/// channel, a mutex...). Call blocked_enter() when it suspends and blocked_leave() (same kind)
/// after it resumes, both on worker threads. The deadlock detector declares a deadlock when every
/// live task is so counted and no timer, I/O, blocking-pool job or global-queue work remains.
void blocked_enter(blocked_on what) noexcept;
void blocked_leave(blocked_on what) noexcept;

/// True while the runtime this thread's worker belongs to is shutting down: every cancellable
/// await then completes at once with operation_canceled.
bool runtime_stopping() noexcept;

} // namespace weft::detail

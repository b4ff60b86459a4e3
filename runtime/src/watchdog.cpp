// The watchdog: the deadlock detector and sysmon, the long-poll monitor.
//
// Vocabulary
//   blocked    a task suspended on a weft primitive that only another task can complete (a join,
//              a channel, a mutex...), counted per worker and per kind by blocked_enter/leave.
//   quiescent  every worker asleep with empty queues, no timers, no I/O pending, no global work,
//              an idle blocking pool, and no worker woke during the scan (scheduler::quiescent).
//   long poll  one resume of a task that has held its worker for at least one sysmon interval.
//
// Invariants
//   1. A deadlock is declared only from counts read while nothing moved: quiescent() before and
//      after reading them.
//   2. A deadlock is reported once per runtime (deadlock_reported_), and only when a block_on
//      waiter exists to be released.
//   3. The waiters are read and released under block_mu_, and a waiter whose task has finished
//      cancels the report: main's task finishing while others stay blocked (its worker parks as
//      the last one before block_on has taken the waiter off the list) is a return, never a
//      deadlock, and the waiter is freed only after it is off the list.
//
// Rejected approaches
//   - Pre-empting a long poll: stackless tasks cannot be pre-empted; the watchdog can only count,
//     warn and let another worker take the queued work.
//
// Current approach: deadlock detection, in steps
//   1. The last worker to park, with no timer anywhere, runs check_deadlock(); a block_on that
//      registers after the workers went to sleep runs the check itself.
//   2. quiescent(), then the per-kind counts of blocked tasks against the live task count.
//   3. quiescent() again (a worker woken in between would have changed the counts).
//   4. If every live task is blocked and no block_on's task has finished, the block_on waiters are
//      released with errc::deadlock (all under block_mu_).
//
// Current approach: long polls (sysmon)
//   A task that computes for 100 ms without an await holds its worker for 100 ms. A monitor thread
//   (Go's sysmon, much reduced) looks at every worker every 10 ms: a worker that is inside a task
//   and has not started another since the last look is stuck in one poll. It counts a long poll
//   (metrics), prints a warning when the environment variable WEFT_WARN_LONG_POLLS is a positive
//   number (its value is only a switch: the threshold is the fixed 10 ms interval), and, if the
//   stuck worker has queued tasks and nobody is searching, wakes a sleeper to steal them (the lazy
//   wake on push and pop never fires for a worker that is not scheduling; this is the backstop,
//   tokio #4941).
//
// References
//   Go runtime/proc.go (sysmon, checkdead); Tokio #4941 (a task that never yields stalls its
//   LIFO slot).

#include <weft/runtime/detail/promise.hpp>

#include "scheduler.hpp"

#include <chrono>
#include <cstdio>
#include <mutex>

namespace weft::detail {

void scheduler::sysmon_main() {
    constexpr auto interval = std::chrono::milliseconds(10);
    std::unique_lock lk(sysmon_mu_);
    while (!sysmon_cv_.wait_for(lk, interval, [&] { return sysmon_stop_; })) {
        for (auto& w : workers_) {
            std::uint64_t run = w->counters_.tasks_run.load(std::memory_order_relaxed);
            bool busy = w->running_task_.load(std::memory_order_relaxed);
            if (!busy || run != w->sysmon_last_run_) {
                w->sysmon_last_run_ = run;
                w->sysmon_stuck_ = 0;
                continue;
            }
            ++w->sysmon_stuck_;
            if (w->sysmon_stuck_ == 1) {
                // Same task for at least one full interval.
                w->counters_.long_polls.fetch_add(1, std::memory_order_relaxed);
                if (warn_long_poll_ms_ > 0) {
                    std::fprintf(
                        stderr,
                        "weft: worker %u has been running one task for over %lld ms "
                        "without an await (a blocking call or a long loop?)\n",
                        w->index_,
                        static_cast<long long>(interval.count()));
                }
            }
            if (!w->deque_.empty()) {
                notify_one(); // let a sleeper steal what the stuck worker cannot run
            }
        }
    }
}

void scheduler::check_deadlock() noexcept {
    if (!opts_.detect_deadlock || stopping()) {
        return;
    }
    if (!quiescent()) {
        return;
    }
    std::int64_t blocked[static_cast<unsigned>(blocked_on::kinds_)] = {};
    std::int64_t total_blocked = 0;
    for (const auto& w : workers_) {
        for (unsigned k = 0; k < static_cast<unsigned>(blocked_on::kinds_); ++k) {
            std::int64_t v = w->blocked_[k].load(std::memory_order_relaxed);
            blocked[k] += v;
            total_blocked += v;
        }
    }
    std::uint64_t live = live_tasks();
    if (live == 0 || total_blocked < static_cast<std::int64_t>(live)) {
        return;
    }
    // Confirm: the counts above were read while nobody moved (a worker woken by a cancellation
    // between two of our reads would otherwise be missed).
    if (!quiescent()) {
        return;
    }
    // Under block_mu_ to the end: a waiter on the list is alive (block_until_done removes it
    // under the lock before it frees it or its task), so its task can be read and it can be
    // released without racing its deletion.
    std::lock_guard lk(block_mu_);
    if (block_waiters_.empty()) {
        return;
    }
    for (const block_waiter* w : block_waiters_) {
        if (w->task->join_.is_done()) {
            // A block_on whose task has finished (main returned) is about to return: the tasks
            // left blocked are abandoned by the shutdown that follows, not deadlocked.
            return;
        }
    }
    if (deadlock_reported_.exchange(true)) {
        return;
    }
    std::fprintf(
        stderr,
        "weft: all tasks are asleep - deadlock!\n"
        "  %llu task(s) blocked: %lld joining, %lld on channels, %lld in select, "
        "%lld on mutexes, %lld on other sync primitives\n",
        static_cast<unsigned long long>(live),
        static_cast<long long>(blocked[0]),
        static_cast<long long>(blocked[1]),
        static_cast<long long>(blocked[2]),
        static_cast<long long>(blocked[3]),
        static_cast<long long>(blocked[4]));
    for (block_waiter* w : block_waiters_) {
        w->deadlocked.store(true, std::memory_order_release);
        w->sem.release();
    }
}

} // namespace weft::detail

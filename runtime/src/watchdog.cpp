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
//   1. A deadlock is declared only from counts read while nothing moved: quiescent() before
//      them, and quiescent() with the same sleep epoch after both them and the thread list.
//   2. A deadlock is reported once per runtime (deadlock_reported_), and only when a block_on
//      waiter exists to be released.
//   3. The waiters are read and released under block_mu_, and a waiter whose task has finished
//      cancels the report: main's task finishing while others stay blocked (its worker parks as
//      the last one before block_on has taken the waiter off the list) is a return, never a
//      deadlock, and the waiter is freed only after it is off the list.
//   4. A deadlock is never declared while a thread outside the runtime exists (see Plain threads).
//
// Rejected approaches
//   - Pre-empting a long poll: stackless tasks cannot be pre-empted; the watchdog can only count,
//     warn and let another worker take the queued work.
//
// Current approach: deadlock detection, in steps
//   1. The last worker to park, with no timer anywhere, runs check_deadlock(); a block_on that
//      registers after the workers went to sleep runs the check itself.
//   2. The sleep epoch, quiescent(), then the per-kind counts of blocked tasks against the live
//      task count.
//   3. Under block_mu_: no block_on's task has finished, and no thread outside the runtime
//      exists (read from /proc, see Plain threads).
//   4. quiescent() again and the same epoch: nothing woke since step 2. Only this last, after the
//      thread list was read: a plain thread that wakes a task and exits between a confirmation
//      and the read would otherwise leave a stale "all blocked" and no thread to blame.
//   5. The block_on waiters are released with errc::deadlock (still under block_mu_).
//
// Plain threads
//   A task may wait for a plain thread (blocking_send on a channel, event::set, a mutex the thread
//   holds, a send from another runtime's task), and the counts cannot tell such a wait from one
//   only a task can end: the thread may not have touched the primitive yet. So a deadlock is
//   declared only when no thread but the runtime's own exists in the process: its workers, sysmon,
//   the blocking pool's threads and the threads waiting in block_on. The process's threads are
//   read from /proc/self/task (unreadable: no deadlock is declared), less the ones that run no
//   user code: io_uring's kernel workers ("iou-*") and, in a ThreadSanitizer build, its
//   background threads (told apart by their signal mask, since their number varies: one per
//   process, two in some forked children).
//   A check put off this way is repeated by sysmon every 100 ms, so a true deadlock is still
//   reported once the plain threads have ended; while one lives, the program waits, as a correct
//   one must be allowed to. Rejected: marking primitives that plain threads touched, which misses
//   the thread that touches one only later, and recording each primitive's creator, which every
//   primitive would pay for.
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
#include <csignal>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

namespace weft::detail {

void scheduler::sysmon_main() {
    constexpr auto interval = std::chrono::milliseconds(10);
    std::unique_lock lk(sysmon_mu_);
    unsigned ticks = 0;
    while (!sysmon_cv_.wait_for(lk, interval, [&] { return sysmon_stop_; })) {
        if (++ticks % 10 == 0 && deadlock_deferred_.exchange(false, std::memory_order_relaxed)) {
            // A check found every task blocked while a plain thread existed; nothing may ever
            // wake a worker again to repeat it, so look again every 100 ms (that thread may
            // have ended without acting).
            lk.unlock();
            check_deadlock();
            lk.lock();
        }
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

namespace {
#if defined(__SANITIZE_THREAD__)
constexpr bool under_tsan = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr bool under_tsan = true;
#else
constexpr bool under_tsan = false;
#endif
#else
constexpr bool under_tsan = false;
#endif

/// Reads /proc/self/task/<tid>/<file> into buf (NUL-terminated); false if it cannot.
bool read_task_file(const char* tid, const char* file, char* buf, std::size_t size) noexcept {
    char path[64 + sizeof(dirent::d_name)];
    std::snprintf(path, sizeof path, "/proc/self/task/%s/%s", tid, file);
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    std::size_t n = 0;
    while (n + 1 < size) {
        const ssize_t r = ::read(fd, buf + n, size - 1 - n);
        if (r <= 0) {
            break;
        }
        n += static_cast<std::size_t>(r);
    }
    ::close(fd);
    buf[n] = '\0';
    return n > 0;
}

/// True if thread `tid` of this process can run no user code: one of io_uring's kernel workers
/// ("iou-wrk-N", "iou-sqp-N"), or, in a ThreadSanitizer build, one of its background threads
/// (one per process, restarted in a forked child and sometimes twice there; they block every
/// signal, the synchronous faults too, which a thread that may feed a runtime does not: weft's own
/// threads block the asynchronous signals but never SIGSEGV or SIGBUS (thread_signals.hpp), so
/// SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGALRM, SIGSEGV and SIGBUS all blocked is the mark).
bool runs_no_user_code(const char* tid) noexcept {
    char buf[2048];
    if (read_task_file(tid, "comm", buf, sizeof buf) && std::strncmp(buf, "iou-", 4) == 0) {
        return true;
    }
    if (!under_tsan || !read_task_file(tid, "status", buf, sizeof buf)) {
        return false; // gone, unreadable, or not a sanitizer build: count it
    }
    const char* line = std::strstr(buf, "\nSigBlk:");
    if (line == nullptr) {
        return false;
    }
    const unsigned long long blocked = std::strtoull(line + 8, nullptr, 16);
    unsigned long long mark = 0;
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGALRM, SIGSEGV, SIGBUS}) {
        mark |= 1ULL << (sig - 1);
    }
    return (blocked & mark) == mark;
}

/// The threads of this process that may run user code (entries of /proc/self/task, less those
/// runs_no_user_code() leaves out); 0 when that cannot be read.
std::size_t process_threads() noexcept {
    DIR* d = ::opendir("/proc/self/task");
    if (d == nullptr) {
        return 0;
    }
    std::size_t n = 0;
    while (const dirent* e = ::readdir(d)) {
        if (e->d_name[0] != '.' && !runs_no_user_code(e->d_name)) {
            ++n;
        }
    }
    ::closedir(d);
    return n;
}
} // namespace

bool scheduler::outside_threads_exist() noexcept {
    // Under block_mu_, with every worker asleep. The blocking pool's count is read after the
    // process's: a pool thread that leaves in between is then still counted by the process and no
    // longer by us, which errs on the side of "someone else is there".
    const std::size_t all = process_threads();
    if (all == 0) {
        return true; // cannot tell: assume a plain thread may still act
    }
    const std::size_t ours =
        workers_.size() + 1 /* sysmon */ + block_waiters_.size() + blocking_.threads();
    return all > ours;
}

void scheduler::check_deadlock() noexcept {
    if (!opts_.detect_deadlock || stopping()) {
        return;
    }
    const std::uint64_t epoch = sleep_epoch_.load(std::memory_order_seq_cst);
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
    if (outside_threads_exist()) {
        // A plain thread (or another runtime) may still set the event, send on the channel or
        // release the mutex these tasks wait for: a correct program is never stopped. Sysmon
        // looks again while this lasts.
        deadlock_deferred_.store(true, std::memory_order_relaxed);
        return;
    }
    // Confirm, after the thread list was read: nothing moved since the first look (same epoch,
    // still quiescent). A worker woken by a cancellation between two of our reads is caught here,
    // and so is a plain thread that woke a task and ended before the list was read: its wake left
    // the task queued or a worker awake. Confirming before reading the list missed that thread.
    if (!quiescent() || sleep_epoch_.load(std::memory_order_seq_cst) != epoch) {
        return;
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

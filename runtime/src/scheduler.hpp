// Private: the scheduler and its workers. The algorithm is described in scheduler.cpp; the
// other parts in timers.cpp, join.cpp, watchdog.cpp and scheduler_hooks.cpp.
#pragma once

#include <weft/runtime/metrics.hpp>
#include <weft/runtime/runtime.hpp>

#include <weft/runtime/detail/reactor.hpp>
#include <weft/runtime/detail/scheduler_hooks.hpp>

#include "blocking_pool.hpp"
#include "chase_lev_deque.hpp"
#include "parker.hpp"
#include "timer_queue.hpp"

#include <atomic>
#include <condition_variable>
#include <coroutine>
#include <cstdint>
#include <latch>
#include <memory>
#include <mutex>
#include <semaphore>
#include <thread>
#include <vector>

#include <concurrentqueue/concurrentqueue.h>

namespace weft::detail {

class scheduler;

inline constexpr int task_budget = 128; // Tokio: 128 operations per poll

/// A queue item is the task's coroutine handle, as an address.
inline void* to_item(std::coroutine_handle<> h) noexcept {
    return h.address();
}
inline std::coroutine_handle<> from_item(void* p) noexcept {
    return std::coroutine_handle<>::from_address(p);
}

/// The reactor factory set_reactor_factory installed (nullptr: none), read once per scheduler.
reactor_factory installed_reactor_factory() noexcept;

/// Counters of one worker. Written by the owner (relaxed load + store, no RMW) except stolen_from,
/// which thieves bump with fetch_add; read by metrics snapshots from any thread.
struct worker_counters {
    std::atomic<std::uint64_t> tasks_run{0}, spawned{0}, stolen_by{0}, parks{0}, global_pulls{0},
        budget_yields{0}, yields{0}, timers_fired{0}, done{0}, long_polls{0};
    alignas(64) std::atomic<std::uint64_t> stolen_from{0}; // written by thieves: its own line

    static void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {
        c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
};

class alignas(64) worker {
public:
    worker(scheduler& s, unsigned index);

    void start(std::latch& ready);
    void join();

    // --- owner-thread operations ---
    void push_local(std::coroutine_handle<> h, bool spawned);
    /// Spawned tasks `at(0)`, ..., `at(n - 1)` (the last runs first) in one deque publish; wakes
    /// at most one idle worker for the batch (a woken thief that finds work wakes the next).
    template <class HandleAt>
    void push_spawned_many(std::size_t n, HandleAt&& at);
    void push_yielded(std::coroutine_handle<> h);
    void push_wakeup(std::coroutine_handle<> h) noexcept; // FIFO: behind what is queued
    /// Room for one more wake-up in fifo_ without throwing: compacts, or grows the list, or (out
    /// of memory) says false.
    [[gnu::noinline]] bool make_fifo_room() noexcept;
    /// push_wakeup without memory for fifo_: the task goes to the global queue instead.
    [[gnu::noinline]] void push_wakeup_out_of_memory(std::coroutine_handle<> h) noexcept;
    void register_timer(timer_node* n);
    bool try_cancel_local_timer(timer_node* n) noexcept; // owner: unlink a node that is queued

    // --- any thread ---
    void post_cancelled_timer(timer_node* n) noexcept; // onto the inbox, then wake the owner
    void unpark() noexcept {
        if (reactor_) {
            reactor_->unpark();
        } else {
            parker_.unpark();
        }
    }
    reactor* io() const noexcept { return reactor_.get(); }
    void count_blocked(blocked_on what, std::int64_t delta) noexcept {
        auto& c = blocked_[static_cast<unsigned>(what)];
        c.store(c.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
    }

    scheduler& sched() noexcept { return sched_; }
    unsigned index() const noexcept { return index_; }
    worker_counters& counters() noexcept { return counters_; }
    std::size_t queue_depth() const noexcept {
        return deque_.size() + fifo_size_.load(std::memory_order_relaxed);
    }

    int budget_ = 0; // owner only: cooperative budget of the running task

private:
    friend class scheduler;

    void run(std::latch& ready);
    void poll_io() noexcept;
    std::coroutine_handle<> next_local();
    [[gnu::noinline]] std::coroutine_handle<> next_local_slow();
    // With an empty deque: the FIFO list moves under the deque (out of memory for that, its head
    // alone is taken). Never throws: the worker loop has no caller to report to.
    std::coroutine_handle<> take_fifo() noexcept;
    std::coroutine_handle<> take_fifo_head() noexcept; // the oldest wake-up, in O(1)
    std::coroutine_handle<> next_remote();             // search: steal, global queue; may park
    std::coroutine_handle<> steal_from_others();
    std::coroutine_handle<> pull_global();
    void drain_inbox() noexcept;
    bool run_timers() noexcept;        // fires due timers; true if any task became runnable
    bool fire(timer_node* n) noexcept; // a popped timer: false if it was cancelled first
    /// Room for one wake-up in fifo_ (see make_fifo_room): the timer loops stop without it.
    bool fifo_has_room() noexcept { return fifo_.size() < fifo_.capacity() || make_fifo_room(); }
    void fire_all_timers() noexcept;
    void park();
    bool drained() noexcept; // after exit_: nothing local left (waits briefly for I/O)
    void stop_searching_found_work();
    std::uint32_t next_rand() noexcept;

    scheduler& sched_;
    const unsigned index_;
    chase_lev_deque deque_;
    std::vector<std::coroutine_handle<>> fifo_; // owner only: yielded and woken tasks, FIFO
    std::size_t fifo_head_ = 0;                 // owner only: fifo_[fifo_head_] is the oldest
    std::atomic<std::size_t> fifo_size_{0};     // live entries, for other threads' checks
    // Owner only: how many wake-ups the last take_fifo moved under the deque that may still be
    // there (an upper bound; set by take_fifo, spent by fairness ticks).
    std::size_t fifo_moved_ = 0;
    // Owner only: entries taken out of fifo_ so far, and that count at the last fairness tick
    // (equal: the head has waited a whole interval).
    std::size_t fifo_taken_ = 0;
    std::size_t fifo_taken_at_tick_ = 0;
    timer_queue timers_;                      // owner only
    std::atomic<timer_node*> inbox_{nullptr}; // MPSC stack of cancelled timers (any -> owner)
    parker parker_;
    std::unique_ptr<reactor> reactor_; // created on the worker thread before `ready`; then const
    worker_counters counters_;
    std::atomic<std::size_t> timers_size_{0}; // timers_.size(), for the deadlock detector
    std::atomic<std::int64_t> blocked_[static_cast<unsigned>(blocked_on::kinds_)] =
        {}; // enter - leave here
    std::uint32_t tick_ = 0;
    std::atomic<bool> running_task_{false}; // owner writes around each resume; sysmon reads
    std::uint64_t sysmon_last_run_ = 0;     // sysmon only
    int sysmon_stuck_ = 0;                  // sysmon only
    std::uint32_t rng_;
    bool searching_ = false;   // owner only; counted in scheduler::num_searching_
    bool in_sleepers_ = false; // guarded by scheduler::idle_mu_
    std::thread thread_;
};

class scheduler {
public:
    explicit scheduler(runtime_options opts);
    ~scheduler();

    /// Outside threads: onto the global queue, then wake a worker.
    void inject(std::coroutine_handle<> h);
    void inject_wakeup(std::coroutine_handle<> h) noexcept;
    /// Wakes one sleeping worker as a searcher unless someone is already searching.
    void notify_one() noexcept;
    /// Cheap form for local pushes: no fence, bail out fast when nobody sleeps.
    void maybe_notify_local() noexcept;
    void shutdown();

    std::size_t num_workers() const noexcept { return workers_.size(); }
    bool stopping() const noexcept { return stopping_.load(std::memory_order_acquire); }
    metrics_snapshot snapshot() const;
    void report_exception(const char* name, std::exception_ptr e) noexcept;
    blocking_pool& blocking() noexcept { return blocking_; }
    std::uint64_t live_tasks() const noexcept;
    /// After shutdown, with tasks abandoned: frees everything but the object itself, which the
    /// runtime then leaks on purpose (scheduler.cpp, "Shutdown").
    void become_tombstone() noexcept;

private:
    friend class worker;

    bool any_work_visible() const noexcept;
    bool quiescent() const noexcept;
    void sysmon_main();

public:
    /// block_on's waiter: released when its task finishes, or when a deadlock is declared.
    struct block_waiter : join_listener {
        promise_base* task = nullptr; // the task block_on waits for; alive while listed
        std::binary_semaphore sem{0};
        std::atomic<bool> deadlocked{false};
    };
    void add_block_waiter(block_waiter* w);
    /// Reports a deadlock (and releases the block_on waiters) when every task waits on weft
    /// primitives and nothing can wake one. Cheap when the runtime is busy.
    void check_deadlock() noexcept;
    void remove_block_waiter(block_waiter* w);
    /// Under block_mu_: true if the process has threads other than this runtime's (its workers,
    /// sysmon, blocking pool, block_on callers), which may still wake a blocked task.
    bool outside_threads_exist() noexcept;

private:
    std::mutex block_mu_;
    std::vector<block_waiter*> block_waiters_; // guarded by block_mu_
    std::atomic<bool> deadlock_reported_{false};
    std::atomic<bool> deadlock_deferred_{false}; // a check was put off for a plain thread
    reactor_factory reactor_factory_ = nullptr;

    runtime_options opts_;
    std::vector<std::unique_ptr<worker>> workers_;

    // Global injection queue (Go sched.runq; a lock-free MPMC queue): outside spawns and remote
    // wake-ups.
    moodycamel::ConcurrentQueue<void*> global_;
    // Threads outside this runtime (plain threads, the blocking pool, another runtime's workers)
    // inside inject_wakeup. The wake-up they queue may let main finish and the runtime be
    // destroyed while they still run notify_one on its members: ~scheduler waits for zero.
    // Written by inject_wakeup (seq_cst add before the enqueue, release sub after the last
    // touch); read by ~scheduler (acquire: pairs with that sub).
    std::atomic<std::uint32_t> outside_wakers_{0};
    // Set by shutdown once the workers have joined: inject_wakeup drops what comes after (a plain
    // thread setting an event an abandoned task waits on). seq_cst against outside_wakers_:
    // either the waker sees gone_, or shutdown sees the waker counted and waits for it.
    std::atomic<bool> gone_{false};
    std::atomic<std::int64_t> global_len_{
        0}; // incremented after enqueue, decremented after dequeue
    std::atomic<std::uint64_t> injected_{0};

    // Idle protocol (scheduler.cpp, "Searching and parking").
    std::mutex idle_mu_;
    std::vector<worker*> sleepers_; // guarded by idle_mu_
    // Separate lines: num_searching_ changes at every steal attempt cycle, num_sleeping_ only
    // when a worker parks or wakes, and every push/pop reads num_sleeping_ (lazy wake).
    alignas(64) std::atomic<std::uint32_t> num_searching_{0};
    alignas(64) std::atomic<std::uint32_t> num_sleeping_{0};
    // Bumped whenever a worker registers as a sleeper or stops being one: quiescent() reads it
    // before and after its scan to know that no worker woke up in between.
    std::atomic<std::uint64_t> sleep_epoch_{0};

    alignas(64) std::atomic<bool> stopping_{false}; // alignas: num_sleeping_'s line stays alone
    std::atomic<bool> exit_{false};
    // Set with exit_ when shutdown_grace ran out with tasks still running: workers leave at their
    // next fairness tick or idle turn, with work still queued (abandoned).
    std::atomic<bool> abandon_{false};
    std::mutex shutdown_mu_;
    std::condition_variable shutdown_cv_;
    bool shut_down_ = false; // guarded by shutdown_mu_

    blocking_pool blocking_;

    // sysmon (scheduler.cpp, "Long polls"): a thread that watches for tasks that hog a worker.
    std::thread sysmon_;
    std::mutex sysmon_mu_;
    std::condition_variable sysmon_cv_;
    bool sysmon_stop_ = false;           // guarded by sysmon_mu_
    std::int64_t warn_long_poll_ms_ = 0; // WEFT_WARN_LONG_POLLS: print a warning per long poll
};

/// Prints a detached task's exception to stderr: what report_exception does when the runtime has
/// no handler, and report_detached_exception when there is no runtime.
void print_detached_exception(const char* name, std::exception_ptr e) noexcept;

/// The worker of the calling thread (nullptr outside workers). constinit: no dynamic
/// initialisation, so other translation units read it without a TLS wrapper call.
extern constinit thread_local worker* tls_worker;

// Inline: the spawn and wake-up hooks (scheduler_hooks.cpp), the timers (timers.cpp) and the
// worker loop (scheduler.cpp) all push, and a call per push would cost the fork-join hot path.

inline void worker::push_local(std::coroutine_handle<> h, bool spawned) {
    deque_.push(to_item(h));
    if (spawned) {
        worker_counters::bump(counters_.spawned);
    }
    // Lazy wake: only when someone sleeps and there is more than the one task this worker will
    // run next. The sleeper count is read first: with every worker busy it is 0 and the check
    // costs one load of a line that rarely changes.
    if (sched_.num_sleeping_.load(std::memory_order_relaxed) != 0 && deque_.size() > 1) {
        sched_.maybe_notify_local();
    }
}

template <class HandleAt>
inline void worker::push_spawned_many(std::size_t n, HandleAt&& at) {
    deque_.push_many(n, [&](std::size_t i) { return to_item(at(i)); });
    worker_counters::bump(counters_.spawned, n);
    // push_local's lazy wake, once for the batch.
    if (sched_.num_sleeping_.load(std::memory_order_relaxed) != 0 && deque_.size() > 1) {
        sched_.maybe_notify_local();
    }
}

inline void worker::push_yielded(std::coroutine_handle<> h) {
    push_wakeup(h);
    worker_counters::bump(counters_.yields);
}

[[gnu::always_inline]] inline void worker::push_wakeup(std::coroutine_handle<> h) noexcept {
    // Wake-ups come from noexcept paths (timers, channels, I/O completions): a full list is grown
    // out of line, and a failed allocation must not throw here (it would terminate the program).
    if (fifo_.size() == fifo_.capacity()) [[unlikely]] {
        if (!make_fifo_room()) {
            push_wakeup_out_of_memory(h);
            return;
        }
    }
    fifo_.push_back(h); // cannot allocate now
    fifo_size_.store(fifo_.size() - fifo_head_, std::memory_order_relaxed);
}

inline void scheduler::maybe_notify_local() noexcept {
    if (num_sleeping_.load(std::memory_order_relaxed) == 0 ||
        num_searching_.load(std::memory_order_relaxed) != 0) {
        return;
    }
    notify_one();
}

} // namespace weft::detail

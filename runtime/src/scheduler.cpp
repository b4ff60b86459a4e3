// The M:N work-stealing scheduler.
//
// Vocabulary
//   task      a spawned coroutine (weft::spawn / go / runtime::spawn). Its queue item is its
//             coroutine handle: 8 bytes, nothing allocated beyond the frame.
//   worker    one OS thread per core (runtime_options::workers). Runs tasks; owns a deque, a
//             FIFO list of yielded and woken tasks, a timer queue, an inbox and a parker.
//   deque     the worker's Chase-Lev deque (chase_lev_deque.hpp): the owner pushes and pops at the
//             bottom (LIFO), thieves steal at the top (FIFO).
//   global    the injection queue (moodycamel::ConcurrentQueue) for tasks from outside threads and
//             wake-ups that happen off a worker.
//   searching a worker with no local work that is looking for some (Go: "spinning").
//   sleeping  a worker parked on its parker, listed in sleepers_.
//
// Invariants
//   1. Work on a running worker's deque is never lost: that worker will run it itself.
//      Waking others is about parallelism, not correctness, so local pushes do not fence.
//   2. Work on the global queue is never stranded: every injection is followed by a full fence
//      and notify_one(); every worker that parks re-checks the global queue after registering as a
//      sleeper. One of the two sees the other (Dekker).
//   3. At most half of the awake workers search at once (Go: 2*nmspinning < gomaxprocs-npidle),
//      so an idle system does not burn every core stealing from empty deques.
//   4. A worker woken by notify_one() is counted as searching by its waker, so concurrent notifiers
//      do not wake a crowd for one task. When a searcher finds work and was the last searcher,
//      it wakes another (Go resetspinning): while work keeps appearing, one worker keeps looking.
//   5. Only the owner touches its deque bottom, FIFO list, timers and inbox consumption.
//
// Rejected approaches
//   - FIFO ring + runnext slot (Go, Tokio) as the only local queue: for fork-join (skynet, fib),
//     FIFO order expands the task tree breadth-first, so a million frames are alive at once and
//     nothing is hot in cache. The owner-LIFO deque runs it depth-first (live frames ~ fan-out x
//     depth) and thieves take the oldest, largest subtrees, as in TooManyCooks and libfork.
//   - A non-stealable LIFO slot (Tokio): stalls work behind a task that never yields (tokio
//     #4941). Here the newest task is stealable, and a pop that leaves work queued may wake a
//     sleeper ("lazy wake": only when a second task is queued, so that a thief has something to
//     take) instead of every push waking one (tokio #8065).
//   - Yielded and woken tasks at the deque bottom: a yielder would run again at once, and under
//     load the newest I/O completion or channel wake-up would always run first while older ones
//     starve (seen as a 100x p99 at 500 echo connections). Yields and wake-ups (timers, I/O,
//     channels, cancellations) go to a FIFO list instead, moved under the deque (oldest nearest
//     the bottom, where they become stealable) when the deque is empty: a woken task runs after
//     the work queued before it, in wake order. Spawns stay LIFO: that is what fork-join wants.
//
// Current approach: each turn of the worker loop (worker::run)
//   1. every 61 ticks (Go schedtick%61): fire due timers, take one task from the global queue, or
//      the FIFO list's head if it has waited since the last tick, or the deque top, so that
//      nothing starves behind a LIFO pair that keeps waking each other (tokio #5712). Not the
//      FIFO head at once, and not the deque top while wake-ups moved under the deque may remain
//      there (fifo_moved_): both would let a task that just yielded, or a newer wake-up, run
//      before tasks queued ahead of it, and two tasks that yield in turn on one worker would
//      not alternate across the tick;
//   2. cancelled timers from the inbox; the deque bottom; the FIFO list; due timers and I/O
//      completions (into the FIFO list); the global queue (a batch of up to 32: one queue operation
//      for many tasks);
//   3. otherwise search: become searching (if fewer than half search), steal from the other
//      workers in random order, 4 rounds, checking the global queue between rounds;
//   4. otherwise park (see below) until woken or until the nearest timer.
//
// Searching and parking: the protocol, in steps
//   park:  (a) stop searching: num_searching_ -= 1; if that made it 0, re-check every queue
//              (seq_cst) and, if work is visible, search again (Go: the last spinner re-checks);
//          (b) under idle_mu_: add self to sleepers_, num_sleeping_ += 1 (seq_cst);
//          (c) re-check the global queue, the inbox and shutdown (seq_cst loads);
//          (d) parker.park(nearest timer);
//          (e) under idle_mu_: if still in sleepers_, remove self (timeout or spurious wake: not
//              searching); else a notifier removed us and counted us as searching.
//   notify_one: fence; if num_searching_ > 0 or num_sleeping_ == 0, done; else under idle_mu_
//          pop a sleeper, num_sleeping_ -= 1, num_searching_ += 1, then unpark it.
//   A worker parks only with an empty deque, so only global work and its own inbox and timers can
//   arrive for it while it sleeps: the global queue is covered by invariant 2, the inbox by a
//   directed unpark (the parker's token survives an unpark that comes before the park), timers by
//   the park timeout.
//
// Shutdown
//   stopping_ makes every cancellable await complete with operation_canceled (a sleep still
//   suspends, behind the queued tasks, so that a loop ignoring the error gives its worker back),
//   makes each worker fire all its timers, and makes each reactor cancel its operations in
//   flight. The shutting-down thread waits for quiescent(): every worker asleep with empty
//   queues, no timers and no I/O pending, no global work, an idle blocking pool, and no worker
//   woke during the scan (the sleep epoch). It waits at most runtime_options::shutdown_grace:
//   then it sets abandon_, and each worker leaves at its next fairness tick or idle turn with its
//   queues as they are. quiescent() reads other threads' state without stopping them, so one gap
//   remains (a reactor reaping a completion inside park()); hence after exit_ each worker still
//   runs what is local and waits for its own I/O before it leaves (worker::drained). Reactors are
//   destroyed only after every worker has joined. Tasks still suspended then are abandoned and
//   counted (runtime.hpp). Their frames stay, and so does one thing of the runtime's: the
//   scheduler object itself (about 1.5 KiB, everything it owned freed), because an abandoned
//   task's waiters still name it as their home, and a plain thread may later wake one (set an
//   event, send on a channel). inject_wakeup sees gone_ and drops the wake-up; freed, the
//   scheduler would be read after free, and its address reused by a newer runtime would resume
//   an abandoned frame there.
//
// Out of memory
//   The worker loop has no caller to report a failed allocation to, so nothing on it throws:
//   a wake-up without room in the FIFO list goes to the global queue (push_wakeup), a FIFO list
//   or global batch that the deque cannot grow to take is run from its head one task at a time
//   (take_fifo, pull_global), and the timer loops fire only while there is room. Where there is a
//   caller, it gets std::bad_alloc: a spawn whose deque cannot grow, a sleep whose timer queue
//   cannot (timers.cpp).
//
// The other parts, each with its essay
//   timers.cpp           each worker's timer queue, sleeps, and their cancellation (the inbox).
//   join.cpp             a spawned task's finish (the join word) and runtime::block_on.
//   watchdog.cpp         the deadlock detector and sysmon, the long-poll monitor.
//   scheduler_hooks.cpp  the entry points headers call (spawn, wake-up, budget, yield, reactor).
//   assert.cpp           WEFT_ASSERT's failure path.
//
// References
//   Go runtime/proc.go (findRunnable, wakep, resetspinning, runqsteal); Tokio
//   runtime/scheduler/multi_thread/{worker.rs, idle.rs, queue.rs}; TooManyCooks
//   tmc/detail/ex_cpu.ipp; Chase & Lev 2005; Le et al. PPoPP 2013.

#include "scheduler.hpp"

#include <weft/runtime/runtime.hpp>
#include <weft/runtime/timer.hpp>
#include <weft/runtime/yield.hpp>

#include <weft/runtime/detail/assert.hpp>
#include <weft/runtime/detail/promise.hpp>

#include "thread_signals.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <semaphore>
#include <stdexcept>
#include <string>

namespace weft::detail {

namespace {
constexpr std::uint32_t fairness_interval = 61; // Go: schedtick%61
constexpr int steal_rounds = 4;                 // Go: stealTries
constexpr std::size_t global_batch = 32;

std::size_t resolve_workers(std::size_t requested) {
    if (requested != 0) {
        return requested;
    }
    if (const char* env = std::getenv("WEFT_WORKERS")) {
        char* end = nullptr;
        long v = std::strtol(env, &end, 10);
        if (end != env && *end == '\0' && v > 0 && v <= 4096) {
            return static_cast<std::size_t>(v);
        }
        std::fprintf(stderr, "weft: ignoring WEFT_WORKERS=\"%s\" (want a number 1..4096)\n", env);
    }
    unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : n;
}
} // namespace

// ---------------------------------------------------------------------------------------------
// worker

worker::worker(scheduler& s, unsigned index)
    : sched_(s)
    , index_(index)
    , rng_(0x9E3779B9u * (index + 1)) {
    fifo_.reserve(64);
}

void worker::start(std::latch& ready) {
    thread_ = std::thread([this, &ready] { run(ready); });
}

void worker::poll_io() noexcept {
    if (reactor_) {
        reactor_->poll();
    }
}

void worker::join() {
    if (thread_.joinable()) {
        thread_.join();
    }
}

std::uint32_t worker::next_rand() noexcept {
    // xorshift32: victims in random order, no shared state.
    std::uint32_t x = rng_;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    rng_ = x;
    return x;
}

std::coroutine_handle<> worker::pull_global() {
    if (sched_.global_len_.load(std::memory_order_relaxed) <= 0) {
        return {};
    }
    void* items[global_batch];
    std::size_t want =
        1 + static_cast<std::size_t>(sched_.global_len_.load(std::memory_order_relaxed)) /
                sched_.num_workers();
    want = std::min(want, global_batch);
    if (want > 1 && !deque_.reserve(want - 1)) [[unlikely]] {
        want = 1; // out of memory for the rest of a batch: take one (nothing to push)
    }
    std::size_t got = sched_.global_.try_dequeue_bulk(items, want);
    if (got == 0) {
        return {};
    }
    sched_.global_len_.fetch_sub(static_cast<std::int64_t>(got), std::memory_order_relaxed);
    worker_counters::bump(counters_.global_pulls, got);
    // Run the first; queue the rest in order (oldest nearest the bottom runs first after it).
    for (std::size_t i = got; i-- > 1;) {
        deque_.push(items[i]);
    }
    if (got > 2) {
        sched_.maybe_notify_local();
    }
    return from_item(items[0]);
}

std::coroutine_handle<> worker::next_local() {
    // Fast path, kept small so that it needs few registers: the deque bottom.
    ++tick_;
    if (tick_ % fairness_interval != 0 && inbox_.load(std::memory_order_relaxed) == nullptr)
        [[likely]] {
        // With only wake-ups queued, skip pop()'s seq_cst store (owner_sees_empty is exact).
        if (!deque_.owner_sees_empty()) {
            if (void* p = deque_.pop()) {
                if (sched_.num_sleeping_.load(std::memory_order_relaxed) != 0 && !deque_.empty()) {
                    sched_.maybe_notify_local();
                }
                return from_item(p);
            }
        }
        if (fifo_head_ != fifo_.size()) {
            return take_fifo(); // a wake-up (channel partner, I/O completion): FIFO order
        }
    }
    return next_local_slow();
}

std::coroutine_handle<> worker::next_local_slow() {
    if (inbox_.load(std::memory_order_relaxed) != nullptr) {
        drain_inbox();
    }
    if (tick_ % fairness_interval == 0) {
        if (sched_.abandon_.load(std::memory_order_relaxed)) [[unlikely]] {
            return {}; // shutdown gave up waiting: leave what is queued here (worker::run)
        }
        poll_io();
        if (sched_.stopping()) {
            fire_all_timers();
        } else {
            run_timers();
        }
        if (auto h = pull_global()) {
            return h;
        }
        // The FIFO list's head, if it has waited a whole interval (nothing left the list since
        // the last tick): a LIFO pair on the deque bottom cannot starve it. Not sooner: the
        // deque holds tasks queued before it (a task that just yielded would run again first).
        const bool head_waited = fifo_head_ != fifo_.size() && fifo_taken_ == fifo_taken_at_tick_;
        fifo_taken_at_tick_ = fifo_taken_;
        if (head_waited) {
            auto h = take_fifo_head(); // the oldest wake-up, in O(1)
            fifo_taken_at_tick_ = fifo_taken_;
            return h;
        }
        if (fifo_moved_ != 0) {
            // Wake-ups an earlier turn moved under the deque sit at its top, newest first: run
            // them in their order (the pop below). Bounded: each tick spends one.
            --fifo_moved_;
        } else if (void* p = deque_.steal()) { // oldest local task: no LIFO pair starves the rest
            return from_item(p);
        }
    }
    if (void* p = deque_.pop()) {
        if (sched_.num_sleeping_.load(std::memory_order_relaxed) != 0 && !deque_.empty()) {
            sched_.maybe_notify_local();
        }
        return from_item(p);
    }
    if (auto h = take_fifo()) {
        return h;
    }
    if (sched_.stopping()) {
        fire_all_timers();
    } else {
        run_timers();
    }
    poll_io();
    if (auto h = take_fifo()) {
        return h;
    }
    return pull_global();
}

bool worker::make_fifo_room() noexcept {
    if (fifo_head_ != 0) {
        // Taken entries at the front: reuse their room, allocating nothing.
        fifo_.erase(fifo_.begin(), fifo_.begin() + static_cast<std::ptrdiff_t>(fifo_head_));
        fifo_head_ = 0;
        return true;
    }
    try {
        fifo_.reserve(std::max<std::size_t>(64, 2 * fifo_.capacity()));
        return true;
    } catch (const std::bad_alloc&) {
        return false;
    }
}

void worker::push_wakeup_out_of_memory(std::coroutine_handle<> h) noexcept {
    // moodycamel reports a failed allocation instead of throwing. If even that fails there is
    // no memory to remember the task in, and it cannot be dropped: stop with a message.
    const bool ok = sched_.global_.enqueue(to_item(h));
    WEFT_ASSERT(ok, "weft: out of memory queueing a woken task");
    sched_.global_len_.fetch_add(1, std::memory_order_seq_cst);
}

std::coroutine_handle<> worker::take_fifo_head() noexcept {
    auto h = fifo_[fifo_head_++];
    ++fifo_taken_;
    if (fifo_head_ == fifo_.size()) {
        fifo_.clear();
        fifo_head_ = 0;
    } else if (fifo_head_ > 1024 && fifo_head_ > fifo_.size() / 2) {
        fifo_.erase(fifo_.begin(), fifo_.begin() + static_cast<std::ptrdiff_t>(fifo_head_));
        fifo_head_ = 0; // amortised O(1): the dead space is more than what is moved
    }
    fifo_size_.store(fifo_.size() - fifo_head_, std::memory_order_relaxed);
    return h;
}

std::coroutine_handle<> worker::take_fifo() noexcept {
    if (fifo_head_ == fifo_.size()) {
        return {};
    }
    if (!deque_.reserve(fifo_.size() - fifo_head_ - 1)) [[unlikely]] {
        // Out of memory for the deque to take the list: the list is run from its head, one
        // wake-up at a time, in the same order (nothing allocated, nothing stealable).
        return take_fifo_head();
    }
    // Called with an empty deque. Oldest nearest the bottom: pop order is FIFO order, and
    // thieves take the newest.
    for (std::size_t i = fifo_.size(); i-- > fifo_head_ + 1;) {
        deque_.push(to_item(fifo_[i]));
    }
    std::coroutine_handle<> first = fifo_[fifo_head_];
    if (fifo_.size() - fifo_head_ == 1) [[likely]] { // one wake-up: nothing to move or notify
        fifo_moved_ = 0;
        ++fifo_taken_;
        fifo_.clear();
        fifo_head_ = 0;
        fifo_size_.store(0, std::memory_order_relaxed);
        return first;
    }
    fifo_moved_ = fifo_.size() - fifo_head_ - 1;
    fifo_taken_ += fifo_.size() - fifo_head_;
    fifo_.clear();
    fifo_head_ = 0;
    fifo_size_.store(0, std::memory_order_relaxed);
    if (!deque_.empty()) {
        sched_.maybe_notify_local();
    }
    return first;
}

std::coroutine_handle<> worker::steal_from_others() {
    auto& ws = sched_.workers_;
    const std::size_t n = ws.size();
    if (n <= 1) {
        return {};
    }
    std::size_t start = next_rand() % n;
    for (std::size_t i = 0; i < n; ++i) {
        worker* victim = ws[(start + i) % n].get();
        if (victim == this) {
            continue;
        }
        if (void* p = victim->deque_.steal()) {
            worker_counters::bump(counters_.stolen_by);
            victim->counters_.stolen_from.fetch_add(1, std::memory_order_relaxed);
            return from_item(p);
        }
    }
    return {};
}

void worker::stop_searching_found_work() {
    if (searching_) {
        searching_ = false;
        // seq_cst RMW: pairs with notify_one's fence + load of num_searching_.
        if (sched_.num_searching_.fetch_sub(1, std::memory_order_seq_cst) == 1) {
            sched_
                .notify_one(); // the last searcher found work: keep one looking (Go resetspinning)
        }
    }
}

std::coroutine_handle<> worker::next_remote() {
    const auto nworkers = static_cast<std::uint32_t>(sched_.num_workers());
    if (!searching_) {
        std::uint32_t searching = sched_.num_searching_.load(std::memory_order_relaxed);
        std::uint32_t sleeping = sched_.num_sleeping_.load(std::memory_order_relaxed);
        if (2 * searching < nworkers - std::min(sleeping, nworkers)) {
            searching_ = true;
            sched_.num_searching_.fetch_add(1, std::memory_order_seq_cst);
        }
    }
    if (searching_) {
        for (int round = 0; round < steal_rounds; ++round) {
            if (auto h = steal_from_others()) {
                stop_searching_found_work();
                return h;
            }
            if (auto h = pull_global()) {
                stop_searching_found_work();
                return h;
            }
        }
    } else if (auto h = pull_global()) {
        return h;
    }
    park();
    return {};
}

void worker::park() {
    // (a) stop searching; the last searcher re-checks everything.
    if (searching_) {
        searching_ = false;
        if (sched_.num_searching_.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
            sched_.any_work_visible()) {
            searching_ = true;
            sched_.num_searching_.fetch_add(1, std::memory_order_seq_cst);
            return;
        }
    }
    // (b) register as a sleeper.
    {
        std::lock_guard lk(sched_.idle_mu_);
        sched_.sleepers_.push_back(this);
        in_sleepers_ = true;
        sched_.sleep_epoch_.fetch_add(1, std::memory_order_seq_cst);
        sched_.num_sleeping_.fetch_add(1, std::memory_order_seq_cst);
    }
    bool all_asleep = sched_.num_sleeping_.load(std::memory_order_seq_cst) == sched_.num_workers();
    // (c) re-check what can arrive while we sleep.
    bool skip = sched_.global_len_.load(std::memory_order_seq_cst) > 0 ||
                inbox_.load(std::memory_order_seq_cst) != nullptr ||
                sched_.exit_.load(std::memory_order_seq_cst) ||
                (sched_.stopping() && !timers_.empty());
    if (!skip) {
        if (all_asleep) {
            if (sched_.stopping()) {
                std::lock_guard lk(sched_.shutdown_mu_);
                sched_.shutdown_cv_.notify_all();
            } else if (timers_.empty()) {
                sched_.check_deadlock();
            }
        }
        worker_counters::bump(counters_.parks);
        // (d) sleep until woken or until the nearest timer.
        std::int64_t deadline = timers_.empty() ? -1 : timers_.next_deadline();
        if (reactor_) {
            reactor_->park(deadline);
        } else {
            parker_.park(deadline);
        }
    }
    // (e) unregister, or learn that a notifier did it for us.
    std::lock_guard lk(sched_.idle_mu_);
    sched_.sleep_epoch_.fetch_add(1, std::memory_order_seq_cst);
    if (in_sleepers_) {
        auto& s = sched_.sleepers_;
        s.erase(std::find(s.begin(), s.end(), this));
        in_sleepers_ = false;
        sched_.num_sleeping_.fetch_sub(1, std::memory_order_seq_cst);
    } else {
        searching_ = true; // counted in num_searching_ by the notifier
    }
}

void worker::run(std::latch& ready) {
    tls_worker = this;
    block_async_signals_in_this_thread();
    frame_cache_enable();
    if (sched_.reactor_factory_ != nullptr) {
        reactor_ = sched_.reactor_factory_(index_);
    }
    ready.count_down();
    for (;;) {
        std::coroutine_handle<> h = next_local();
        if (!h) {
            h = next_remote();
            if (!h) {
                if (sched_.exit_.load(std::memory_order_acquire) &&
                    (sched_.abandon_.load(std::memory_order_relaxed) || drained())) {
                    break;
                }
                continue;
            }
        } else if (searching_) [[unlikely]] {
            // Woken as a searcher and found work locally (the global queue, a timer): stop
            // searching so that notifiers wake someone else (Go: resetspinning after findRunnable).
            stop_searching_found_work();
        }
        budget_ = task_budget;
        worker_counters::bump(counters_.tasks_run);
        running_task_.store(true, std::memory_order_relaxed);
        tls_chain = nullptr; // a weft task sets it as it resumes; anything else runs unlinked
        h.resume();
        running_task_.store(false, std::memory_order_relaxed);
    }
    if (searching_) {
        searching_ = false;
        sched_.num_searching_.fetch_sub(1, std::memory_order_seq_cst);
    }
    // The reactor stays alive until every worker has joined (scheduler::shutdown): other workers'
    // unpark() and deadlock checks may still reach it.
    frame_cache_release();
    tls_worker = nullptr;
}

bool worker::drained() noexcept {
    // Owner only, after shutdown's exit_: nothing local may be left behind. The quiet check that
    // set exit_ read other workers' state without stopping them, so a wake-up can still be in
    // flight here (an I/O completion reaped while this worker counted as asleep).
    if (!deque_.empty() || fifo_head_ != fifo_.size() || !timers_.empty() ||
        inbox_.load(std::memory_order_acquire) != nullptr) {
        return false;
    }
    if (reactor_ && reactor_->pending() != 0) {
        // The reactor cancels what is in flight once the runtime stops; wait for those
        // completions (bounded sleep: their wake-up may already have been consumed).
        reactor_->park(now_ns() + 1'000'000);
        return false;
    }
    return true;
}

// ---------------------------------------------------------------------------------------------
// scheduler

scheduler::scheduler(runtime_options opts)
    : opts_(std::move(opts))
    , blocking_(
          opts_.max_blocking_threads,
          opts_.blocking_keep_alive,
          [](void* self) { static_cast<scheduler*>(self)->check_deadlock(); },
          this) {
    const std::size_t n = resolve_workers(opts_.workers);
    workers_.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        workers_.push_back(std::make_unique<worker>(*this, static_cast<unsigned>(i)));
    }
    sleepers_.reserve(n);
    reactor_factory_ = installed_reactor_factory();
    // Every worker has its reactor before anyone can unpark it.
    std::latch ready(static_cast<std::ptrdiff_t>(n));
    for (auto& w : workers_) {
        w->start(ready);
    }
    ready.wait();
    if (const char* env = std::getenv("WEFT_WARN_LONG_POLLS")) {
        warn_long_poll_ms_ = std::strtol(env, nullptr, 10);
    }
    sysmon_ = std::thread([this] { sysmon_main(); });
}

scheduler::~scheduler() {
    shutdown();
}

void scheduler::become_tombstone() noexcept {
    // Called after shutdown(): no worker runs, gone_ is set and no outside waker is inside.
    workers_.clear();
    workers_.shrink_to_fit();
    sleepers_.clear();
    sleepers_.shrink_to_fit();
    global_ = moodycamel::ConcurrentQueue<void*>(0); // frees its blocks (queued handles abandoned)
    opts_.on_detached_exception = nullptr;
}

bool scheduler::quiescent() const noexcept {
    // A consistent picture without stopping anyone: every worker asleep before and after the
    // scan, and none woke in between (same epoch), so no worker changed what we read. One gap is
    // left: a reactor reaps completions inside park(), while its worker still counts as asleep.
    // Reactors queue the task before pending() drops (weft::io's io_uring reactor does), and I/O
    // is read first, so such a task is seen in one place or the other; shutdown also closes the
    // gap for any reactor: each worker drains its own queues and I/O before it exits
    // (worker::drained).
    const std::uint64_t epoch = sleep_epoch_.load(std::memory_order_seq_cst);
    if (num_sleeping_.load(std::memory_order_seq_cst) != workers_.size() ||
        global_len_.load(std::memory_order_seq_cst) != 0 || blocking_.in_flight() != 0) {
        return false;
    }
    for (const auto& w : workers_) {
        if (w->reactor_ && w->reactor_->pending() != 0) {
            return false;
        }
    }
    for (const auto& w : workers_) {
        if (!w->deque_.empty() || w->fifo_size_.load(std::memory_order_seq_cst) != 0 ||
            w->inbox_.load(std::memory_order_seq_cst) != nullptr ||
            w->timers_size_.load(std::memory_order_seq_cst) != 0) {
            return false;
        }
    }
    return num_sleeping_.load(std::memory_order_seq_cst) == workers_.size() &&
           sleep_epoch_.load(std::memory_order_seq_cst) == epoch;
}

bool scheduler::any_work_visible() const noexcept {
    if (global_len_.load(std::memory_order_seq_cst) > 0) {
        return true;
    }
    for (const auto& w : workers_) {
        if (!w->deque_.empty()) {
            return true;
        }
    }
    return false;
}

void scheduler::inject(std::coroutine_handle<> h) {
    if (stopping()) {
        throw std::logic_error("weft: spawn on a runtime that is shutting down");
    }
    injected_.fetch_add(1, std::memory_order_relaxed);
    inject_wakeup(h);
}

void scheduler::inject_wakeup(std::coroutine_handle<> h) noexcept {
    // Counted before the enqueue that may let the runtime finish, uncounted after the last touch
    // of the scheduler (see outside_wakers_).
    outside_wakers_.fetch_add(1, std::memory_order_seq_cst);
    if (gone_.load(std::memory_order_seq_cst)) [[unlikely]] {
        // The runtime has shut down and abandoned this task: nothing will run it again.
        outside_wakers_.fetch_sub(1, std::memory_order_release);
        return;
    }
    bool ok = global_.enqueue(to_item(h));
    WEFT_ASSERT(ok, "weft: out of memory in the global queue");
    global_len_.fetch_add(1, std::memory_order_seq_cst);
    notify_one();
    outside_wakers_.fetch_sub(1, std::memory_order_release);
}

void scheduler::notify_one() noexcept {
    // Pairs with the seq_cst registration and re-check in worker::park (invariant 2).
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (num_searching_.load(std::memory_order_seq_cst) != 0 ||
        num_sleeping_.load(std::memory_order_seq_cst) == 0) {
        return;
    }
    worker* w = nullptr;
    {
        std::lock_guard lk(idle_mu_);
        if (sleepers_.empty() || num_searching_.load(std::memory_order_relaxed) != 0) {
            return;
        }
        w = sleepers_.back();
        sleepers_.pop_back();
        w->in_sleepers_ = false;
        num_sleeping_.fetch_sub(1, std::memory_order_seq_cst);
        num_searching_.fetch_add(1, std::memory_order_seq_cst);
    }
    w->unpark();
}

std::uint64_t scheduler::live_tasks() const noexcept {
    std::uint64_t spawned = injected_.load(std::memory_order_relaxed);
    std::uint64_t done = 0;
    for (const auto& w : workers_) {
        spawned += w->counters_.spawned.load(std::memory_order_relaxed);
        done += w->counters_.done.load(std::memory_order_relaxed);
    }
    return spawned > done ? spawned - done : 0;
}

void scheduler::shutdown() {
    {
        std::lock_guard lk(shutdown_mu_);
        if (shut_down_) {
            return;
        }
        shut_down_ = true;
    }
    stopping_.store(true, std::memory_order_seq_cst);
    {
        std::lock_guard lk(sysmon_mu_);
        sysmon_stop_ = true;
    }
    sysmon_cv_.notify_all();
    if (sysmon_.joinable()) {
        sysmon_.join();
    }
    for (auto& w : workers_) {
        w->unpark();
    }
    // Wait for quiescence: every worker asleep, no global work, blocking pool idle.
    {
        std::unique_lock lk(shutdown_mu_);
        // A worker still asleep with timers or I/O in flight has not seen stopping_ yet: it
        // fires its timers and its reactor cancels its operations, and their tasks run.
        const auto give_up = std::chrono::steady_clock::now() + opts_.shutdown_grace;
        while (!quiescent()) {
            if (std::chrono::steady_clock::now() >= give_up) {
                std::fprintf(
                    stderr,
                    "weft: shutdown: tasks still running %lld ms after the stop was requested "
                    "(a loop that ignores operation_canceled?); abandoning them\n",
                    static_cast<long long>(opts_.shutdown_grace.count()));
                abandon_.store(true, std::memory_order_seq_cst);
                break;
            }
            shutdown_cv_.wait_for(lk, std::chrono::milliseconds(1));
        }
    }
    exit_.store(true, std::memory_order_seq_cst);
    for (auto& w : workers_) {
        w->unpark();
    }
    for (auto& w : workers_) {
        w->join();
    }
    for (auto& w : workers_) {
        w->reactor_.reset(); // only now: until every worker joined, others could unpark it
    }
    blocking_.shutdown();
    // From here a wake-up from outside is dropped. A thread whose wake-up let main finish may
    // still be in notify_one: let it leave first (seq_cst: see gone_).
    gone_.store(true, std::memory_order_seq_cst);
    while (outside_wakers_.load(std::memory_order_seq_cst) != 0) {
        std::this_thread::yield();
    }
    if (std::uint64_t left = live_tasks()) {
        std::fprintf(
            stderr,
            "weft: runtime shut down with %llu task(s) still suspended; they were "
            "abandoned\n",
            static_cast<unsigned long long>(left));
    }
}

void print_detached_exception(const char* name, std::exception_ptr e) noexcept {
    std::string what = "unknown exception";
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        what = ex.what();
    } catch (...) {
    }
    std::fprintf(
        stderr,
        "weft: detached task '%s' ended with an exception: %s\n",
        name != nullptr ? name : "(unnamed)",
        what.c_str());
}

void scheduler::report_exception(const char* name, std::exception_ptr e) noexcept {
    if (opts_.on_detached_exception) {
        try {
            opts_.on_detached_exception(name, e);
            return;
        } catch (...) {
            std::fputs("weft: the detached-exception handler threw; ignoring\n", stderr);
            return;
        }
    }
    print_detached_exception(name, e);
}

metrics_snapshot scheduler::snapshot() const {
    metrics_snapshot s;
    for (const auto& w : workers_) {
        const worker_counters& c = w->counters_;
        worker_metrics m;
        m.tasks_run = c.tasks_run.load(std::memory_order_relaxed);
        m.spawned = c.spawned.load(std::memory_order_relaxed);
        m.stolen_by = c.stolen_by.load(std::memory_order_relaxed);
        m.stolen_from = c.stolen_from.load(std::memory_order_relaxed);
        m.parks = c.parks.load(std::memory_order_relaxed);
        m.global_pulls = c.global_pulls.load(std::memory_order_relaxed);
        m.budget_yields = c.budget_yields.load(std::memory_order_relaxed);
        m.yields = c.yields.load(std::memory_order_relaxed);
        m.timers_fired = c.timers_fired.load(std::memory_order_relaxed);
        m.long_polls = c.long_polls.load(std::memory_order_relaxed);
        m.local_queue_depth = w->queue_depth();
        s.workers.push_back(m);
    }
    std::int64_t g = global_len_.load(std::memory_order_relaxed);
    s.global_queue_depth = g > 0 ? static_cast<std::uint64_t>(g) : 0;
    s.injected = injected_.load(std::memory_order_relaxed);
    s.live_tasks = live_tasks();
    s.blocking_threads = blocking_.threads();
    return s;
}

} // namespace weft::detail

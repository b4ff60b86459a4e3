// The elastic thread pool behind spawn_blocking (Tokio's blocking pool: up to 512
// threads, 10 s keep-alive). Threads start on demand when no idle thread can take a job, and exit
// after keep_alive without work. Jobs are intrusive (they live in the awaiting coroutine's frame).
#pragma once

#include <weft/runtime/detail/blocking_job.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>

namespace weft::detail {

class blocking_pool {
public:
    /// `on_idle(ctx)` runs on a pool thread, outside the lock, each time the last job in flight
    /// has finished (the scheduler re-runs its deadlock check: a task woken by that job may have
    /// blocked for good while the job still counted as in flight).
    blocking_pool(
        std::size_t max_threads,
        std::chrono::milliseconds keep_alive,
        void (*on_idle)(void*) = nullptr,
        void* ctx = nullptr)
        : max_threads_(max_threads == 0 ? 1 : max_threads)
        , keep_alive_(keep_alive)
        , on_idle_(on_idle)
        , on_idle_ctx_(ctx) {}
    ~blocking_pool() { shutdown(); }

    void submit(blocking_job* job);
    /// Waits for every job and thread to finish. Further submits run inline on the caller.
    void shutdown();
    /// Jobs queued or running.
    std::size_t in_flight() const;
    std::size_t threads() const;

private:
    void thread_main();

    mutable std::mutex mu_;
    std::condition_variable work_cv_;
    std::condition_variable done_cv_;
    std::deque<blocking_job*> jobs_;
    std::size_t threads_ = 0;
    std::size_t idle_ = 0;
    std::size_t running_ = 0;
    bool closed_ = false;
    const std::size_t max_threads_;
    const std::chrono::milliseconds keep_alive_;
    void (*const on_idle_)(void*);
    void* const on_idle_ctx_;
};

} // namespace weft::detail

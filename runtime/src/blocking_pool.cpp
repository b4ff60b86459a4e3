// The spawn_blocking pool: see blocking_pool.hpp. A plain mutex + condition variable: jobs are
// blocking calls that take microseconds to seconds, so the queue is nowhere near a bottleneck.

#include "blocking_pool.hpp"

#include "scheduler.hpp"
#include "thread_signals.hpp"

#include <thread>

namespace weft::detail {

void blocking_pool::submit(blocking_job* job) {
    std::unique_lock lk(mu_);
    if (closed_) {
        lk.unlock();
        job->run(job); // the runtime is going away: run it here rather than lose it
        return;
    }
    jobs_.push_back(job);
    ++running_;
    if (idle_ > 0) {
        work_cv_.notify_one();
        return;
    }
    if (threads_ < max_threads_) {
        ++threads_;
        std::thread([this] { thread_main(); }).detach();
    }
}

void blocking_pool::thread_main() {
    block_async_signals_in_this_thread();
    std::unique_lock lk(mu_);
    for (;;) {
        while (jobs_.empty() && !closed_) {
            ++idle_;
            bool woke =
                work_cv_.wait_for(lk, keep_alive_, [&] { return !jobs_.empty() || closed_; });
            --idle_;
            if (!woke) {
                break; // kept alive long enough with nothing to do
            }
        }
        if (jobs_.empty()) {
            break;
        }
        blocking_job* job = jobs_.front();
        jobs_.pop_front();
        lk.unlock();
        job->run(job);
        lk.lock();
        --running_;
        if (running_ == 0) {
            done_cv_.notify_all();
            if (on_idle_ != nullptr) {
                // Outside the lock (the check reads in_flight()); shutdown() waits for this
                // thread to leave (threads_), so the scheduler is still there.
                lk.unlock();
                on_idle_(on_idle_ctx_);
                lk.lock();
            }
        }
    }
    --threads_;
    done_cv_.notify_all();
}

void blocking_pool::shutdown() {
    std::unique_lock lk(mu_);
    done_cv_.wait(lk, [&] { return running_ == 0; });
    closed_ = true;
    work_cv_.notify_all();
    done_cv_.wait(lk, [&] { return threads_ == 0; });
}

std::size_t blocking_pool::in_flight() const {
    std::lock_guard lk(mu_);
    return running_;
}

std::size_t blocking_pool::threads() const {
    std::lock_guard lk(mu_);
    return threads_;
}

void blocking_submit(blocking_job* job) {
    worker* w = tls_worker;
    if (w == nullptr) {
        job->run(job); // not on a runtime: the caller is a plain thread and may block
        return;
    }
    w->sched().blocking().submit(job);
}

} // namespace weft::detail

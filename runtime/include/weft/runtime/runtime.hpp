// The runtime: worker threads, their queues and timers, and the ways into it from plain threads.
//
//     int main() {
//         return weft::run([]() -> weft::task<int> {   // one worker per core
//             co_await weft::sleep_for(1ms);
//             co_return 0;
//         });
//     }
//
// weft::run(main) starts a runtime, runs `main` (a task, or a callable returning one) to
// completion, shuts the runtime down and returns main's result (or rethrows its exception).
//
// A weft::runtime object is for programs that keep one around: block_on(task) runs a task and
// waits for it from a plain thread; spawn(task) starts one from any thread. Both also take a
// callable returning a task plus its arguments, kept in the task's frame until it finishes, as
// weft::spawn does (spawn.hpp); runtime::spawn takes a name first: spawn(weft::named("x"), f).
//
// Worker count: runtime_options::workers, else the environment variable WEFT_WORKERS, else
// std::thread::hardware_concurrency().
//
// Shutdown (the destructor, or shutdown()): the runtime stops accepting spawns from outside,
// every pending and future sleep or other cancellable weft await of the tasks still alive completes
// at once with operation_canceled, and the workers keep running until every queue is empty, every
// timer is gone and the blocking pool is idle. Tasks that are then still suspended on something
// nothing can complete (a join of a task that waits forever, a channel nobody sends on) are
// abandoned and counted on stderr; their frames are not freed. Go abandons such goroutines too.
// Tasks that keep running after the stop (they ignore operation_canceled and loop) are given
// runtime_options::shutdown_grace, then reported and abandoned the same way.
// A later wake-up of an abandoned task from a plain thread (it sets an event the task waits on,
// or sends on its channel: the value goes to the abandoned task) is dropped, never run; for that
// the runtime keeps about 1.5 KiB after its destructor, and nothing else (no thread, descriptor
// or queue).
//
// Thread-safety: every member is callable from any thread that is not one of the runtime's own
// workers (block_on from a worker would block it, and aborts with a message).
#pragma once

#include <weft/runtime/metrics.hpp>
#include <weft/runtime/result.hpp>
#include <weft/runtime/spawn.hpp>
#include <weft/runtime/task.hpp>

#include <weft/runtime/detail/task_factory.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <system_error>
#include <type_traits>
#include <utility>

namespace weft {

namespace detail {
class scheduler; // runtime/src/scheduler.hpp
} // namespace detail

/// How a runtime is set up; every field has a default.
struct runtime_options {
    /// Worker threads; 0 means WEFT_WORKERS or the number of cores.
    std::size_t workers = 0;
    /// Upper bound on spawn_blocking threads (Tokio's default).
    std::size_t max_blocking_threads = 512;
    /// How long an idle spawn_blocking thread waits for work before it exits.
    std::chrono::milliseconds blocking_keep_alive{10'000};
    /// Called with a detached task's name (may be null) and exception. Default: print to stderr.
    /// Runs on the worker that finished the task; must not block.
    std::function<void(const char* task_name, std::exception_ptr)> on_detached_exception{};
    /// Report "all tasks are asleep - deadlock!" and fail block_on/run when every task is blocked
    /// on a weft primitive (join, channel, mutex...), no timer, I/O, blocking-pool job or queued
    /// work is left, and the process has no thread but the runtime's own and those in block_on:
    /// a plain thread (or another runtime) might still send, set an event or unlock a mutex, so
    /// while one exists nothing is reported; the check is repeated every 100 ms, so the deadlock
    /// is reported once the other threads have ended.
    bool detect_deadlock = true;
    /// How long shutdown waits, once it has asked every task to stop (every cancellable wait
    /// fails with operation_canceled), for the runtime to go idle. A task still running then (a
    /// loop that ignores the error and keeps going) is reported on stderr and abandoned with
    /// the runtime's other unfinished tasks, and shutdown returns. A task that never suspends at
    /// all (a loop with no co_await) cannot be stopped: stackless tasks are not pre-empted.
    std::chrono::milliseconds shutdown_grace{5'000};
};

/// A running set of worker threads; see the file comment.
class runtime {
public:
    explicit runtime(runtime_options opts = {});
    ~runtime();
    runtime(const runtime&) = delete;
    runtime& operator=(const runtime&) = delete;

    /// Runs `t` on the runtime and blocks the calling (non-worker) thread until it finishes.
    /// Returns its value or rethrows its exception. If the deadlock detector finds every task
    /// blocked with nothing left to wake one, it reports on stderr and block_on throws
    /// std::system_error(weft::errc::deadlock) instead of hanging (the task is abandoned).
    template <class T>
    T block_on(task<T> t);

    /// block_on(f(args...)), with `f` and `args` decay-copied into the task's frame, where they
    /// live until it finishes (as weft::spawn's callable form).
    template <class F, class... Args>
    requires detail::task_factory<F, Args...>
    auto block_on(F&& f, Args&&... args) {
        return block_on(detail::make_owning_task(std::forward<F>(f), std::forward<Args>(args)...));
    }

    /// Starts `t` from any thread; same semantics as weft::spawn.
    template <class T>
    join_handle<T> spawn(task<T> t, const char* name = nullptr);

    /// Starts `f(args...)` from any thread; same semantics as weft::spawn(f, args...).
    template <class F, class... Args>
    requires detail::task_factory<F, Args...>
    auto spawn(F&& f, Args&&... args) {
        return spawn(detail::make_owning_task(std::forward<F>(f), std::forward<Args>(args)...));
    }

    /// spawn(f, args...) with a name for the task.
    template <class F, class... Args>
    requires detail::task_factory<F, Args...>
    auto spawn(named n, F&& f, Args&&... args) {
        return spawn(
            detail::make_owning_task(std::forward<F>(f), std::forward<Args>(args)...), n.name);
    }

    /// Stops the runtime (see the file comment). Idempotent; the destructor calls it.
    void shutdown();

    /// Number of worker threads.
    std::size_t workers() const noexcept;

    /// A snapshot of the per-worker counters.
    metrics_snapshot metrics() const;

private:
    std::unique_ptr<detail::scheduler> sched_;
};

/// Starts a runtime, runs `main` to completion, shuts down, returns main's result.
/// `main` is a task or a callable (e.g. a coroutine lambda) returning one; the callable is moved
/// (or copied) into the task's frame and lives until the task finishes, as block_on's callable
/// form does, so a capturing lambda is safe here.
template <class Main>
requires detail::is_task_v<std::decay_t<Main>> || detail::task_factory<Main>
auto run(Main&& main, runtime_options opts = {}) {
    runtime rt(std::move(opts));
    return rt.block_on(std::forward<Main>(main));
}

/// Metrics of the runtime the calling worker belongs to (empty outside a runtime).
metrics_snapshot current_metrics();

/// Number of workers of the runtime the calling worker belongs to (0 outside a runtime).
std::size_t current_workers() noexcept;

// ---------------------------------------------------------------------------------------------
// Machinery: the ways into a scheduler from a plain thread, and the member templates built on
// them (runtime/src/join.cpp defines the two functions).

namespace detail {
bool block_until_done(scheduler& s, promise_base& p); // false: deadlock declared
void inject_spawn(scheduler& s, std::coroutine_handle<> h);
} // namespace detail

template <class T>
inline T runtime::block_on(task<T> t) {
    join_handle<T> h = spawn(std::move(t), "block_on");
    auto ch = h.release();
    if (!detail::block_until_done(*sched_, ch.promise())) {
        throw std::system_error(make_error_code(errc::deadlock), "weft::runtime::block_on");
    }
    struct destroy_on_exit {
        decltype(ch) h;
        ~destroy_on_exit() { detail::destroy_frame(h, h.promise()); }
    } guard{ch};
    return ch.promise().take();
}

template <class T>
inline join_handle<T> runtime::spawn(task<T> t, const char* name) {
    WEFT_ASSERT(t.valid(), "weft::runtime::spawn of an empty task");
    auto h = t.release();
    h.promise().name_ = name;
    detail::inject_spawn(*sched_, h);
    return join_handle<T>{h};
}

} // namespace weft

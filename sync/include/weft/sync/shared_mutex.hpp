// weft::sync::shared_mutex: a reader-writer lock for weft tasks (Go's sync.RWMutex, Tokio's
// RwLock) that suspends the task, never the worker thread.
//
//     weft::sync::shared_mutex rw;
//     { auto r = co_await rw.lock_shared(); if (r) read(table); }    // many readers at once
//     { auto w = co_await rw.lock();        if (w) write(table); }   // one writer, no readers
//
// Fairness: first come, first served (it is a FIFO semaphore of max_readers permits: a reader
// takes one, a writer takes them all). A writer that waits holds back every reader that arrives
// after it, so writers are never starved by a stream of readers (Go's RWMutex makes the same
// promise), and the readers queued behind a writer all get in together when it unlocks.
//
// Thread-safety: every member may be called concurrently from any task; unlock, unlock_shared
// and the try_ members also from plain threads. Locks are not tied to a task.
// Memory ordering: unlock() happens-before every later lock() and lock_shared(); unlock_shared()
// happens-before the next lock().
// Cancellation: a lock or lock_shared that has to wait completes with operation_canceled /
// timed_out when its task is cancelled, holding nothing; its place in the queue is given up (the
// readers behind a cancelled writer may get in at once). A lock granted at that same moment is
// kept.
// Which thread resumes the awaiter: the worker of the task that unlocked (or the runtime's global
// queue if a plain thread did); a lock taken at once does not suspend (unless the task's
// cooperative budget is spent: it then yields).
// Misuse aborts with a message: unlock() without the write lock held, unlock_shared() without a
// read lock held, destroying the mutex while tasks wait on it.
#pragma once

#include <weft/runtime/result.hpp>
#include <weft/sync/guard.hpp>
#include <weft/sync/semaphore.hpp>

#include <weft/runtime/detail/nodiscard.hpp>

#include <coroutine>
#include <cstdint>

namespace weft::sync {

namespace detail {
template <class Guard>
class rw_lock_awaitable;
} // namespace detail

/// A reader-writer lock; see the file comment.
class shared_mutex {
public:
    /// Readers that may hold the lock at once.
    static constexpr std::uint64_t max_readers = std::uint64_t{1} << 30;

    shared_mutex() noexcept
        : sem_(max_readers) {}
    shared_mutex(const shared_mutex&) = delete;
    shared_mutex& operator=(const shared_mutex&) = delete;

    /// `co_await rw.lock()`: result<unique_guard<shared_mutex>> (exclusive).
    detail::rw_lock_awaitable<unique_guard<shared_mutex>> lock() noexcept;
    /// `co_await rw.lock_shared()`: result<shared_guard<shared_mutex>>.
    detail::rw_lock_awaitable<shared_guard<shared_mutex>> lock_shared() noexcept;
    bool try_lock() noexcept { return sem_.try_acquire(max_readers); }
    bool try_lock_shared() noexcept { return sem_.try_acquire(1); }

    void unlock() noexcept {
        // With the write lock held no permit is free, and none can be taken or given back.
        WEFT_ASSERT(
            sem_.available() == 0,
            "weft::sync::shared_mutex: unlock() without the write lock held");
        sem_.release(max_readers);
    }
    void unlock_shared() noexcept {
        WEFT_ASSERT(
            sem_.available() < max_readers,
            "weft::sync::shared_mutex: unlock_shared() without a read lock held");
        sem_.release(1);
    }

private:
    semaphore sem_;
};

namespace detail {

/// co_await of lock() / lock_shared(): a semaphore acquire that yields a guard.
template <class Guard>
class WEFT_NODISCARD("a lock does nothing unless co_awaited") rw_lock_awaiter {
public:
    rw_lock_awaiter(semaphore* s, std::uint64_t n, shared_mutex* m) noexcept
        : inner_(s, n, weft::detail::blocked_on::mutex)
        , m_(m) {}
    rw_lock_awaiter(const rw_lock_awaiter&) = delete;
    rw_lock_awaiter& operator=(const rw_lock_awaiter&) = delete;

    bool await_ready() noexcept { return inner_.await_ready(); }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) noexcept {
        return inner_.await_suspend(h);
    }
    [[nodiscard]] result<Guard> await_resume() noexcept {
        result<void> r = inner_.await_resume();
        if (!r) {
            return r.error();
        }
        return Guard(*m_);
    }

private:
    acquire_awaiter inner_;
    shared_mutex* m_;
};

/// What lock() / lock_shared() return: co_await it (once).
template <class Guard>
class WEFT_NODISCARD("a lock does nothing unless co_awaited") rw_lock_awaitable {
public:
    rw_lock_awaitable(semaphore* s, std::uint64_t n, shared_mutex* m) noexcept
        : s_(s)
        , n_(n)
        , m_(m) {}
    rw_lock_awaiter<Guard> operator co_await() && noexcept {
        return rw_lock_awaiter<Guard>(s_, n_, m_);
    }

private:
    semaphore* s_;
    std::uint64_t n_;
    shared_mutex* m_;
};

} // namespace detail

inline detail::rw_lock_awaitable<unique_guard<shared_mutex>> shared_mutex::lock() noexcept {
    return {&sem_, max_readers, this};
}
inline detail::rw_lock_awaitable<shared_guard<shared_mutex>> shared_mutex::lock_shared() noexcept {
    return {&sem_, 1, this};
}

} // namespace weft::sync

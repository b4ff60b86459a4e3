// weft::sync::pool<T>: an async pool of at most N resources (connections, clients, buffers),
// made lazily by a factory and shared by any number of tasks (Go's database/sql pool).
//
//     weft::sync::pool<db_conn> conns(100, [] { return db_conn::connect("db:5432"); });
//     auto c = co_await conns.acquire(2s);       // result<pool<db_conn>::handle>
//     if (!c) co_return c.error();               // timed_out, operation_canceled, or the
//                                                // factory's own error
//     auto rows = co_await (*c)->query("...");
//     if (!rows) c->discard();                   // broken: destroyed, replaced on demand
//                                                // (else it returns to the pool with c)
//
// The factory is a callable returning weft::task<weft::result<T>>, kept in the pool (so a
// coroutine lambda with captures is safe here: its closure outlives every call). It is called
// when a task acquires and no idle resource is left while fewer than N exist. An idle resource
// is reused before a new one is made, the most recently returned first (the likeliest to be
// warm).
// Waiters are served first come, first served (a weft::sync::semaphore underneath). A handle
// returns its resource when destroyed; discard() destroys it instead and frees its slot.
//
// Errors lose nothing: a factory that fails (or throws) frees the slot it was making, and the
// acquirer gets its error (or exception); an acquire that is cancelled or times out while
// waiting or while the factory runs holds no slot afterwards. acquire(timeout) bounds the whole
// call, the factory included. metrics() reads in-use, idle, waiting and made counts at any time.
//
// Thread-safety: acquire() from tasks on any worker; handles may be returned from any task or
// thread. The pool must outlive its handles (destroying it with a handle out aborts with a
// message); destroying it destroys the idle resources.
#pragma once

#include <weft/runtime/result.hpp>
#include <weft/runtime/task.hpp>
#include <weft/runtime/with_timeout.hpp>
#include <weft/sync/semaphore.hpp>

#include <weft/runtime/detail/assert.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

namespace weft::sync {

/// What a pool holds right now.
struct pool_metrics {
    std::size_t in_use = 0;  ///< handles out
    std::size_t idle = 0;    ///< made and waiting in the pool
    std::size_t waiting = 0; ///< acquires waiting for a slot
    std::size_t made = 0;    ///< resources the factory has made over the pool's life
};

/// A pool of at most max_size resources of type T; see the file comment.
template <class T>
class pool {
public:
    using factory = std::function<task<result<T>>()>;

    /// A resource taken from the pool; gives it back when destroyed.
    class handle {
    public:
        handle(handle&& o) noexcept
            : p_(std::exchange(o.p_, nullptr))
            , v_(std::move(o.v_)) {}
        handle& operator=(handle&& o) noexcept {
            if (this != &o) {
                give_back();
                p_ = std::exchange(o.p_, nullptr);
                v_ = std::move(o.v_);
            }
            return *this;
        }
        ~handle() { give_back(); }

        T& operator*() noexcept { return *v_; }
        T* operator->() noexcept { return &*v_; }
        const T& operator*() const noexcept { return *v_; }
        const T* operator->() const noexcept { return &*v_; }

        /// The resource is broken: destroy it now and free its slot (a later acquire makes a
        /// new one). The handle is empty afterwards.
        void discard() noexcept {
            if (p_ != nullptr) {
                v_.reset();
                std::exchange(p_, nullptr)->release_slot(std::nullopt);
            }
        }

    private:
        friend class pool;
        handle(pool* p, T v)
            : p_(p)
            , v_(std::move(v)) {}
        void give_back() noexcept {
            if (p_ != nullptr) {
                std::exchange(p_, nullptr)->release_slot(std::move(v_));
                v_.reset();
            }
        }

        pool* p_;
        std::optional<T> v_;
    };

    /// At most max_size resources (at least 1), made by `make` on demand.
    pool(std::size_t max_size, factory make)
        : max_(max_size == 0 ? 1 : max_size)
        , make_(std::move(make))
        , slots_(max_) {
        WEFT_ASSERT(static_cast<bool>(make_), "weft::sync::pool needs a factory");
        idle_.reserve(max_); // so that returning a resource never allocates
    }
    pool(const pool&) = delete;
    pool& operator=(const pool&) = delete;
    ~pool() {
        WEFT_ASSERT(
            in_use_.load(std::memory_order_acquire) == 0,
            "weft::sync::pool destroyed while a handle is still out");
    }

    /// Waits for a slot, then takes an idle resource or makes one (see the file comment).
    [[nodiscard]] task<result<handle>> acquire() {
        waiting_.fetch_add(1, std::memory_order_relaxed);
        auto slot = co_await slots_.acquire();
        waiting_.fetch_sub(1, std::memory_order_relaxed);
        if (!slot) {
            co_return slot.error();
        }
        in_use_.fetch_add(1, std::memory_order_relaxed);
        if (std::optional<T> v = take_idle()) {
            co_return handle(this, std::move(*v));
        }
        // Make one. The slot is ours: give it back on every way out but success.
        struct slot_guard {
            pool* p;
            ~slot_guard() {
                if (p != nullptr) {
                    p->release_slot(std::nullopt);
                }
            }
        } guard{this};
        result<T> made = co_await make_();
        if (!made) {
            co_return made.error();
        }
        made_.fetch_add(1, std::memory_order_relaxed);
        guard.p = nullptr;
        co_return handle(this, std::move(*made));
    }

    /// acquire() bounded by `timeout` as a whole: timed_out when it passes first.
    template <class Rep, class Period>
    [[nodiscard]] task<result<handle>> acquire(std::chrono::duration<Rep, Period> timeout) {
        co_return co_await weft::with_timeout(timeout, acquire());
    }

    pool_metrics metrics() const {
        pool_metrics m;
        m.in_use = in_use_.load(std::memory_order_relaxed);
        m.waiting = waiting_.load(std::memory_order_relaxed);
        m.made = made_.load(std::memory_order_relaxed);
        std::lock_guard lk(mu_);
        m.idle = idle_.size();
        return m;
    }
    std::size_t max_size() const noexcept { return max_; }

private:
    std::optional<T> take_idle() {
        std::lock_guard lk(mu_);
        if (idle_.empty()) {
            return std::nullopt;
        }
        std::optional<T> v(std::move(idle_.back()));
        idle_.pop_back();
        return v;
    }

    // Returns a resource (or, for nullopt, a slot whose resource is gone) and wakes the next
    // waiter. Nothing touches the pool after the semaphore's release: the woken task may be the
    // last user before the pool is destroyed.
    void release_slot(std::optional<T> v) noexcept {
        if (v) {
            std::lock_guard lk(mu_);
            idle_.push_back(std::move(*v)); // capacity reserved: cannot throw
        }
        in_use_.fetch_sub(1, std::memory_order_release);
        slots_.release();
    }

    const std::size_t max_;
    factory make_;
    semaphore slots_;
    mutable std::mutex mu_; // idle_ only; never held across an await
    std::vector<T> idle_;
    std::atomic<std::size_t> in_use_{0}, waiting_{0}, made_{0};
};

} // namespace weft::sync

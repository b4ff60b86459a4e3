// The tiny lock inside every weft primitive and io descriptor state (Go's `lock(&c.lock)` in
// chan.go), and cpu_relax(), the one pause of every spin-wait loop in weft.
//
// Held only for a few dozen instructions (a ring-buffer slot, a list splice, never across a
// suspension or a call into user code), so a test-and-test-and-set spin is cheaper than a
// futex. A holder can still be descheduled by the OS (plain threads share the lock, and the
// machine may be oversubscribed), so after a bounded spin the waiter yields its time slice rather
// than burning it. Not a user-facing mutex: it blocks the thread.
#pragma once

#include <atomic>
#include <cstdint>

namespace weft::detail {

/// One pause of a spin-wait loop (the x86 PAUSE hint; a compiler barrier elsewhere).
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield" ::: "memory");
#else
    asm volatile("" ::: "memory");
#endif
}

/// Spin lock for short critical sections; see the file comment.
/// Memory ordering: unlock() happens-before the next lock() that acquires it (acquire/release).
class spin_lock {
public:
    void lock() noexcept {
        // acquire: pairs with unlock()'s release store.
        if (!locked_.exchange(true, std::memory_order_acquire)) [[likely]] {
            return;
        }
        lock_slow();
    }

    bool try_lock() noexcept {
        return !locked_.load(std::memory_order_relaxed) &&
               !locked_.exchange(true, std::memory_order_acquire);
    }

    void unlock() noexcept { locked_.store(false, std::memory_order_release); }

    /// True while someone holds the lock (a hint; for assertions and spinning decisions).
    bool is_locked() const noexcept { return locked_.load(std::memory_order_relaxed); }

private:
    void lock_slow() noexcept;

    // true while held. Written by lock()/unlock() of any thread; read by the same.
    std::atomic<bool> locked_{false};
};

/// RAII holder for a spin_lock (std::lock_guard would pull in <mutex>).
class spin_guard {
public:
    explicit spin_guard(spin_lock& l) noexcept
        : l_(l) {
        l_.lock();
    }
    ~spin_guard() { l_.unlock(); }
    spin_guard(const spin_guard&) = delete;
    spin_guard& operator=(const spin_guard&) = delete;

private:
    spin_lock& l_;
};

} // namespace weft::detail

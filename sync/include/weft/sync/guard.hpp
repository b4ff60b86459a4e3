// weft::sync::unique_guard and shared_guard: RAII ownership of a weft::sync lock.
//
//     auto g = co_await m.lock();        // result<unique_guard<mutex>>
//     if (!g) co_return g.error();       // cancelled or timed out while waiting
//     ++shared_counter;                  // locked until g goes out of scope (or g->unlock())
//
// A guard is what a successful lock() / lock_shared() yields: it unlocks when destroyed. Guards
// are movable, not copyable; unlock() releases early and release() gives ownership up without
// unlocking (the caller then unlocks the mutex itself).
// Thread-safety: a guard belongs to one task at a time; it may be moved to another task, and the
// lock released there (weft mutexes, like Go's, may be unlocked by a task other than the locker).
#pragma once

#include <weft/runtime/detail/assert.hpp>
#include <weft/runtime/detail/nodiscard.hpp>

#include <utility>

namespace weft::sync {

/// Exclusive ownership of `Mutex` (mutex, or shared_mutex locked with lock()).
template <class Mutex>
class WEFT_NODISCARD("a guard unlocks when it is destroyed: name it") unique_guard {
public:
    unique_guard() noexcept = default;
    /// Adopts a lock the caller holds.
    explicit unique_guard(Mutex& m) noexcept
        : m_(&m) {}
    unique_guard(unique_guard&& o) noexcept
        : m_(std::exchange(o.m_, nullptr)) {}
    unique_guard& operator=(unique_guard&& o) noexcept {
        if (this != &o) {
            reset();
            m_ = std::exchange(o.m_, nullptr);
        }
        return *this;
    }
    unique_guard(const unique_guard&) = delete;
    unique_guard& operator=(const unique_guard&) = delete;
    ~unique_guard() { reset(); }

    /// True while this guard holds the lock.
    bool owns_lock() const noexcept { return m_ != nullptr; }
    explicit operator bool() const noexcept { return m_ != nullptr; }
    /// The mutex held, or null.
    Mutex* mutex() const noexcept { return m_; }

    /// Unlocks now. Aborts if the guard holds nothing.
    void unlock() noexcept {
        WEFT_ASSERT(
            m_ != nullptr, "weft::sync::unique_guard::unlock on a guard that holds no lock");
        std::exchange(m_, nullptr)->unlock();
    }
    /// Gives up ownership without unlocking; returns the mutex (still locked).
    Mutex* release() noexcept { return std::exchange(m_, nullptr); }

private:
    void reset() noexcept {
        if (m_ != nullptr) {
            std::exchange(m_, nullptr)->unlock();
        }
    }
    Mutex* m_ = nullptr;
};

/// Shared (reader) ownership of `Mutex` (shared_mutex locked with lock_shared()).
template <class Mutex>
class WEFT_NODISCARD("a guard unlocks when it is destroyed: name it") shared_guard {
public:
    shared_guard() noexcept = default;
    /// Adopts a shared lock the caller holds.
    explicit shared_guard(Mutex& m) noexcept
        : m_(&m) {}
    shared_guard(shared_guard&& o) noexcept
        : m_(std::exchange(o.m_, nullptr)) {}
    shared_guard& operator=(shared_guard&& o) noexcept {
        if (this != &o) {
            reset();
            m_ = std::exchange(o.m_, nullptr);
        }
        return *this;
    }
    shared_guard(const shared_guard&) = delete;
    shared_guard& operator=(const shared_guard&) = delete;
    ~shared_guard() { reset(); }

    bool owns_lock() const noexcept { return m_ != nullptr; }
    explicit operator bool() const noexcept { return m_ != nullptr; }
    Mutex* mutex() const noexcept { return m_; }

    /// Unlocks now. Aborts if the guard holds nothing.
    void unlock() noexcept {
        WEFT_ASSERT(
            m_ != nullptr, "weft::sync::shared_guard::unlock on a guard that holds no lock");
        std::exchange(m_, nullptr)->unlock_shared();
    }
    Mutex* release() noexcept { return std::exchange(m_, nullptr); }

private:
    void reset() noexcept {
        if (m_ != nullptr) {
            std::exchange(m_, nullptr)->unlock_shared();
        }
    }
    Mutex* m_ = nullptr;
};

} // namespace weft::sync

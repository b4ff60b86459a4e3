// Per-task cancellation state: the flag a cancelled task's awaits look at, and the one "hook" an
// await that is suspended right now has armed so that a cancellation can cut it short.
//
// Every spawned task owns one cancel_state (in its promise). Tasks awaited inline share their
// spawner's. The protocol (see runtime/src/scheduler.cpp, "Cancellation"):
//   1. An await that can be cut short arms a hook before it suspends: arm() fails when the task is
//      already cancelled, and the await then completes at once with the cancellation error.
//   2. request() records the reason and, under the same tiny lock, fires the armed hook. The hook
//      resolves the race with the await's normal completion itself (a CAS on the waiter's state).
//   3. The resumed await disarms. Because disarm() takes the lock, a hook never runs on a waiter
//      that has already moved on: the waiter's memory is alive for as long as the hook runs.
#pragma once

#include <weft/runtime/detail/spin_lock.hpp>

#include <atomic>
#include <cstdint>
#include <system_error>

namespace weft::detail {

/// Why a task was asked to stop. Stored in cancel_state; turned into the error its awaits return.
enum class cancel_reason : std::uint32_t { none = 0, cancelled = 1, timed_out = 2 };

/// Armed by a suspended await; fire() must be short, must not block, and must not throw.
struct cancel_hook {
    void (*fire)(cancel_hook* self) noexcept;
};

class cancel_state {
public:
    /// True once cancellation was requested (a hint for loops; awaits use arm()). acquire: pairs
    /// with unlock()'s release after request() wrote the reason under the lock.
    bool requested() const noexcept { return (bits_.load(std::memory_order_acquire) >> 1) != 0; }

    /// The reason given to request(), none if not cancelled.
    cancel_reason reason() const noexcept {
        return static_cast<cancel_reason>(bits_.load(std::memory_order_acquire) >> 1);
    }

    /// The error a cancelled await returns: operation_canceled or timed_out.
    std::error_code error() const noexcept {
        return reason() == cancel_reason::timed_out
                   ? std::make_error_code(std::errc::timed_out)
                   : std::make_error_code(std::errc::operation_canceled);
    }

    /// Requests cancellation; fires the armed hook. Thread-safe; the first reason wins.
    /// Returns false if cancellation had already been requested.
    bool request(cancel_reason why) noexcept {
        lock();
        std::uint32_t b = bits_.load(std::memory_order_relaxed);
        if ((b >> 1) != 0) {
            unlock();
            return false;
        }
        bits_.store(b | (static_cast<std::uint32_t>(why) << 1), std::memory_order_relaxed);
        if (hook_ != nullptr) {
            hook_->fire(hook_);
        }
        unlock();
        return true;
    }

    /// Arms `h` for the coming suspension. False when already cancelled: do not suspend then.
    bool arm(cancel_hook* h) noexcept {
        lock();
        bool ok = (bits_.load(std::memory_order_relaxed) >> 1) == 0;
        if (ok) {
            hook_ = h;
        }
        unlock();
        return ok;
    }

    /// Disarms after resumption. Waits for a hook that is firing right now to finish.
    void disarm() noexcept {
        lock();
        hook_ = nullptr;
        unlock();
    }

private:
    void lock() noexcept {
        // Pairs with unlock()'s release: whoever takes the lock sees hook_ as the last holder left
        // it.
        while (bits_.fetch_or(1, std::memory_order_acquire) & 1) {
            while (bits_.load(std::memory_order_relaxed) & 1) {
                cpu_relax();
            }
        }
    }
    void unlock() noexcept { bits_.fetch_and(~std::uint32_t{1}, std::memory_order_release); }

    // bit 0: spin lock guarding hook_; bits 1..: cancel_reason. Written by request() (any thread)
    // and the lock holders; read by every await of the task.
    std::atomic<std::uint32_t> bits_{0};
    cancel_hook* hook_ = nullptr; // guarded by bit 0
};

} // namespace weft::detail

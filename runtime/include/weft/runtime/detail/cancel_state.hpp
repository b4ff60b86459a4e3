// Per-task cancellation state: the flag a cancelled task's awaits look at, and the one "hook" an
// await that is suspended right now has armed so that a cancellation can cut it short.
//
// Every spawned task owns one cancel_state (in its promise). Tasks awaited inline share their
// spawner's. The protocol (runtime/src/cancel.cpp has the model it serves):
//   1. An await that can be cut short arms a hook before it suspends: arm() fails when the task is
//      already cancelled, and the await then completes at once with the cancellation error.
//   2. request() records the reason and, with a firing bit set in the same word (the "lock" the
//      hooks' comments speak of), fires the armed hook. The hook resolves the race with the
//      await's normal completion itself (a CAS on the waiter's state).
//   3. The resumed await disarms. Because disarm() waits for the firing bit to clear, a hook never
//      runs on a waiter that has already moved on: its memory is alive for as long as the hook
//      runs.
//   A hook may request cancellation of another task (a join passes its joiner's cancellation to
//   the child it waits for): firing nests parent before child, never the other way round.
#pragma once

#include <weft/runtime/result.hpp>

#include <weft/runtime/detail/spin_lock.hpp>

#include <atomic>
#include <cstdint>
#include <system_error>

namespace weft::detail {

/// Why a task was asked to stop. Stored in cancel_state; turned into the error its awaits return.
enum class cancel_reason : std::uint32_t { none = 0, cancelled = 1, timed_out = 2 };

/// Bumped by every request() that cancels a state: lets a task skip the walk up its spawners when
/// nothing anywhere was cancelled since its spawner last looked (cancel_state::inherited_reason).
/// runtime/src/cancel.cpp.
extern std::atomic<std::uint32_t> cancel_epoch;

/// Armed by a suspended await; fire() must be short, must not block, and must not throw.
struct cancel_hook {
    void (*fire)(cancel_hook* self) noexcept;
};

class cancel_state {
public:
    /// True once cancellation was requested (a hint for loops; awaits use arm()). acquire: pairs
    /// with request()'s release of the reason.
    bool requested() const noexcept {
        return (word_.load(std::memory_order_acquire) & reason_mask) != 0;
    }

    /// The reason given to request(), none if not cancelled.
    cancel_reason reason() const noexcept {
        return static_cast<cancel_reason>(
            (word_.load(std::memory_order_acquire) & reason_mask) >> 1);
    }

    /// The error a cancelled await returns: weft::errc::canceled or weft::errc::timed_out (equal
    /// to std::errc::operation_canceled and std::errc::timed_out).
    std::error_code error() const noexcept { return error_for(reason()); }

    static std::error_code error_for(cancel_reason why) noexcept {
        return make_error_code(why == cancel_reason::timed_out ? errc::timed_out : errc::canceled);
    }

    /// Requests cancellation; fires the armed hook. Thread-safe; the first reason wins.
    /// Returns false if cancellation had already been requested.
    bool request(cancel_reason why) noexcept {
        std::uintptr_t w = word_.load(std::memory_order_relaxed);
        std::uintptr_t r = static_cast<std::uintptr_t>(why) << 1;
        for (;;) {
            if ((w & reason_mask) != 0) {
                return false;
            }
            // With a hook armed, take the firing bit too: disarm() waits until it is clear, so
            // the hook's memory stays alive while it runs. acq_rel: release publishes the reason,
            // acquire sees what the arming await wrote before arm().
            std::uintptr_t next = w | r | ((w & hook_mask) != 0 ? firing_bit : 0);
            if (word_.compare_exchange_weak(
                    w, next, std::memory_order_acq_rel, std::memory_order_relaxed)) {
                break;
            }
        }
        // After the reason: a task that sees the new epoch sees the reason too.
        cancel_epoch.fetch_add(1, std::memory_order_acq_rel);
        if (auto* h = reinterpret_cast<cancel_hook*>(w & hook_mask)) {
            h->fire(h);
            // release: what the hook wrote happens-before disarm()'s acquire.
            word_.fetch_and(~firing_bit, std::memory_order_release);
        }
        return true;
    }

    /// Arms `h` for the coming suspension. False when already cancelled: do not suspend then.
    /// One CAS: the word is empty unless a cancellation came first.
    bool arm(cancel_hook* h) noexcept {
        std::uintptr_t expected = 0;
        // release: what the await set up before arming is visible to a firing hook.
        return word_.compare_exchange_strong(
            expected,
            reinterpret_cast<std::uintptr_t>(h),
            std::memory_order_acq_rel,
            std::memory_order_acquire);
    }

    /// Disarms after resumption. Waits for a hook that is firing right now to finish.
    void disarm() noexcept {
        std::uintptr_t w = word_.load(std::memory_order_acquire);
        for (;;) {
            if ((w & firing_bit) != 0) {
                cpu_relax();
                w = word_.load(std::memory_order_acquire);
                continue;
            }
            // acquire on success: a hook that fired before (firing bit clear again) is finished.
            if (word_.compare_exchange_weak(
                    w, w & reason_mask, std::memory_order_acquire, std::memory_order_acquire)) {
                return;
            }
        }
    }

    // --- the link to the spawner (runtime/src/cancel.cpp, "Links") ---

    /// Links this (a spawned task's own state) to `spawner`, the state of the task chain that
    /// spawned it (which counts the link), and inherits what that chain last verified. On the
    /// spawner's thread, before the task runs.
    void link(cancel_state* spawner) noexcept {
        parent_.store(reinterpret_cast<std::uintptr_t>(spawner), std::memory_order_relaxed);
        verified_.store(
            spawner->verified_.load(std::memory_order_relaxed), std::memory_order_relaxed);
        ++spawner->links_;
    }

    /// The spawner's state, or null.
    cancel_state* parent() const noexcept {
        return reinterpret_cast<cancel_state*>(parent_.load(std::memory_order_relaxed));
    }

    /// The one test at a task's start: false when neither the task nor its spawner is cancelled
    /// and nothing anywhere was cancelled since its spawners were last seen clean.
    bool maybe_cancelled_at_start() const noexcept {
        if ((word_.load(std::memory_order_acquire) & reason_mask) != 0) {
            return true;
        }
        const cancel_state* up = parent();
        if (up == nullptr) {
            return false;
        }
        if ((up->word_.load(std::memory_order_acquire) & reason_mask) != 0) {
            return true;
        }
        return verified_.load(std::memory_order_relaxed) !=
               cancel_epoch.load(std::memory_order_acquire);
    }

    /// Why a spawner of this task (its spawner, that one's spawner, ...) was cancelled, or none.
    /// Its spawner is looked at every time; the rest only when some task anywhere was cancelled
    /// since this state's chain last looked (cancel_epoch). Safe because every link keeps its
    /// target alive (see cancel.cpp).
    cancel_reason inherited_reason() noexcept {
        const cancel_state* up = parent();
        if (up == nullptr) {
            return cancel_reason::none;
        }
        if (cancel_reason r = up->reason(); r != cancel_reason::none) {
            return r;
        }
        const std::uint32_t e = cancel_epoch.load(std::memory_order_acquire);
        if (verified_.load(std::memory_order_relaxed) == e) {
            return cancel_reason::none;
        }
        return walk_up(up->parent(), e);
    }

    // --- links into this state (runtime/src/cancel.cpp, "Links") ---

    /// Links from tasks this chain spawned that its own joins have not yet let go. Only this
    /// chain changes it (a chain runs on one thread at a time); read when its frame is freed.
    std::int32_t links_ = 0;
    /// Links let go elsewhere (decremented), plus zombie_bias and links_ once the frame was due
    /// to be freed: whoever brings it to zombie_bias frees the frame.
    std::atomic<std::int32_t> refs_{0};
    static constexpr std::int32_t zombie_bias = 1 << 30;

private:
    cancel_reason walk_up(const cancel_state* s, std::uint32_t e) noexcept {
        for (; s != nullptr; s = s->parent()) {
            if (cancel_reason r = s->reason(); r != cancel_reason::none) {
                return r;
            }
        }
        verified_.store(e, std::memory_order_relaxed);
        return cancel_reason::none;
    }

    // One word: the armed hook's address (hooks are at least 8-byte aligned, so its low three
    // bits are free), the reason (bits 1-2) and the firing bit (bit 0, set while request() runs
    // the hook). Arm and disarm are one CAS each, request one CAS plus one clear when a hook is
    // armed: the cost of a cancellable wait is two locked instructions.
    static constexpr std::uintptr_t firing_bit = 1;
    static constexpr std::uintptr_t reason_mask = 6;
    static constexpr std::uintptr_t hook_mask = ~std::uintptr_t{7};
    std::atomic<std::uintptr_t> word_{0};
    // The spawner's state (a plain weft::spawn child only). Written before the task runs; read
    // by the task and by whoever frees its frame.
    std::atomic<std::uintptr_t> parent_{0};
    std::atomic<std::uint32_t> verified_{0}; // cancel_epoch at which the spawners were clean
};

static_assert(alignof(cancel_hook) >= 8, "cancel_state keeps flags in a hook address's low bits");

} // namespace weft::detail

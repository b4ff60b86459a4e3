// weft::ticker: a tick every period (Go's time.Ticker, Tokio's interval).
//
//     weft::ticker t(100ms);                     // first tick 100 ms from now
//     for (;;) {
//         auto at = co_await t.tick();           // result<clock::time_point>: the scheduled time
//         if (!at) co_return at.error();         // cancelled, or the runtime shuts down
//         flush_metrics();
//     }
//
// tick() suspends the task until the next scheduled tick and yields that scheduled time (not
// the time it woke, which is never earlier and usually 50-100 us later). Ticks are due at
// start + period, start + 2 period, ... When the task falls behind (it took longer than a
// period between two ticks, or the machine was busy), the policy decides what happens to the
// ticks it missed, as in Tokio:
//   - missed_tick::burst (the default): the missed ticks come at once, back to back, until the
//     ticker has caught up; the schedule never drifts.
//   - missed_tick::delay: the next tick comes one period after the late one was taken; the
//     schedule shifts by the delay.
//   - missed_tick::skip: the missed ticks are dropped; the next one is the first due time of
//     the original schedule that is still in the future.
// A tick the task awaited in time is never missed, whatever the policy. reset() starts the
// schedule again from now (optionally with a new period).
//
// Cancellation: a cancelled task's tick completes at once with the cancellation error, as a
// sleep does (timer.hpp), and so does a tick at shutdown; the schedule is unchanged, so a later
// tick() is still due when it was. A period of zero or less is treated as 1 ns.
// Thread-safety: a ticker belongs to one task at a time; it must outlive the tick() it awaits.
#pragma once

#include <weft/runtime/result.hpp>
#include <weft/runtime/task.hpp>
#include <weft/runtime/timer.hpp>

#include <chrono>

namespace weft {

/// What a ticker does with the ticks it missed (see the file comment).
enum class missed_tick { burst, delay, skip };

namespace detail {
/// The due time of the tick after the one scheduled at `scheduled`, taken at `now`.
clock::time_point next_tick(
    clock::time_point scheduled,
    clock::time_point now,
    clock::duration period,
    missed_tick policy) noexcept;
} // namespace detail

/// A tick every period; see the file comment.
class ticker {
public:
    /// The first tick is due one period from now.
    explicit ticker(clock::duration period, missed_tick policy = missed_tick::burst) noexcept
        : ticker(clock::now() + fix(period), period, policy) {}
    /// The first tick is due at `first` (clock::now() for a tick at once, as Tokio's interval).
    ticker(
        clock::time_point first,
        clock::duration period,
        missed_tick policy = missed_tick::burst) noexcept
        : next_(first)
        , period_(fix(period))
        , policy_(policy) {}

    /// Waits for the next tick; yields its scheduled time.
    [[nodiscard]] task<result<clock::time_point>> tick() {
        auto slept = co_await sleep_until(next_);
        if (!slept) {
            co_return slept.error();
        }
        const clock::time_point scheduled = next_;
        next_ = detail::next_tick(scheduled, clock::now(), period_, policy_);
        co_return scheduled;
    }

    /// Starts the schedule again: the next tick is due one period from now.
    void reset() noexcept { next_ = clock::now() + period_; }
    /// The same with a new period.
    void reset(clock::duration period) noexcept {
        period_ = fix(period);
        reset();
    }

    clock::duration period() const noexcept { return period_; }
    missed_tick policy() const noexcept { return policy_; }
    /// When the next tick is due.
    clock::time_point next() const noexcept { return next_; }

private:
    static clock::duration fix(clock::duration d) noexcept {
        return d > clock::duration::zero() ? d : clock::duration(1);
    }

    clock::time_point next_;
    clock::duration period_;
    missed_tick policy_;
};

} // namespace weft

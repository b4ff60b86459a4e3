// The ticker's schedule: what comes after a tick, given when it was taken.
//
// A tick scheduled at s and taken at `now` was on time if the following due time, s + period,
// has not passed yet: then the next tick is s + period under every policy. Otherwise the task
// missed at least one tick, and the policy decides (Tokio's MissedTickBehavior is the model):
//   burst  s + period: already due, so the following tick() returns at once, and so on until the
//          schedule has caught up with the clock.
//   delay  now + period: the schedule moves to the time the late tick was taken.
//   skip   the first s + k period (k >= 1) later than now: the original grid, without the ticks
//          that fell in the past.
// Pure arithmetic on the clock's integer ticks, so the policies are tested without real time.

#include <weft/runtime/ticker.hpp>

namespace weft::detail {

clock::time_point next_tick(
    clock::time_point scheduled,
    clock::time_point now,
    clock::duration period,
    missed_tick policy) noexcept {
    const clock::time_point following = scheduled + period;
    if (now < following) {
        return following; // on time
    }
    switch (policy) {
    case missed_tick::burst:
        return following;
    case missed_tick::delay:
        return now + period;
    case missed_tick::skip:
        break;
    }
    // now >= scheduled + period: k = floor((now - scheduled) / period) + 1 > now.
    const auto behind = (now - scheduled) / period;
    return scheduled + (behind + 1) * period;
}

} // namespace weft::detail

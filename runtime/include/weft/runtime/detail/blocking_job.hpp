// A unit of work for the spawn_blocking pool: intrusive, lives in the awaiting coroutine's frame.
#pragma once

namespace weft::detail {

class scheduler;

struct blocking_job {
    void (*run)(blocking_job* self) noexcept; // runs the callable, then wakes the awaiter
};

/// Hands `job` to the blocking pool of the current worker's runtime.
void blocking_submit(blocking_job* job);

} // namespace weft::detail

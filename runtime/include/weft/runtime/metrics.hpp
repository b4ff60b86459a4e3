// Runtime metrics: a snapshot of per-worker counters.
//
//     std::cout << weft::current_metrics();   // or rt.metrics()
//
// Counters are written by their worker with relaxed atomics and read without stopping anything,
// so a snapshot taken while the runtime is busy is approximate (each counter is exact on its own).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <vector>

namespace weft {

struct worker_metrics {
    std::uint64_t tasks_run = 0;         ///< task resumptions from a queue
    std::uint64_t spawned = 0;           ///< tasks spawned by code running on this worker
    std::uint64_t stolen_by = 0;         ///< tasks this worker stole from others
    std::uint64_t stolen_from = 0;       ///< tasks others stole from this worker
    std::uint64_t parks = 0;             ///< times this worker went to sleep for lack of work
    std::uint64_t global_pulls = 0;      ///< tasks taken from the global injection queue
    std::uint64_t budget_yields = 0;     ///< forced yields when a task used up its budget
    std::uint64_t yields = 0;            ///< yield_now calls
    std::uint64_t timers_fired = 0;      ///< sleeps and deadlines that expired here
    std::uint64_t long_polls = 0;        ///< tasks seen running over 10 ms without an await
    std::uint64_t local_queue_depth = 0; ///< tasks queued at snapshot time
};

struct metrics_snapshot {
    std::vector<worker_metrics> workers;
    std::uint64_t global_queue_depth = 0;
    std::uint64_t injected = 0;         ///< tasks spawned from outside threads
    std::uint64_t live_tasks = 0;       ///< spawned and not yet finished (approximate while busy)
    std::uint64_t blocking_threads = 0; ///< threads in the spawn_blocking pool right now

    worker_metrics total() const noexcept;
};

/// Prints one line per worker and a total line.
std::ostream& operator<<(std::ostream& os, const metrics_snapshot& m);

} // namespace weft

// weft::runtime, the error category, metrics printing.

#include <weft/runtime/result.hpp>
#include <weft/runtime/runtime.hpp>

#include "scheduler.hpp"

#include <iomanip>
#include <mutex>
#include <new>
#include <ostream>
#include <vector>

namespace weft {

namespace {
class weft_error_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "weft"; }
    std::string message(int c) const override {
        switch (static_cast<errc>(c)) {
        case errc::channel_closed:
            return "channel closed";
        case errc::deadlock:
            return "deadlock: every task is blocked and nothing can wake one";
        case errc::runtime_stopped:
            return "runtime stopped";
        case errc::timed_out:
            return "timed out";
        case errc::canceled:
            return "operation canceled";
        }
        return "unknown weft error";
    }
    // weft's timeout and cancellation codes compare equal to std's conditions, so that code
    // written against std::errc::timed_out keeps working while the message reads "timed out"
    // (std's generic category says "Connection timed out", the text of ETIMEDOUT).
    std::error_condition default_error_condition(int c) const noexcept override {
        switch (static_cast<errc>(c)) {
        case errc::timed_out:
            return std::errc::timed_out;
        case errc::canceled:
            return std::errc::operation_canceled;
        default:
            return {c, *this};
        }
    }
};
} // namespace

const std::error_category& weft_category() noexcept {
    static const weft_error_category c;
    return c;
}

namespace {
// Every tombstone, so that they stay reachable: kept on purpose, not leaked (a leak checker
// agrees). Never freed.
std::mutex tombstones_mu;
std::vector<detail::scheduler*>* tombstones = nullptr; // guarded by tombstones_mu

void keep_tombstone(detail::scheduler* s) noexcept {
    std::lock_guard lk(tombstones_mu);
    try {
        if (tombstones == nullptr) {
            tombstones = new std::vector<detail::scheduler*>;
        }
        tombstones->push_back(s);
    } catch (const std::bad_alloc&) {
        // No memory to list it: it stays allocated all the same, only unlisted.
    }
}
} // namespace

runtime::runtime(runtime_options opts)
    : sched_(std::make_unique<detail::scheduler>(std::move(opts))) {
}

runtime::~runtime() {
    shutdown();
    if (sched_->live_tasks() != 0) {
        // Abandoned tasks still name the scheduler as their home: keep it as a tombstone that
        // drops their late wake-ups (scheduler.cpp, "Shutdown").
        sched_->become_tombstone();
        keep_tombstone(sched_.release());
    }
}

void runtime::shutdown() {
    WEFT_ASSERT(
        detail::tls_worker == nullptr || &detail::tls_worker->sched() != sched_.get(),
        "weft::runtime::shutdown called from one of its own workers");
    sched_->shutdown();
}

std::size_t runtime::workers() const noexcept {
    return sched_->num_workers();
}

metrics_snapshot runtime::metrics() const {
    return sched_->snapshot();
}

metrics_snapshot current_metrics() {
    if (detail::worker* w = detail::tls_worker) {
        return w->sched().snapshot();
    }
    return {};
}

std::size_t current_workers() noexcept {
    detail::worker* w = detail::tls_worker;
    return w != nullptr ? w->sched().num_workers() : 0;
}

worker_metrics metrics_snapshot::total() const noexcept {
    worker_metrics t;
    for (const auto& w : workers) {
        t.tasks_run += w.tasks_run;
        t.spawned += w.spawned;
        t.stolen_by += w.stolen_by;
        t.stolen_from += w.stolen_from;
        t.parks += w.parks;
        t.global_pulls += w.global_pulls;
        t.budget_yields += w.budget_yields;
        t.yields += w.yields;
        t.timers_fired += w.timers_fired;
        t.long_polls += w.long_polls;
        t.local_queue_depth += w.local_queue_depth;
    }
    return t;
}

std::ostream& operator<<(std::ostream& os, const metrics_snapshot& m) {
    auto row = [&os](const std::string& who, const worker_metrics& w) {
        os << std::left << std::setw(8) << who << std::right << " run=" << w.tasks_run
           << " spawned=" << w.spawned << " stole=" << w.stolen_by
           << " stolen_from=" << w.stolen_from << " parks=" << w.parks
           << " global=" << w.global_pulls << " budget_yields=" << w.budget_yields
           << " yields=" << w.yields << " timers=" << w.timers_fired
           << " long_polls=" << w.long_polls << " queued=" << w.local_queue_depth << '\n';
    };
    for (std::size_t i = 0; i < m.workers.size(); ++i) {
        row("worker" + std::to_string(i), m.workers[i]);
    }
    row("total", m.total());
    os << "global_queue=" << m.global_queue_depth << " injected=" << m.injected
       << " live_tasks=" << m.live_tasks << " blocking_threads=" << m.blocking_threads << '\n';
    return os;
}

} // namespace weft

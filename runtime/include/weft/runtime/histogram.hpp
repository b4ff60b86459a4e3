// weft::histogram: latency percentiles in fixed memory, recorded from any number of tasks and
// threads at once (HdrHistogram's log-linear layout, much reduced).
//
//     weft::histogram latency;                    // one per service, shared by every request
//     auto t0 = weft::clock::now();
//     co_await handle(rq);
//     latency.record(weft::clock::now() - t0);    // lock-free: a few relaxed atomic adds
//     ...
//     std::puts(latency.summary().c_str());       // n=120000 p50=212us p90=388us p99=1.02ms ...
//
// Values are nanoseconds from 0 to max_value (2^42 - 1 ns, about 73 minutes). Below 64 ns every
// value has its own bucket; above, each power of two is cut into 64 equal buckets, so a
// percentile is reported to within 1% of the true value (at most 1/128 of it: the middle of its
// bucket, kept within the recorded min and max). A negative value records as 0; a value above
// max_value records as max_value and is counted by clamped(). The whole histogram is 2,368
// counters (about 19 KB), whatever is recorded.
//
// Thread-safety: record() and the readers may run concurrently from any thread; a reader sees
// each record() whole or not at all per counter (a percentile taken during recording mixes
// slightly different moments, as any live metric does). merge() and reset() are for quiet
// moments or snapshots: they are not atomic as a whole.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

namespace weft {

/// A latency histogram; see the file comment.
class histogram {
public:
    /// The largest value kept as it is (nanoseconds): 2^42 - 1, about 73 minutes.
    static constexpr std::int64_t max_value = (std::int64_t{1} << 42) - 1;

    histogram() noexcept = default;
    histogram(const histogram&) = delete;
    histogram& operator=(const histogram&) = delete;

    /// Records one value in nanoseconds.
    void record(std::int64_t ns) noexcept;
    /// Records one duration.
    template <class Rep, class Period>
    void record(std::chrono::duration<Rep, Period> d) noexcept {
        record(static_cast<std::int64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()));
    }

    /// Adds every value recorded in `other` (as if recorded here too).
    void merge(const histogram& other) noexcept;
    /// Forgets everything recorded.
    void reset() noexcept;

    std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
    /// Values recorded above max_value (kept as max_value).
    std::uint64_t clamped() const noexcept { return clamped_.load(std::memory_order_relaxed); }
    /// The smallest and largest values recorded, exact; 0 when empty.
    std::int64_t min() const noexcept;
    std::int64_t max() const noexcept;
    /// The mean of the recorded values (exact sum); 0 when empty.
    double mean() const noexcept;
    /// The value below which `p` percent of the recorded values lie (nearest rank: p = 50 is the
    /// median, p = 100 the maximum, p = 0 the minimum), to within 1%; 0 when empty. p is
    /// clamped to [0, 100].
    std::int64_t percentile(double p) const noexcept;

    /// "n=N p50=.. p90=.. p99=.. p999=.. max=.." with units (ns, us, ms, s).
    std::string summary() const;

    // Layout, public for tests: the bucket of a value and the range a bucket covers.
    static constexpr std::size_t sub_buckets = 64;
    static constexpr std::size_t buckets = sub_buckets + (42 - 6) * sub_buckets;
    static std::size_t bucket_of(std::int64_t ns) noexcept;
    static std::int64_t bucket_low(std::size_t i) noexcept;   // smallest value in bucket i
    static std::int64_t bucket_width(std::size_t i) noexcept; // values in bucket i

private:
    std::atomic<std::uint64_t> counts_[buckets] = {};
    std::atomic<std::uint64_t> count_{0};
    std::atomic<std::uint64_t> clamped_{0};
    std::atomic<std::uint64_t> sum_hi_{0}, sum_lo_{0}; // the exact sum, as a 128-bit pair
    std::atomic<std::int64_t> min_{std::numeric_limits<std::int64_t>::max()};
    std::atomic<std::int64_t> max_{-1};
};

} // namespace weft

// The histogram's layout: log-linear buckets over 0 .. 2^42 - 1 ns.
//
// A value v < 64 is its own bucket (index v). Above, v lies in the octave [2^e, 2^(e+1)) for
// e = floor(log2 v) in 6..41, and that octave is cut into 64 buckets of width 2^(e-6): the bucket
// is named by the six bits below v's leading one. So
//     index(v) = 64 + (e - 6) * 64 + ((v >> (e - 6)) - 64)
// and bucket i >= 64 holds [(64 + s) << g, (65 + s) << g) with g = (i - 64) / 64, s = (i - 64)
// % 64. A bucket's width is at most 1/64 of its lowest value, so its middle is within 1/128 of
// every value in it: that bounds the error of a percentile (HdrHistogram calls this two significant
// digits; it uses the same layout with configurable precision).
//
// Recording is three or four relaxed atomic adds (the bucket, the count, the sum) plus a compare
// of min and max that rarely writes: no lock, and counters are exact, because every record lands
// on an atomic add.

#include <weft/runtime/histogram.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>

namespace weft {

std::size_t histogram::bucket_of(std::int64_t ns) noexcept {
    const auto v = static_cast<std::uint64_t>(std::clamp<std::int64_t>(ns, 0, max_value));
    if (v < sub_buckets) {
        return static_cast<std::size_t>(v);
    }
    const int e = std::bit_width(v) - 1; // 6..41
    const int g = e - 6;
    return sub_buckets + static_cast<std::size_t>(g) * sub_buckets +
           static_cast<std::size_t>((v >> g) - sub_buckets);
}

std::int64_t histogram::bucket_low(std::size_t i) noexcept {
    if (i < sub_buckets) {
        return static_cast<std::int64_t>(i);
    }
    const std::size_t g = (i - sub_buckets) / sub_buckets;
    const std::size_t s = (i - sub_buckets) % sub_buckets;
    return static_cast<std::int64_t>((sub_buckets + s) << g);
}

std::int64_t histogram::bucket_width(std::size_t i) noexcept {
    if (i < sub_buckets) {
        return 1;
    }
    return std::int64_t{1} << ((i - sub_buckets) / sub_buckets);
}

void histogram::record(std::int64_t ns) noexcept {
    if (ns < 0) {
        ns = 0;
    } else if (ns > max_value) {
        ns = max_value;
        clamped_.fetch_add(1, std::memory_order_relaxed);
    }
    counts_[bucket_of(ns)].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
    const auto u = static_cast<std::uint64_t>(ns);
    if (sum_lo_.fetch_add(u, std::memory_order_relaxed) + u < u) {
        sum_hi_.fetch_add(1, std::memory_order_relaxed); // carry out of the low word
    }
    std::int64_t m = min_.load(std::memory_order_relaxed);
    while (ns < m && !min_.compare_exchange_weak(m, ns, std::memory_order_relaxed)) {
    }
    m = max_.load(std::memory_order_relaxed);
    while (ns > m && !max_.compare_exchange_weak(m, ns, std::memory_order_relaxed)) {
    }
}

void histogram::merge(const histogram& other) noexcept {
    for (std::size_t i = 0; i < buckets; ++i) {
        if (const auto n = other.counts_[i].load(std::memory_order_relaxed); n != 0) {
            counts_[i].fetch_add(n, std::memory_order_relaxed);
        }
    }
    count_.fetch_add(other.count(), std::memory_order_relaxed);
    clamped_.fetch_add(other.clamped(), std::memory_order_relaxed);
    const auto lo = other.sum_lo_.load(std::memory_order_relaxed);
    std::uint64_t hi = other.sum_hi_.load(std::memory_order_relaxed);
    if (sum_lo_.fetch_add(lo, std::memory_order_relaxed) + lo < lo) {
        ++hi;
    }
    sum_hi_.fetch_add(hi, std::memory_order_relaxed);
    if (other.count() != 0) {
        const std::int64_t omin = other.min_.load(std::memory_order_relaxed);
        const std::int64_t omax = other.max_.load(std::memory_order_relaxed);
        std::int64_t m = min_.load(std::memory_order_relaxed);
        while (omin < m && !min_.compare_exchange_weak(m, omin, std::memory_order_relaxed)) {
        }
        m = max_.load(std::memory_order_relaxed);
        while (omax > m && !max_.compare_exchange_weak(m, omax, std::memory_order_relaxed)) {
        }
    }
}

void histogram::reset() noexcept {
    for (auto& c : counts_) {
        c.store(0, std::memory_order_relaxed);
    }
    count_.store(0, std::memory_order_relaxed);
    clamped_.store(0, std::memory_order_relaxed);
    sum_lo_.store(0, std::memory_order_relaxed);
    sum_hi_.store(0, std::memory_order_relaxed);
    min_.store(std::numeric_limits<std::int64_t>::max(), std::memory_order_relaxed);
    max_.store(-1, std::memory_order_relaxed);
}

std::int64_t histogram::min() const noexcept {
    return count() == 0 ? 0 : min_.load(std::memory_order_relaxed);
}

std::int64_t histogram::max() const noexcept {
    return count() == 0 ? 0 : max_.load(std::memory_order_relaxed);
}

double histogram::mean() const noexcept {
    const std::uint64_t n = count();
    if (n == 0) {
        return 0;
    }
    const long double sum =
        std::ldexp(static_cast<long double>(sum_hi_.load(std::memory_order_relaxed)), 64) +
        static_cast<long double>(sum_lo_.load(std::memory_order_relaxed));
    return static_cast<double>(sum / static_cast<long double>(n));
}

std::int64_t histogram::percentile(double p) const noexcept {
    const std::uint64_t n = count();
    if (n == 0) {
        return 0;
    }
    if (!(p > 0)) { // also NaN
        return min();
    }
    if (p >= 100) {
        return max();
    }
    // Nearest rank: the smallest value with at least ceil(p/100 * n) values at or below it.
    auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(n)));
    rank = std::clamp<std::uint64_t>(rank, 1, n);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets; ++i) {
        seen += counts_[i].load(std::memory_order_relaxed);
        if (seen >= rank) {
            const std::int64_t mid = bucket_low(i) + bucket_width(i) / 2;
            return std::clamp(mid, min(), max());
        }
    }
    return max(); // counts raced ahead of count_: the top
}

namespace {
void append_time(std::string& out, const char* label, std::int64_t ns) {
    char buf[48];
    const auto v = static_cast<double>(ns);
    if (ns < 1'000) {
        std::snprintf(buf, sizeof buf, " %s=%lldns", label, static_cast<long long>(ns));
    } else if (ns < 1'000'000) {
        std::snprintf(buf, sizeof buf, " %s=%.3gus", label, v / 1e3);
    } else if (ns < 1'000'000'000) {
        std::snprintf(buf, sizeof buf, " %s=%.3gms", label, v / 1e6);
    } else {
        std::snprintf(buf, sizeof buf, " %s=%.3gs", label, v / 1e9);
    }
    out += buf;
}
} // namespace

std::string histogram::summary() const {
    std::string out = "n=" + std::to_string(count());
    append_time(out, "p50", percentile(50));
    append_time(out, "p90", percentile(90));
    append_time(out, "p99", percentile(99));
    append_time(out, "p999", percentile(99.9));
    append_time(out, "max", max());
    return out;
}

} // namespace weft

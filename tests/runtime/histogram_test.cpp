// weft::histogram: percentiles against a sorted reference within the stated 1%, the bucket
// layout, edge values, merge, and exact counts under concurrent recording.
#include <weft/runtime/histogram.hpp>

#include "weft_test.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

using weft::histogram;
using namespace std::chrono_literals;

namespace {

/// Nearest rank, as histogram::percentile defines it, on a sorted vector.
std::int64_t reference(const std::vector<std::int64_t>& sorted, double p) {
    if (p <= 0) {
        return sorted.front();
    }
    auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
    rank = std::clamp<std::size_t>(rank, 1, sorted.size());
    return sorted[rank - 1];
}

/// Values spread evenly over the orders of magnitude from 1 ns to 1 h.
std::vector<std::int64_t> log_uniform(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> exp10(0.0, std::log10(3.6e12));
    std::vector<std::int64_t> v(n);
    for (auto& x : v) {
        x = static_cast<std::int64_t>(std::pow(10.0, exp10(rng)));
    }
    return v;
}

} // namespace

TEST_CASE("every value lands in the bucket that covers it", "[runtime][histogram]") {
    std::vector<std::int64_t> probes = {
        0,
        1,
        63,
        64,
        65,
        127,
        128,
        129,
        1000,
        999'999,
        histogram::max_value - 1,
        histogram::max_value};
    for (auto x : log_uniform(2000, 7)) {
        probes.push_back(x);
    }
    for (std::int64_t v : probes) {
        const std::size_t i = histogram::bucket_of(v);
        INFO("value " << v << " bucket " << i);
        REQUIRE(i < histogram::buckets);
        CHECK(histogram::bucket_low(i) <= v);
        CHECK(v < histogram::bucket_low(i) + histogram::bucket_width(i));
        // A bucket is at most 1/64 of its lowest value wide: the 1% bound rests on it.
        CHECK(
            histogram::bucket_width(i) * 64 <=
            std::max<std::int64_t>(histogram::bucket_low(i), 64));
    }
    CHECK(histogram::bucket_of(histogram::max_value) == histogram::buckets - 1);
    // Consecutive buckets tile the range with no gap.
    for (std::size_t i = 0; i + 1 < histogram::buckets; ++i) {
        REQUIRE(
            histogram::bucket_low(i) + histogram::bucket_width(i) == histogram::bucket_low(i + 1));
    }
}

TEST_CASE("percentiles are within 1% of the exact ones", "[runtime][histogram]") {
    auto values = log_uniform(100'000, 42);
    histogram h;
    for (auto v : values) {
        h.record(v);
    }
    std::sort(values.begin(), values.end());
    CHECK(h.count() == values.size());
    CHECK(h.min() == values.front());
    CHECK(h.max() == values.back());
    for (double p : {0.0, 0.1, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
        const double want = static_cast<double>(reference(values, p));
        const double got = static_cast<double>(h.percentile(p));
        INFO("p" << p << " want " << want << " got " << got);
        CHECK(std::abs(got - want) <= want / 100.0 + 0.5);
    }
    long double sum = 0;
    for (auto v : values) {
        sum += static_cast<long double>(v);
    }
    const double mean = static_cast<double>(sum / static_cast<long double>(values.size()));
    CHECK(h.mean() == Approx(mean).epsilon(1e-9));
}

TEST_CASE("small values are exact, and edges clamp and are counted", "[runtime][histogram]") {
    histogram h;
    CHECK(h.count() == 0);
    CHECK(h.percentile(50) == 0);
    CHECK(h.min() == 0);
    CHECK(h.max() == 0);
    CHECK(h.mean() == 0);
    for (std::int64_t v = 0; v < 64; ++v) {
        h.record(v);
    }
    CHECK(h.percentile(50) == 31); // rank 32 of 0..63
    CHECK(h.percentile(100) == 63);
    h.record(-5); // records as 0
    CHECK(h.min() == 0);
    h.record(2 * histogram::max_value);
    h.record(std::chrono::hours(100)); // also beyond 73 minutes
    CHECK(h.clamped() == 2);
    CHECK(h.max() == histogram::max_value);
    CHECK(h.count() == 67);
    h.record(3ms);
    CHECK(h.percentile(100) == histogram::max_value);
    h.reset();
    CHECK(h.count() == 0);
    CHECK(h.clamped() == 0);
    CHECK(h.percentile(99) == 0);
}

TEST_CASE("merge is the same as recording both", "[runtime][histogram]") {
    const auto a = log_uniform(5000, 1);
    const auto b = log_uniform(7000, 2);
    histogram ha, hb, both;
    for (auto v : a) {
        ha.record(v);
        both.record(v);
    }
    for (auto v : b) {
        hb.record(v);
        both.record(v);
    }
    ha.merge(hb);
    CHECK(ha.count() == both.count());
    CHECK(ha.min() == both.min());
    CHECK(ha.max() == both.max());
    CHECK(ha.mean() == Approx(both.mean()).epsilon(1e-12));
    for (double p : {1.0, 50.0, 90.0, 99.0, 99.9}) {
        CHECK(ha.percentile(p) == both.percentile(p));
    }
    histogram empty;
    ha.merge(empty);
    CHECK(ha.count() == both.count());
    CHECK(ha.min() == both.min());
}

TEST_CASE("concurrent records from many threads are all counted", "[runtime][histogram][stress]") {
    // Four threads record the same known sequence: every count is exact, nothing is lost.
    const int per_thread = weft::testing::under_sanitizer ? 20'000 : 200'000;
    histogram h;
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; ++t) {
        ts.emplace_back([&h, n = per_thread, t] {
            for (int i = 0; i < n; ++i) {
                h.record(std::int64_t{i % 1000} * 1000 + t); // 0 .. ~1 ms
            }
        });
    }
    for (auto& t : ts) {
        t.join();
    }
    CHECK(h.count() == 4u * static_cast<unsigned>(per_thread));
    CHECK(h.min() == 0);
    CHECK(h.max() == 999'003);
    histogram one;
    for (int t = 0; t < 4; ++t) {
        for (int i = 0; i < per_thread; ++i) {
            one.record(std::int64_t{i % 1000} * 1000 + t);
        }
    }
    for (double p : {10.0, 50.0, 99.0}) {
        CHECK(h.percentile(p) == one.percentile(p));
    }
    CHECK(h.mean() == Approx(one.mean()).epsilon(1e-12));
}

TEST_CASE("summary prints the count and the percentiles with units", "[runtime][histogram]") {
    histogram h;
    for (int i = 1; i <= 1000; ++i) {
        h.record(std::chrono::microseconds(i));
    }
    const std::string s = h.summary();
    INFO(s);
    CHECK(s.rfind("n=1000 p50=", 0) == 0);
    // 500 us falls in the bucket [499712, 503808) ns, whose middle is 501.76 us: 0.35% off.
    CHECK(s.find("p50=502us") != std::string::npos);
    CHECK(s.find(" max=1ms") != std::string::npos);
}

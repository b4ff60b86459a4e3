// weft::for_each: bounded fan-out over a range; the first failure cancels the rest.

#include <weft/runtime.hpp>
#include <weft/runtime/for_each.hpp>

#include "weft_test.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <numeric>
#include <ranges>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

using weft::task;
using weft::testing::test_error;
using namespace std::chrono_literals;

namespace {

// The sanitizers make each child 10-50 times dearer: the million-element test runs fewer there.
using weft::testing::under_sanitizer;

/// A level and its high-water mark, updated concurrently.
struct gauge {
    std::atomic<int> now{0};
    std::atomic<int> peak{0};
    void enter() {
        int v = now.fetch_add(1) + 1;
        int p = peak.load();
        while (v > p && !peak.compare_exchange_weak(p, v)) {
        }
    }
    void leave() { now.fetch_sub(1); }
};

/// Counts itself in a gauge for as long as it lives. As a coroutine's by-value parameter it
/// lives exactly as long as the coroutine's frame.
class frame_token {
public:
    explicit frame_token(gauge& g)
        : g_(&g) {
        g_->enter();
    }
    frame_token(frame_token&& o) noexcept
        : g_(std::exchange(o.g_, nullptr)) {}
    frame_token& operator=(frame_token&&) = delete;
    ~frame_token() {
        if (g_ != nullptr) {
            g_->leave();
        }
    }

private:
    gauge* g_;
};

/// A child that runs for a few yields, counted in `running` meanwhile, and counts its element.
task<> busy_child(gauge& running, std::atomic<int>& seen, int yields) {
    running.enter();
    for (int i = 0; i < yields; ++i) {
        co_await weft::yield_now();
    }
    seen.fetch_add(1);
    running.leave();
}

/// What the children that sleep for an hour observed.
struct sleepers {
    std::atomic<int> started{0};
    std::atomic<int> finished{0};
    std::atomic<int> cancelled{0};
    std::atomic<int> timed_out{0};
};

task<weft::result<void>> sleep_an_hour(sleepers& s) {
    s.started.fetch_add(1);
    auto r = co_await weft::sleep_for(1h);
    if (r.error() == std::errc::operation_canceled) {
        s.cancelled.fetch_add(1);
    } else if (r.error() == std::errc::timed_out) {
        s.timed_out.fetch_add(1);
    }
    s.finished.fetch_add(1);
    co_return r;
}

task<> sleep_an_hour_void(sleepers& s) {
    (void)co_await sleep_an_hour(s);
}

/// The ints [0, n), yielded by value as std::views::iota does (which clang 14 cannot compile
/// against libstdc++ 12's <ranges>).
struct counting_range {
    struct iterator {
        using value_type = int;
        using difference_type = std::ptrdiff_t;
        int i = 0;
        int operator*() const { return i; }
        iterator& operator++() {
            ++i;
            return *this;
        }
        iterator operator++(int) { return {i++}; }
        bool operator==(const iterator&) const = default;
    };
    int n;
    iterator begin() const { return {0}; }
    iterator end() const { return {n}; }
};
static_assert(std::ranges::input_range<counting_range>);

std::vector<int> iota_vector(int n) {
    std::vector<int> v(static_cast<std::size_t>(n));
    std::iota(v.begin(), v.end(), 0);
    return v;
}

} // namespace

TEST_CASE(
    "for_each runs fn once per element and never has more than limit children running",
    "[runtime][for_each]") {
    for (std::size_t limit : {std::size_t{1}, std::size_t{3}, std::size_t{8}, std::size_t{64}}) {
        INFO("limit " << limit);
        std::vector<int> items = iota_vector(2000);
        std::vector<std::atomic<int>> calls(items.size());
        gauge running;
        std::atomic<int> seen{0};
        auto r = weft::run(
            [&]() -> task<weft::result<void>> {
                co_return co_await weft::for_each(items, limit, [&](int& i) -> task<> {
                    calls[static_cast<std::size_t>(i)].fetch_add(1);
                    co_await busy_child(running, seen, i % 4);
                });
            },
            weft::runtime_options{.workers = weft::testing::test_workers(4)});
        CHECK(r.has_value());
        CHECK(seen.load() == 2000);
        CHECK(running.now.load() == 0);
        CHECK(running.peak.load() >= 1);
        CHECK(running.peak.load() <= static_cast<int>(limit));
        int wrong = 0;
        for (auto& c : calls) {
            wrong += c.load() != 1;
        }
        CHECK(wrong == 0);
    }
}

TEST_CASE("for_each with limit 1 runs the elements one at a time in order", "[runtime][for_each]") {
    std::vector<int> order;
    gauge running;
    weft::run(
        [&]() -> task<int> {
            std::vector<int> items = iota_vector(100);
            (void)co_await weft::for_each(items, 1, [&](int i) -> task<> {
                running.enter();
                co_await weft::yield_now();
                order.push_back(i); // one child at a time: no race
                running.leave();
            });
            co_return 0;
        },
        weft::runtime_options{.workers = weft::testing::test_workers(4)});
    CHECK(order == iota_vector(100));
    CHECK(running.peak.load() == 1);
}

TEST_CASE(
    "the first exception cancels the children in flight, starts no more, and is rethrown once "
    "all have ended",
    "[runtime][for_each]") {
    sleepers s;
    std::atomic<int> later{0}; // children of elements after the failing one that started
    int code = weft::run(
        [&]() -> task<int> {
            std::vector<int> items = iota_vector(1000);
            try {
                (void)co_await weft::for_each(items, 4, [&](int i) -> task<> {
                    if (i < 3) {
                        co_await sleep_an_hour_void(s);
                    } else if (i == 3) {
                        // Fail once the three sleepers are asleep.
                        co_await weft::testing::yield_until([&] { return s.started == 3; });
                        throw test_error(7);
                    } else {
                        later.fetch_add(1);
                    }
                });
            } catch (const test_error& e) {
                co_return s.finished.load() == 3 ? e.code : -e.code;
            }
            co_return -1;
        },
        weft::runtime_options{.workers = weft::testing::test_workers(4)});
    CHECK(code == 7);
    CHECK(s.cancelled.load() == 3);
    CHECK(later.load() == 0);
}

TEST_CASE(
    "an error result is a failure: it cancels the others and is returned", "[runtime][for_each]") {
    sleepers s;
    std::atomic<int> later{0};
    auto [r, finished] = weft::run(
        [&]() -> task<std::pair<weft::result<void>, int>> {
            std::vector<int> items = iota_vector(1000);
            auto res = co_await weft::for_each(items, 4, [&](int i) -> task<weft::result<void>> {
                if (i < 3) {
                    co_return co_await sleep_an_hour(s);
                }
                if (i == 3) {
                    co_await weft::testing::yield_until([&] { return s.started == 3; });
                    co_return std::errc::io_error;
                }
                later.fetch_add(1);
                co_return weft::result<void>{};
            });
            co_return std::pair{res, s.finished.load()};
        },
        weft::runtime_options{.workers = weft::testing::test_workers(4)});
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == std::errc::io_error); // not the others' operation_canceled
    CHECK(finished == 3);
    CHECK(s.cancelled.load() == 3);
    CHECK(later.load() == 0);
}

TEST_CASE(
    "fn throwing instead of returning a task is a failure: the earlier children are cancelled",
    "[runtime][for_each]") {
    sleepers s;
    std::atomic<int> calls{0};
    int code = weft::run(
        [&]() -> task<int> {
            std::vector<int> items = iota_vector(100);
            try {
                (void)co_await weft::for_each(items, 8, [&](int i) -> task<> {
                    calls.fetch_add(1);
                    if (i == 2) {
                        throw test_error(3); // before any task exists
                    }
                    return sleep_an_hour_void(s);
                });
            } catch (const test_error& e) {
                co_return e.code;
            }
            co_return -1;
        },
        weft::runtime_options{.workers = weft::testing::test_workers(2)});
    CHECK(code == 3);
    CHECK(calls.load() == 3);
    // The two earlier children were cancelled: one that had not started yet never runs, one
    // that had finished its sleep cut short.
    CHECK(s.started.load() <= 2);
    CHECK(s.finished.load() == s.started.load());
    CHECK(s.cancelled.load() == s.started.load());
}

TEST_CASE("a million elements at limit 64 hold at most 64 child frames", "[runtime][for_each]") {
    const int n = under_sanitizer ? 100'000 : 1'000'000;
    std::vector<int> items(static_cast<std::size_t>(n), 1);
    gauge frames;
    std::atomic<long> sum{0};
    auto child = [](frame_token, std::atomic<long>& total, int v) -> task<> {
        total.fetch_add(v, std::memory_order_relaxed);
        co_return;
    };
    auto r = weft::run(
        [&]() -> task<weft::result<void>> {
            co_return co_await weft::for_each(
                items, 64, [&](int& v) { return child(frame_token{frames}, sum, v); });
        },
        weft::runtime_options{.workers = weft::testing::test_workers(4)});
    CHECK(r.has_value());
    CHECK(sum.load() == n);
    CHECK(frames.now.load() == 0);
    CHECK(frames.peak.load() <= 64);
    CHECK(frames.peak.load() >= 1);
}

TEST_CASE("limit 0 throws std::invalid_argument from the call", "[runtime][for_each]") {
    std::vector<int> items{1, 2, 3};
    auto fn = [](int&) -> task<> { co_return; };
    CHECK_THROWS_AS((void)weft::for_each(items, 0, fn), std::invalid_argument);
    bool threw = weft::run(
        [&]() -> task<bool> {
            try {
                (void)co_await weft::for_each(items, 0, fn);
            } catch (const std::invalid_argument&) {
                co_return true;
            }
            co_return false;
        },
        weft::runtime_options{.workers = weft::testing::one_worker});
    CHECK(threw);
}

TEST_CASE("for_each over an empty range returns at once", "[runtime][for_each]") {
    std::atomic<int> calls{0};
    auto r = weft::run(
        [&]() -> task<weft::result<void>> {
            std::vector<int> none;
            co_return co_await weft::for_each(none, 4, [&](int&) -> task<> {
                calls.fetch_add(1);
                co_return;
            });
        },
        weft::runtime_options{.workers = weft::testing::one_worker});
    CHECK(r.has_value());
    CHECK(calls.load() == 0);
}

TEST_CASE(
    "cancelling the awaiting task cancels the children and starts no more", "[runtime][for_each]") {
    sleepers s;
    weft::runtime rt(weft::runtime_options{.workers = weft::testing::test_workers(2)});
    auto h = rt.spawn([](sleepers& sl) -> task<weft::result<void>> {
        std::vector<int> items = iota_vector(100);
        co_return co_await weft::for_each(items, 4, [&](int&) { return sleep_an_hour_void(sl); });
    }(s));
    REQUIRE(weft::testing::wait_until([&] { return s.started.load() == 4; }));
    h.cancel();
    auto r = rt.block_on([](weft::join_handle<weft::result<void>> j) -> task<weft::result<void>> {
        co_return co_await j;
    }(std::move(h)));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == std::errc::operation_canceled); // 96 elements never started
    CHECK(s.started.load() == 4);
    CHECK(s.cancelled.load() == 4);
}

TEST_CASE("shutdown stops a for_each that is still running", "[runtime][for_each]") {
    sleepers s;
    weft::run(
        [&]() -> task<int> {
            weft::go([](sleepers& sl) -> task<> {
                std::vector<int> items = iota_vector(1000);
                (void)co_await weft::for_each(
                    items, 2, [&](int&) { return sleep_an_hour_void(sl); });
            }(s));
            co_await weft::testing::yield_until([&] { return s.started.load() == 2; });
            co_return 0; // shutdown: the sleeps end at once, and no further child starts
        },
        weft::runtime_options{.workers = weft::testing::test_workers(2)});
    CHECK(s.started.load() == 2);
    CHECK(s.finished.load() == 2);
    CHECK(s.cancelled.load() == 2);
}

TEST_CASE("for_each under with_timeout: the children see timed_out", "[runtime][for_each]") {
    sleepers s;
    auto r = weft::run(
        [&]() -> task<weft::result<void>> {
            std::vector<int> items = iota_vector(10);
            co_return co_await weft::with_timeout(
                20ms, weft::for_each(items, 2, [&](int&) { return sleep_an_hour_void(s); }));
        },
        weft::runtime_options{.workers = weft::testing::test_workers(2)});
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == std::errc::timed_out);
    CHECK(s.started.load() == 2);
    CHECK(s.timed_out.load() == 2);
}

TEST_CASE(
    "a range yielding values, an rvalue range and a temporary callable live as long as the call",
    "[runtime][for_each]") {
    std::atomic<long> from_view{0}, from_vector{0};
    weft::run(
        [&]() -> task<int> {
            // Each element is a temporary: for_each keeps it alive for its child.
            (void)co_await weft::for_each(counting_range{200}, 8, [&](const int& i) -> task<> {
                co_await weft::yield_now();
                from_view.fetch_add(i);
            });
            // The task is created here and awaited later: the moved-in vector and the
            // callable (with its capture) live in it.
            auto t = weft::for_each(
                iota_vector(200),
                8,
                [&total = from_vector, bonus = std::make_unique<int>(1)](int& i) -> task<> {
                    co_await weft::yield_now();
                    total.fetch_add(i + *bonus);
                });
            (void)co_await std::move(t);
            co_return 0;
        },
        weft::runtime_options{.workers = weft::testing::test_workers(4)});
    CHECK(from_view.load() == 199 * 200 / 2);
    CHECK(from_vector.load() == 199 * 200 / 2 + 200);
}

TEST_CASE("stress: for_each with failures at random places", "[.][stress][runtime][for_each]") {
    const int iters = weft::testing::stress_iters(200);
    for (int i = 0; i < iters; ++i) {
        std::size_t workers = weft::testing::test_workers(2 + static_cast<std::size_t>(i % 7));
        const std::uint64_t rnd = weft::testing::splitmix64(static_cast<std::uint64_t>(i));
        const std::size_t limit = 1 + rnd % 16;
        const int fail_at = static_cast<int>((rnd >> 8) % 300);
        INFO(
            "iteration " << i << ", " << workers << " workers, limit " << limit << ", fail at "
                         << fail_at);
        gauge running, frames;
        auto child = [](frame_token, gauge& run, int v, int at) -> task<> {
            run.enter();
            for (int y = 0; y < v % 3; ++y) {
                co_await weft::yield_now();
            }
            run.leave();
            if (v == at) {
                throw test_error(v);
            }
        };
        int code = weft::run(
            [&]() -> task<int> {
                std::vector<int> items = iota_vector(300);
                try {
                    (void)co_await weft::for_each(items, limit, [&](int& v) {
                        return child(frame_token{frames}, running, v, fail_at);
                    });
                } catch (const test_error& e) {
                    co_return frames.now.load() == 0 ? e.code : -1;
                }
                co_return -2;
            },
            weft::runtime_options{.workers = workers});
        REQUIRE(code == fail_at);
        REQUIRE(running.peak.load() <= static_cast<int>(limit));
        REQUIRE(frames.peak.load() <= static_cast<int>(limit));
    }
}

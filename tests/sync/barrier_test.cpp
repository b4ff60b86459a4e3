// weft::sync::barrier: phases, exactly one leader per phase, happens-before across a phase, a
// cancelled waiter withdraws its arrival, arrive_and_drop, misuse.
#include <weft/runtime.hpp>
#include <weft/sync.hpp>

#include "sync_test.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <system_error>
#include <vector>

using weft::join_handle;
using weft::task;
using weft::sync::barrier;
using weft::testing::run_on;
using namespace std::chrono_literals;

namespace {

struct phase_state {
    std::vector<int> cells; // cell i written by task i before each arrival
    std::atomic<int> leaders{0};
    std::atomic<bool> stale{false};
};

task<int> participant(barrier* b, phase_state* s, int id, int n, int rounds) {
    for (int round = 1; round <= rounds; ++round) {
        s->cells[static_cast<std::size_t>(id)] = round;
        auto r = co_await b->arrive_and_wait();
        if (!r) {
            co_return 1;
        }
        if (*r) {
            s->leaders.fetch_add(1);
        }
        for (int k = 0; k < n; ++k) { // everyone's write for this round is visible
            if (s->cells[static_cast<std::size_t>(k)] < round) {
                s->stale.store(true);
            }
        }
        auto r2 = co_await b->arrive_and_wait(); // nobody writes round+1 before all have read
        if (!r2) {
            co_return 1;
        }
    }
    co_return 0;
}

} // namespace

TEST_CASE("a barrier releases each phase together, with one leader per phase", "[sync][barrier]") {
    constexpr int n = 8;
    constexpr int rounds = 50;
    phase_state s;
    s.cells.assign(n, 0);
    run_on(weft::testing::test_workers(2), [&]() -> task<> {
        barrier b(n);
        std::vector<join_handle<int>> hs;
        for (int i = 0; i < n; ++i) {
            hs.push_back(weft::spawn(participant(&b, &s, i, n, rounds)));
        }
        int bad = 0;
        for (auto& h : hs) {
            bad += co_await h;
        }
        CHECK(bad == 0);
    });
    CHECK(s.leaders.load() == rounds);
    CHECK_FALSE(s.stale.load());
}

TEST_CASE("a cancelled waiter withdraws its arrival", "[sync][barrier]") {
    run_on(weft::testing::test_workers(2), []() -> task<> {
        barrier b(2);
        auto h = weft::spawn([](barrier* br) -> task<std::error_code> {
            auto r = co_await br->arrive_and_wait();
            co_return r ? std::error_code{} : r.error();
        }(&b));
        co_await weft::sleep_for(2ms);
        h.cancel();
        const std::error_code ec = co_await h;
        CHECK(ec == std::errc::operation_canceled);
        // The phase still needs two arrivals: a lone arrival waits (until the timeout).
        auto lone = co_await weft::with_timeout(3ms, [](barrier* br) -> task<weft::result<bool>> {
            co_return co_await br->arrive_and_wait();
        }(&b));
        CHECK(lone.error() == std::errc::timed_out);
    });
}

TEST_CASE("arrive_and_drop completes the phase and shrinks the next ones", "[sync][barrier]") {
    run_on(weft::testing::test_workers(2), []() -> task<> {
        barrier b(2);
        auto h = weft::spawn([](barrier* br) -> task<int> {
            auto r1 = co_await br->arrive_and_wait(); // completed by the drop below
            auto r2 = co_await br->arrive_and_wait(); // alone now: leader at once
            co_return r1&& r2&&* r2 ? 0 : 1;
        }(&b));
        co_await weft::sleep_for(2ms);
        b.arrive_and_drop();
        const int r = co_await h;
        CHECK(r == 0);
    });
}

TEST_CASE("misuse: a barrier of zero tasks aborts with a message", "[sync][barrier][death]") {
    auto out = weft::testing::run_in_child([] { barrier b(0); });
    CHECK(out.died());
    CHECK(out.err.find("barrier needs a count of at least 1") != std::string::npos);
}

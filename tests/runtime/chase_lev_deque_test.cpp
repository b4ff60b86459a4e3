// The work-stealing deque (runtime/src/chase_lev_deque.hpp), tested directly: push_many keeps
// order and grows past several doublings at once, and under thieves every item pushed one by one
// or in batches is taken exactly once.
#include "chase_lev_deque.hpp"
#include "weft_test.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

using weft::detail::chase_lev_deque;

namespace {

void* item(std::size_t v) {
    return reinterpret_cast<void*>(static_cast<std::uintptr_t>(v + 1)); // never null
}
std::size_t value(void* p) {
    return static_cast<std::size_t>(reinterpret_cast<std::uintptr_t>(p)) - 1;
}

} // namespace

TEST_CASE("push_many grows by several doublings and keeps the order", "[runtime][deque]") {
    chase_lev_deque d(2); // 4 slots
    d.push(item(0));
    d.push_many(100, [](std::size_t i) { return item(i + 1); }); // 101 live: 4 -> 128
    d.push_many(0, [](std::size_t) { return item(0); });         // nothing
    REQUIRE(d.size() == 101);
    CHECK(value(d.steal()) == 0); // thieves take the oldest
    for (std::size_t i = 100; i >= 1; --i) {
        REQUIRE(value(d.pop()) == i); // the owner the newest
    }
    CHECK(d.pop() == nullptr);
    CHECK(d.steal() == nullptr);
}

TEST_CASE(
    "batches and single pushes under thieves: every item taken once", "[runtime][deque][stress]") {
    const int rounds = weft::testing::stress_iters(200);
    constexpr std::size_t per_round = 1000;
    const std::size_t total = static_cast<std::size_t>(rounds) * per_round;
    std::vector<std::atomic<int>> taken(total);
    chase_lev_deque d(3);
    std::atomic<bool> done{false};
    auto take = [&](void* p) {
        if (p != nullptr) {
            taken[value(p)].fetch_add(1, std::memory_order_relaxed);
        }
    };
    std::vector<std::thread> thieves;
    for (int t = 0; t < 2; ++t) {
        thieves.emplace_back([&] {
            while (!done.load(std::memory_order_acquire)) {
                take(d.steal());
            }
        });
    }
    std::size_t next = 0;
    for (int r = 0; r < rounds; ++r) {
        // A batch of random size (0..499), one single push, another batch; then pop some.
        const std::size_t a = static_cast<std::size_t>(
            weft::testing::splitmix64(static_cast<std::uint64_t>(r)) % 500);
        d.push_many(a, [&](std::size_t i) { return item(next + i); });
        next += a;
        d.push(item(next++));
        const std::size_t b = per_round - a - 1;
        d.push_many(b, [&](std::size_t i) { return item(next + i); });
        next += b;
        for (int k = 0; k < 300; ++k) {
            take(d.pop());
        }
    }
    while (void* p = d.pop()) {
        take(p);
    }
    done.store(true, std::memory_order_release);
    for (auto& t : thieves) {
        t.join();
    }
    take(d.steal()); // a thief may have lost the last race to the owner: nothing left either way
    REQUIRE(next == total);
    std::size_t wrong = 0;
    for (auto& c : taken) {
        wrong += c.load() != 1 ? 1 : 0;
    }
    CHECK(wrong == 0);
}

// The worker's timer queue (runtime/src/timer_queue.hpp: a sorted run plus a 4-ary heap), checked
// against a reference model under random pushes (in order and out of order), removals and pops.
#include "timer_queue.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

using weft::detail::timer_node;
using weft::detail::timer_queue;

namespace {

struct model {
    timer_queue q;
    std::vector<std::unique_ptr<timer_node>> nodes;
    std::vector<timer_node*> linked; // what the queue should hold

    timer_node* push(std::int64_t deadline) {
        nodes.push_back(std::make_unique<timer_node>());
        timer_node* n = nodes.back().get();
        n->deadline_ns = deadline;
        q.push(n);
        linked.push_back(n);
        return n;
    }
    void remove_at(std::size_t i) {
        timer_node* n = linked[i];
        q.remove(n);
        CHECK(n->queue_pos == ~0u);
        linked.erase(linked.begin() + static_cast<std::ptrdiff_t>(i));
    }
    std::int64_t min_deadline() const {
        std::int64_t m = INT64_MAX;
        for (timer_node* n : linked) {
            m = std::min(m, n->deadline_ns);
        }
        return m;
    }
    void pop_and_check() {
        REQUIRE_FALSE(q.empty());
        const std::int64_t want = min_deadline();
        REQUIRE(q.next_deadline() == want);
        timer_node* top = q.top();
        timer_node* n = q.pop();
        REQUIRE(n == top);
        REQUIRE(n->deadline_ns == want);
        CHECK(n->queue_pos == ~0u);
        auto it = std::find(linked.begin(), linked.end(), n);
        REQUIRE(it != linked.end()); // popped something that was linked, exactly once
        linked.erase(it);
    }
};

} // namespace

TEST_CASE("timers pushed in deadline order pop in that order", "[runtime][timer]") {
    model m;
    for (int i = 0; i < 5000; ++i) {
        m.push(1000 + i / 3); // equal deadlines too
    }
    CHECK(m.q.size() == 5000);
    std::int64_t last = 0;
    while (!m.q.empty()) {
        std::int64_t d = m.q.next_deadline();
        CHECK(d >= last);
        last = d;
        m.pop_and_check();
    }
    CHECK(m.q.size() == 0);
}

TEST_CASE(
    "a stream of cancelled in-order timers is removed without leaving any behind",
    "[runtime][timer]") {
    // The with_timeout pattern: every request registers a 30 s timeout and cancels it soon.
    model m;
    timer_node* keeper = m.push(5);
    for (int i = 0; i < 100'000; ++i) {
        m.push(1'000'000 + i);
        m.remove_at(m.linked.size() - 1);
        if (i % 1000 == 0) {
            m.push(2'000'000 + i); // a few stay
        }
    }
    CHECK(m.q.size() == m.linked.size());
    CHECK(m.q.top() == keeper);
    while (!m.q.empty()) {
        m.pop_and_check();
    }
    CHECK(m.linked.empty());
}

TEST_CASE("random pushes, removals and pops match a reference model", "[runtime][timer]") {
    std::mt19937_64 rng(GENERATE(1u, 2u, 3u, 42u, 1234u));
    model m;
    std::int64_t clock = 0;
    for (int step = 0; step < 20'000; ++step) {
        const unsigned op = static_cast<unsigned>(rng() % 10);
        if (op < 5) {
            // Mostly in order (same duration from a moving clock), sometimes earlier or later.
            std::int64_t d = clock + 100;
            if (rng() % 4 == 0) {
                d = clock + static_cast<std::int64_t>(rng() % 200);
            }
            m.push(d);
            clock += static_cast<std::int64_t>(rng() % 3);
        } else if (op < 8 && !m.linked.empty()) {
            m.remove_at(static_cast<std::size_t>(rng() % m.linked.size()));
        } else if (!m.linked.empty()) {
            m.pop_and_check();
        }
        REQUIRE(m.q.size() == m.linked.size());
        REQUIRE(m.q.empty() == m.linked.empty());
        if (!m.linked.empty()) {
            REQUIRE(m.q.next_deadline() == m.min_deadline());
        }
    }
    while (!m.q.empty()) {
        m.pop_and_check();
    }
}

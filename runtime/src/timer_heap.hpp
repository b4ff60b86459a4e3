// A worker's timers: a binary min-heap of intrusive timer_nodes ordered by deadline.
//
// Each node records its index, so removal (a cancelled sleep) is O(log n) without a search.
// Only the owner worker touches the heap; other threads reach it through the worker's inbox
// (see timer_node.hpp). A hierarchical wheel (Tokio, Kafka) makes insertion O(1); with 100,000
// concurrent sleeps the heap costs about 17 comparisons per insertion and is simpler: measured in
// bench `sleep_timers` before anything cleverer is tried.
#pragma once

#include <weft/runtime/detail/timer_node.hpp>

#include <cstdint>
#include <vector>

namespace weft::detail {

class timer_heap {
public:
    bool empty() const noexcept { return heap_.empty(); }
    std::size_t size() const noexcept { return heap_.size(); }
    /// Deadline of the earliest timer; only when !empty().
    std::int64_t next_deadline() const noexcept { return heap_.front()->deadline_ns; }
    timer_node* top() const noexcept { return heap_.front(); }

    void push(timer_node* n) {
        n->heap_index = static_cast<std::uint32_t>(heap_.size());
        heap_.push_back(n);
        sift_up(n->heap_index);
    }

    /// Removes `n` (which must be in this heap).
    void remove(timer_node* n) noexcept {
        std::uint32_t i = n->heap_index;
        std::uint32_t last = static_cast<std::uint32_t>(heap_.size() - 1);
        n->heap_index = ~0u;
        if (i != last) {
            heap_[i] = heap_[last];
            heap_[i]->heap_index = i;
            heap_.pop_back();
            if (!sift_up(i)) {
                sift_down(i);
            }
        } else {
            heap_.pop_back();
        }
    }

    timer_node* pop() noexcept {
        timer_node* n = heap_.front();
        remove(n);
        return n;
    }

private:
    bool sift_up(std::uint32_t i) noexcept {
        timer_node* n = heap_[i];
        bool moved = false;
        while (i > 0) {
            std::uint32_t parent = (i - 1) / 2;
            if (heap_[parent]->deadline_ns <= n->deadline_ns) {
                break;
            }
            heap_[i] = heap_[parent];
            heap_[i]->heap_index = i;
            i = parent;
            moved = true;
        }
        heap_[i] = n;
        n->heap_index = i;
        return moved;
    }
    void sift_down(std::uint32_t i) noexcept {
        std::uint32_t size = static_cast<std::uint32_t>(heap_.size());
        timer_node* n = heap_[i];
        for (;;) {
            std::uint32_t child = 2 * i + 1;
            if (child >= size) {
                break;
            }
            if (child + 1 < size && heap_[child + 1]->deadline_ns < heap_[child]->deadline_ns) {
                ++child;
            }
            if (heap_[child]->deadline_ns >= n->deadline_ns) {
                break;
            }
            heap_[i] = heap_[child];
            heap_[i]->heap_index = i;
            i = child;
        }
        heap_[i] = n;
        n->heap_index = i;
    }

    std::vector<timer_node*> heap_;
};

} // namespace weft::detail

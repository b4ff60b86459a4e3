// A worker's timers: a 4-ary min-heap of {deadline, node} entries.
//
// Each node records its index, so removal (a cancelled sleep) is O(log n) without a search.
// Only the owner worker touches the heap; other threads reach it through the worker's inbox
// (see timer_node.hpp).
//
// Why this shape: bench `sleep_timers` (100,000 tasks sleeping 1 ms) spent a fifth of its time
// popping a binary heap of node pointers, because every comparison dereferenced a node in some
// coroutine frame (a cache miss) at each of 17 levels. Entries now carry their deadline, so
// comparisons stay inside the heap array, and four children per node halve the depth (Go's
// timer heap is 4-ary for the same reason, runtime/time.go). What still touches nodes is the
// heap_index update of each entry that moves. A hierarchical wheel (Tokio) would make insertion
// O(1) too; measure before trying it.
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
    std::int64_t next_deadline() const noexcept { return heap_.front().deadline; }
    timer_node* top() const noexcept { return heap_.front().node; }

    void push(timer_node* n) {
        heap_.push_back({n->deadline_ns, n});
        sift_up(static_cast<std::uint32_t>(heap_.size() - 1));
    }

    /// Removes `n` (which must be in this heap).
    void remove(timer_node* n) noexcept {
        std::uint32_t i = n->heap_index;
        std::uint32_t last = static_cast<std::uint32_t>(heap_.size() - 1);
        n->heap_index = ~0u;
        if (i != last) {
            heap_[i] = heap_[last];
            heap_.pop_back();
            if (i > 0 && heap_[i].deadline < heap_[(i - 1) / arity].deadline) {
                sift_up(i);
            } else {
                sift_down(i);
            }
        } else {
            heap_.pop_back();
        }
    }

    timer_node* pop() noexcept {
        timer_node* n = heap_.front().node;
        remove(n);
        return n;
    }

private:
    static constexpr std::uint32_t arity = 4;

    struct entry {
        std::int64_t deadline;
        timer_node* node;
    };

    void place(std::uint32_t i, entry e) noexcept {
        heap_[i] = e;
        e.node->heap_index = i;
    }

    void sift_up(std::uint32_t i) noexcept {
        entry e = heap_[i];
        while (i > 0) {
            std::uint32_t parent = (i - 1) / arity;
            if (heap_[parent].deadline <= e.deadline) {
                break;
            }
            place(i, heap_[parent]);
            i = parent;
        }
        place(i, e);
    }

    void sift_down(std::uint32_t i) noexcept {
        const std::uint32_t size = static_cast<std::uint32_t>(heap_.size());
        entry e = heap_[i];
        for (;;) {
            std::uint32_t first = i * arity + 1;
            if (first >= size) {
                break;
            }
            std::uint32_t best = first;
            std::uint32_t end = first + arity < size ? first + arity : size;
            for (std::uint32_t c = first + 1; c < end; ++c) {
                if (heap_[c].deadline < heap_[best].deadline) {
                    best = c;
                }
            }
            if (heap_[best].deadline >= e.deadline) {
                break;
            }
            place(i, heap_[best]);
            i = best;
        }
        place(i, e);
    }

    std::vector<entry> heap_;
};

} // namespace weft::detail

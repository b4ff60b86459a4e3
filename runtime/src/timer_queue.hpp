// A worker's timers: a sorted run for timers that arrive in deadline order, and a 4-ary min-heap
// of {deadline, node} entries for the rest.
//
// Each node records where it is (heap index, or run sequence number), so removal (a cancelled
// sleep) needs no search. Only the owner worker touches this structure; other threads reach it
// through the worker's inbox (see timer_node.hpp).
//
// Why this shape: most timers arrive in deadline order, because a program uses the same few
// durations (every request's 30 s timeout, every poller's 1 ms sleep), and a timer registered
// later with the same duration is due later. Those are appended to the sorted run: insertion,
// expiry and cancellation are O(1), and nothing is written into the nodes (in coroutine frames
// all over memory) after registration. A cancelled run entry becomes a tombstone; tombstones at
// the front are skipped, and the run is compacted once tombstones outnumber live entries, so a
// stream of cancelled timeouts costs amortised O(1) and bounded memory. A timer that would break
// the order goes to the heap. Bench `sleep_timers` (100,000 tasks sleeping 1 ms) spent 15% of its
// time in heap pops (each moved entry writes its node's index: a cache miss per level) before the
// run existed. The heap keeps deadlines in its entries, so comparisons stay inside the array, and
// four children per node halve the depth (Go's timer heap is 4-ary for the same reason,
// runtime/time.go). Tokio's hierarchical wheel is the other answer; the sorted run gets its O(1)
// for the common case without the wheel's coarse resolution.
#pragma once

#include <weft/runtime/detail/timer_node.hpp>

#include <cstdint>
#include <vector>

namespace weft::detail {

class timer_queue {
public:
    bool empty() const noexcept { return heap_.empty() && run_live_ == 0; }
    std::size_t size() const noexcept { return heap_.size() + run_live_; }
    /// Deadline of the earliest timer; only when !empty().
    std::int64_t next_deadline() const noexcept {
        if (run_first()) {
            return run_[run_head_].deadline;
        }
        return heap_.front().deadline;
    }
    timer_node* top() const noexcept {
        return run_first() ? run_[run_head_].node : heap_.front().node;
    }

    void push(timer_node* n) {
        if (run_.size() == run_head_ || run_.back().deadline <= n->deadline_ns) {
            n->queue_pos =
                run_tag | ((run_base_ + static_cast<std::uint32_t>(run_.size())) & seq_mask);
            run_.push_back({n->deadline_ns, n});
            ++run_live_;
            return;
        }
        heap_.push_back({n->deadline_ns, n});
        sift_up(static_cast<std::uint32_t>(heap_.size() - 1));
    }

    /// Removes `n` (which must be linked here).
    void remove(timer_node* n) noexcept {
        if ((n->queue_pos & run_tag) != 0) {
            std::size_t i = ((n->queue_pos & seq_mask) - run_base_) & seq_mask;
            n->queue_pos = ~0u;
            run_[i].node = nullptr; // tombstone (its deadline keeps the run sorted)
            --run_live_;
            run_trim();
            return;
        }
        heap_remove(n);
    }

    timer_node* pop() noexcept {
        if (run_first()) {
            timer_node* n = run_[run_head_].node;
            n->queue_pos = ~0u;
            run_[run_head_].node = nullptr;
            --run_live_;
            run_trim();
            return n;
        }
        timer_node* n = heap_.front().node;
        heap_remove(n);
        return n;
    }

private:
    static constexpr std::uint32_t arity = 4;
    // queue_pos of a run entry: run_tag | its sequence number (30 bits, so ~0u stays free).
    static constexpr std::uint32_t run_tag = 0x80000000u;
    static constexpr std::uint32_t seq_mask = 0x3fffffffu;

    struct entry {
        std::int64_t deadline;
        timer_node* node; // nullptr: a tombstone in the run
    };

    /// True when the earliest timer is the run's first entry.
    bool run_first() const noexcept {
        return run_live_ != 0 &&
               (heap_.empty() || run_[run_head_].deadline <= heap_.front().deadline);
    }

    /// Restores the run's invariants: with live entries, run_[run_head_] is live; dead space is
    /// reclaimed in amortised O(1) per removal.
    void run_trim() noexcept {
        while (run_head_ < run_.size() && run_[run_head_].node == nullptr) {
            ++run_head_;
        }
        if (run_live_ == 0) {
            run_base_ = (run_base_ + static_cast<std::uint32_t>(run_.size())) & seq_mask;
            run_.clear();
            run_head_ = 0;
            return;
        }
        const std::size_t span = run_.size() - run_head_;
        if (span > 64 && span > 2 * run_live_) {
            // More tombstones than live entries: move the live ones to the front, renumbered.
            std::size_t j = 0;
            for (std::size_t i = run_head_; i < run_.size(); ++i) {
                if (run_[i].node != nullptr) {
                    run_[i].node->queue_pos =
                        run_tag | ((run_base_ + static_cast<std::uint32_t>(j)) & seq_mask);
                    run_[j++] = run_[i];
                }
            }
            run_.resize(j);
            run_head_ = 0;
        } else if (run_head_ > 1024 && run_head_ > run_.size() / 2) {
            run_.erase(run_.begin(), run_.begin() + static_cast<std::ptrdiff_t>(run_head_));
            run_base_ = (run_base_ + static_cast<std::uint32_t>(run_head_)) & seq_mask;
            run_head_ = 0;
        }
    }

    void heap_remove(timer_node* n) noexcept {
        std::uint32_t i = n->queue_pos;
        std::uint32_t last = static_cast<std::uint32_t>(heap_.size() - 1);
        n->queue_pos = ~0u;
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

    void place(std::uint32_t i, entry e) noexcept {
        heap_[i] = e;
        e.node->queue_pos = i;
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
    std::vector<entry> run_;     // sorted by deadline; [run_head_, size) holds the live entries
    std::size_t run_head_ = 0;   // first entry not yet popped
    std::size_t run_live_ = 0;   // entries in run_ that are not tombstones
    std::uint32_t run_base_ = 0; // sequence number (30 bits) of run_[0]
};

} // namespace weft::detail

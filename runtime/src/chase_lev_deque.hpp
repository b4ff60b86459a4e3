// A growable Chase-Lev work-stealing deque of coroutine handles (owner LIFO, thieves FIFO).
//
// The owner pushes and pops at the bottom; thieves take from the top with one CAS. This is the
// deque of Chase & Lev, "Dynamic Circular Work-Stealing Deque" (SPAA 2005), with the C11 orderings
// of Le, Pop, Cohen & Zappa Nardelli, "Correct and Efficient Work-Stealing for Weak Memory Models"
// (PPoPP 2013). We use seq_cst operations where the paper uses seq_cst fences: the same code on
// x86 (a locked instruction either way), and ThreadSanitizer understands operations but not fences.
//
// Growth: when full, the owner copies the live range into an array twice as large (or larger, to
// fit a push_many batch) and publishes it. Thieves may still be reading the old array, so old
// arrays are kept until the deque dies (their total size is bounded by the size of the live array).
//
// Why not steal half (Go, Tokio): in this deque a thief may only claim one slot per CAS, because
// the owner's pop can race for the last element; batching needs a different queue (Tokio's bounded
// FIFO ring). Fork-join work spreads anyway: a stolen task spawns its children on the thief.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <vector>

namespace weft::detail {

class chase_lev_deque {
public:
    explicit chase_lev_deque(std::size_t log2_capacity = 10) {
        auto a = std::make_unique<array>(std::size_t{1} << log2_capacity);
        array_.store(a.get(), std::memory_order_relaxed);
        arrays_.push_back(std::move(a));
    }
    chase_lev_deque(const chase_lev_deque&) = delete;
    chase_lev_deque& operator=(const chase_lev_deque&) = delete;

    /// Owner only.
    void push(void* item) {
        std::int64_t b = bottom_.load(std::memory_order_relaxed);
        std::int64_t t = top_.load(std::memory_order_acquire);
        array* a = array_.load(std::memory_order_relaxed);
        if (b - t > static_cast<std::int64_t>(a->mask)) {
            a = grow(a, t, b);
        }
        a->at(b).store(item, std::memory_order_relaxed);
        // release: the item (and the task frame it points to) is visible to a thief that reads
        // this bottom with acquire in steal().
        bottom_.store(b + 1, std::memory_order_release);
    }

    /// Owner only: pushes `item(0)`, ..., `item(n - 1)` (the last is the newest) and publishes
    /// them with one store of bottom_, so a batch costs one release store, not n.
    template <class ItemAt>
    void push_many(std::size_t n, ItemAt&& item) {
        if (n == 0) {
            return;
        }
        std::int64_t b = bottom_.load(std::memory_order_relaxed);
        std::int64_t t = top_.load(std::memory_order_acquire);
        array* a = array_.load(std::memory_order_relaxed);
        const auto need = static_cast<std::size_t>(b - t) + n;
        if (need > a->mask + 1) {
            a = grow(a, t, b, need);
        }
        for (std::size_t i = 0; i < n; ++i) {
            a->at(b + static_cast<std::int64_t>(i)).store(item(i), std::memory_order_relaxed);
        }
        // release: as in push(); a thief sees either none of the batch or every slot it may take.
        bottom_.store(b + static_cast<std::int64_t>(n), std::memory_order_release);
    }

    /// Owner only: room for `n` more pushes that allocate nothing, or false (out of memory; the
    /// deque is unchanged). For callers that must not throw (the worker loop's moves).
    bool reserve(std::size_t n) noexcept {
        std::int64_t b = bottom_.load(std::memory_order_relaxed);
        std::int64_t t = top_.load(std::memory_order_acquire);
        array* a = array_.load(std::memory_order_relaxed);
        const std::size_t need = (b > t ? static_cast<std::size_t>(b - t) : 0) + n;
        if (need <= a->mask + 1) {
            return true;
        }
        try {
            grow(a, t, b, need);
            return true;
        } catch (const std::bad_alloc&) {
            return false;
        }
    }

    /// Owner only. Newest item, or nullptr.
    void* pop() noexcept {
        std::int64_t b = bottom_.load(std::memory_order_relaxed) - 1;
        array* a = array_.load(std::memory_order_relaxed);
        // seq_cst store + seq_cst load of top: the store-load order the paper gets from a fence;
        // pairs with the seq_cst load of top / CAS in steal().
        bottom_.store(b, std::memory_order_seq_cst);
        std::int64_t t = top_.load(std::memory_order_seq_cst);
        if (t > b) {
            bottom_.store(b + 1, std::memory_order_relaxed);
            return nullptr;
        }
        void* item = a->at(b).load(std::memory_order_relaxed);
        if (t == b) {
            // Last element: race thieves for it.
            if (!top_.compare_exchange_strong(
                    t, t + 1, std::memory_order_seq_cst, std::memory_order_relaxed)) {
                item = nullptr;
            }
            bottom_.store(b + 1, std::memory_order_relaxed);
        }
        return item;
    }

    /// Any thread. Oldest item, or nullptr when empty or when another thief won the race.
    void* steal() noexcept {
        std::int64_t t = top_.load(std::memory_order_seq_cst);
        std::int64_t b = bottom_.load(std::memory_order_seq_cst);
        if (t >= b) {
            return nullptr;
        }
        array* a = array_.load(std::memory_order_acquire);
        void* item = a->at(t).load(std::memory_order_relaxed);
        if (!top_.compare_exchange_strong(
                t, t + 1, std::memory_order_seq_cst, std::memory_order_relaxed)) {
            return nullptr;
        }
        return item;
    }

    /// Any thread; approximate when called by a non-owner.
    std::size_t size() const noexcept {
        std::int64_t b = bottom_.load(std::memory_order_relaxed);
        std::int64_t t = top_.load(std::memory_order_relaxed);
        return b > t ? static_cast<std::size_t>(b - t) : 0;
    }
    bool empty() const noexcept { return size() == 0; }
    /// Owner only: exact when it says empty (bottom_ is ours; top_ only grows, so a stale top_
    /// can only make a non-empty answer wrong, and pop() settles that). Lets the owner skip
    /// pop()'s seq_cst store when it has only wake-ups to run.
    bool owner_sees_empty() const noexcept {
        return bottom_.load(std::memory_order_relaxed) <= top_.load(std::memory_order_relaxed);
    }

private:
    struct array {
        explicit array(std::size_t n)
            : mask(n - 1)
            , slots(new std::atomic<void*>[n]) {}
        std::atomic<void*>& at(std::int64_t i) noexcept {
            return slots[static_cast<std::size_t>(i) & mask];
        }
        std::size_t mask;
        std::unique_ptr<std::atomic<void*>[]> slots;
    };

    // A new array of at least `need` slots (and at least twice the old one).
    array* grow(array* old, std::int64_t t, std::int64_t b, std::size_t need = 0) {
        std::size_t cap = (old->mask + 1) * 2;
        while (cap < need) {
            cap *= 2;
        }
        auto bigger = std::make_unique<array>(cap);
        for (std::int64_t i = t; i < b; ++i) {
            bigger->at(i).store(
                old->at(i).load(std::memory_order_relaxed), std::memory_order_relaxed);
        }
        array* a = bigger.get();
        arrays_.push_back(std::move(bigger)); // may throw: array_ still names the old array
        // release: pairs with the acquire load in steal(); the copied slots are visible first.
        array_.store(a, std::memory_order_release);
        return a;
    }

    // top_: thieves CAS it forward; the owner CASes it for the last element. bottom_: written by
    // the owner only. Separate cache lines: thieves hammer top_, the owner bottom_.
    alignas(64) std::atomic<std::int64_t> top_{0};
    alignas(64) std::atomic<std::int64_t> bottom_{0};
    alignas(64) std::atomic<array*> array_{nullptr};
    std::vector<std::unique_ptr<array>> arrays_; // owner only: every array ever used
};

} // namespace weft::detail

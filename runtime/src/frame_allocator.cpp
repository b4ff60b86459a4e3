// The slow paths of the frame allocator (detail/frame_allocator.hpp has the design): the depot
// that balances free frames between threads, and the chunks new frames are carved from.

#include <weft/runtime/detail/frame_allocator.hpp>

#include <atomic>
#include <mutex>
#include <utility>
#include <vector>

#include <sys/mman.h>

namespace weft::detail {

namespace {

constexpr std::size_t chunk_size = std::size_t{2} << 20; // one transparent huge page

struct batch {
    frame_cache::node* head;
    std::uint32_t count;
};

/// Free frames no thread holds, per size class. Guarded by mu.
struct depot {
    std::mutex mu;
    std::vector<batch> batches[frame_classes];
    frame_cache::node* loose[frame_classes] = {}; // single frames freed by non-worker threads
    std::uint32_t loose_count[frame_classes] = {};
    // batches[c].size() + loose_count[c], written under mu, read without it: a thread whose list
    // is empty skips the lock when the depot has nothing for it (while live frames grow, every
    // allocation misses; a stale zero only costs a fresh frame).
    std::atomic<std::uint32_t> available[frame_classes] = {};
    // Uncarved rest of the chunks of threads that have exited: the next thread that needs a chunk
    // carves these first. Without them every worker thread that ever ran kept up to 2 MiB: a
    // program starting runtimes in a row grew by 2 MiB per worker each time.
    std::vector<std::pair<char*, char*>> spare_regions;

    void publish(std::size_t c) noexcept {
        available[c].store(
            static_cast<std::uint32_t>(batches[c].size()) + loose_count[c],
            std::memory_order_relaxed);
    }
};

depot& the_depot() {
    static depot* d = new depot; // never destroyed: frames may be freed during static destruction
    return *d;
}

/// The smallest rest of a chunk worth keeping for another thread: one frame of the largest class.
constexpr std::size_t min_spare = frame_classes * frame_granule;

/// Carving state of one thread: the rest of its current chunk. When the thread exits, the rest
/// goes to the depot (a thread-local destructor: worker threads and plain threads both carve).
struct bump_region {
    char* next = nullptr;
    char* end = nullptr;

    bump_region() = default;
    bump_region(const bump_region&) = delete;
    bump_region& operator=(const bump_region&) = delete;
    ~bump_region() { give_back(); }

    void give_back() noexcept {
        if (static_cast<std::size_t>(end - next) >= min_spare) {
            depot& d = the_depot();
            std::lock_guard lk(d.mu);
            try {
                d.spare_regions.emplace_back(next, end);
            } catch (...) {
                // Out of memory for the list: the rest of this chunk stays unused.
            }
        }
        next = end = nullptr;
    }
};
thread_local bump_region tls_bump;

/// A fresh region of at least `bytes`: an exited thread's rest if one is large enough, else a new
/// 2 MiB chunk.
void refill_region(bump_region& b, std::size_t bytes) {
    b.give_back();
    {
        depot& d = the_depot();
        std::lock_guard lk(d.mu);
        for (std::size_t i = d.spare_regions.size(); i-- > 0;) {
            auto [next, end] = d.spare_regions[i];
            if (static_cast<std::size_t>(end - next) >= bytes) {
                d.spare_regions.erase(d.spare_regions.begin() + static_cast<std::ptrdiff_t>(i));
                b.next = next;
                b.end = end;
                return;
            }
        }
    }
    // Over-allocate to align the chunk on 2 MiB, so the kernel can back it with a huge page.
    void* raw =
        mmap(nullptr, 2 * chunk_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) {
        throw std::bad_alloc();
    }
    auto addr = reinterpret_cast<std::uintptr_t>(raw);
    std::uintptr_t aligned = (addr + chunk_size - 1) & ~(chunk_size - 1);
    if (aligned > addr) {
        munmap(raw, aligned - addr);
    }
    std::uintptr_t tail = aligned + chunk_size;
    std::uintptr_t raw_end = addr + 2 * chunk_size;
    if (raw_end > tail) {
        munmap(reinterpret_cast<void*>(tail), raw_end - tail);
    }
    madvise(reinterpret_cast<void*>(aligned), chunk_size, MADV_HUGEPAGE);
    b.next = reinterpret_cast<char*>(aligned);
    b.end = b.next + chunk_size;
}

void* carve(std::size_t bytes) {
    bump_region& b = tls_bump;
    if (static_cast<std::size_t>(b.end - b.next) < bytes) {
        refill_region(b, bytes);
    }
    void* p = b.next;
    b.next += bytes;
    return p;
}

} // namespace

void frame_cache_enable() noexcept {
    tls_frame_cache.worker = true;
}

void frame_cache_release() noexcept {
    frame_cache& fc = tls_frame_cache;
    fc.worker = false;
    depot& d = the_depot();
    std::lock_guard lk(d.mu);
    for (std::size_t c = 0; c < frame_classes; ++c) {
        if (fc.head[c] != nullptr) {
            d.batches[c].push_back({fc.head[c], fc.count[c]});
            d.publish(c);
            fc.head[c] = nullptr;
            fc.count[c] = 0;
        }
    }
}

void* frame_refill(std::size_t c) {
    frame_cache& fc = tls_frame_cache;
    depot& d = the_depot();
    if (d.available[c].load(std::memory_order_relaxed) != 0) {
        std::lock_guard lk(d.mu);
        if (fc.worker && !d.batches[c].empty()) {
            batch b = d.batches[c].back();
            d.batches[c].pop_back();
            d.publish(c);
            frame_cache::node* p = b.head;
            fc.head[c] = p->next;
            fc.count[c] = b.count - 1;
            return p;
        }
        if (frame_cache::node* p = d.loose[c]) {
            d.loose[c] = p->next;
            --d.loose_count[c];
            d.publish(c);
            return p;
        }
        if (!fc.worker && !d.batches[c].empty()) {
            batch& b = d.batches[c].back();
            frame_cache::node* p = b.head;
            b.head = p->next;
            if (--b.count == 0) {
                d.batches[c].pop_back();
                d.publish(c);
            }
            return p;
        }
    }
    return carve(c * frame_granule);
}

void frame_spill(std::size_t c) noexcept {
    frame_cache& fc = tls_frame_cache;
    // Detach the newest frame_batch frames (the list head) and hand them to the depot.
    frame_cache::node* head = fc.head[c];
    frame_cache::node* last = head;
    for (std::uint32_t i = 1; i < frame_batch; ++i) {
        last = last->next;
    }
    fc.head[c] = last->next;
    last->next = nullptr;
    fc.count[c] -= frame_batch;
    depot& d = the_depot();
    std::lock_guard lk(d.mu);
    d.batches[c].push_back({head, frame_batch});
    d.publish(c);
}

void frame_free_foreign(void* p, std::size_t c) noexcept {
    depot& d = the_depot();
    std::lock_guard lk(d.mu);
    auto* f = static_cast<frame_cache::node*>(p);
    f->next = d.loose[c];
    d.loose[c] = f;
    ++d.loose_count[c];
    d.publish(c);
}

} // namespace weft::detail

// The recycling allocator for coroutine frames.
//
// `operator new` per spawn is the first thing that kills spawn throughput (a malloc and free are
// a large share of a task that costs tens of nanoseconds in all), and a million live frames from
// malloc cost a 16-byte header each plus a page fault per 4 KiB of fresh memory. So every weft
// coroutine frame up to 1 KiB comes from size classes of 16 bytes:
//   - a worker thread keeps a free list per class (no atomics on the hot path);
//   - a miss carves the frame from the thread's current 2 MiB chunk (mmap'd, transparent huge
//     pages requested: one fault per 2 MiB instead of per 4 KiB);
//   - frames may be freed on another worker than the one that allocated them (stealing moves
//     tasks): each free goes to the freeing thread's list; a list that grows past spill_at gives a
//     batch to a global depot, and a thread whose list is empty takes a batch from the depot
//     before carving new memory (tcmalloc's transfer cache, much reduced). So a producer worker
//     and a consumer worker recycle the same memory instead of growing without bound;
//   - threads that are not weft workers go straight to the depot, one frame at a time.
// Chunks are never returned to the OS: the frame memory a process keeps is its peak of live
// frames. A thread that exits hands the uncarved rest of its chunk to the depot, where the next
// thread that needs memory carves it (otherwise each runtime started and stopped would keep 2 MiB
// per worker). Under AddressSanitizer and ThreadSanitizer the cache is off (plain new/delete), so
// that a use-after-free of a frame is caught.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WEFT_FRAME_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define WEFT_FRAME_CACHE 0
#endif
#endif
#ifndef WEFT_FRAME_CACHE
#define WEFT_FRAME_CACHE 1
#endif

namespace weft::detail {

inline constexpr std::size_t frame_granule = 16;
inline constexpr std::size_t frame_classes = 64;      // up to 1 KiB
inline constexpr std::uint32_t frame_batch = 256;     // frames moved to/from the depot at once
inline constexpr std::uint32_t frame_spill_at = 2048; // a list longer than this spills a batch

struct frame_cache {
    struct node {
        node* next;
    };
    node* head[frame_classes];
    std::uint32_t count[frame_classes];
    bool worker; // set on weft worker threads (frame_cache_enable)
};

// Zero-initialised, trivially destructible: no TLS guard on the hot path.
inline thread_local frame_cache tls_frame_cache;

void frame_cache_enable() noexcept;       // a worker thread, at start
void frame_cache_release() noexcept;      // a worker thread, at exit: its lists go to the depot
void* frame_refill(std::size_t c);        // slow path of frame_alloc
void frame_spill(std::size_t c) noexcept; // slow path of frame_free (worker)
void frame_free_foreign(void* p, std::size_t c) noexcept; // frame_free on a non-worker thread

inline void* frame_alloc(std::size_t n) {
#if WEFT_FRAME_CACHE
    std::size_t c = (n + frame_granule - 1) / frame_granule;
    if (c < frame_classes) {
        frame_cache& fc = tls_frame_cache;
        if (frame_cache::node* p = fc.head[c]) {
            fc.head[c] = p->next;
            --fc.count[c];
            return p;
        }
        return frame_refill(c);
    }
#endif
    return ::operator new(n);
}

inline void frame_free(void* p, [[maybe_unused]] std::size_t n) noexcept {
#if WEFT_FRAME_CACHE
    std::size_t c = (n + frame_granule - 1) / frame_granule;
    if (c < frame_classes) {
        frame_cache& fc = tls_frame_cache;
        if (fc.worker) [[likely]] {
            auto* f = static_cast<frame_cache::node*>(p);
            f->next = fc.head[c];
            fc.head[c] = f;
            if (++fc.count[c] > frame_spill_at) [[unlikely]] {
                frame_spill(c);
            }
            return;
        }
        frame_free_foreign(p, c);
        return;
    }
#endif
    ::operator delete(p);
}

} // namespace weft::detail

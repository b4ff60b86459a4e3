// The recycling allocator for coroutine frames.
//
// `operator new` per spawn is the first thing that kills spawn throughput (DESIGN.md section 2).
// Every weft coroutine frame is carved from size classes of 16 bytes up to 1 KiB; a worker thread
// keeps a free list per class, so a frame freed on a worker is reused by the next spawn there
// without touching malloc. Frames may be freed on another worker than the one that allocated them
// (stealing moves tasks): each free goes to the freeing thread's list, which is capped so that a
// producer/consumer imbalance cannot hoard memory; beyond the cap, and on threads that are not weft
// workers, frames go back to malloc. Under AddressSanitizer the cache is off so that use-after-free
// of a frame is caught.
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
inline constexpr std::size_t frame_classes = 64;       // up to 1 KiB
inline constexpr std::uint32_t frame_cache_cap = 8192; // frames per class per thread

struct frame_cache {
    struct node {
        node* next;
    };
    node* head[frame_classes];
    std::uint32_t count[frame_classes];
    bool enabled; // set on weft worker threads only
};

// Zero-initialised, trivially destructible: no TLS guard on the hot path.
inline thread_local frame_cache tls_frame_cache;

void frame_cache_enable() noexcept;  // called by a worker thread at start
void frame_cache_release() noexcept; // called by a worker thread at exit

inline void* frame_alloc(std::size_t n) {
#if WEFT_FRAME_CACHE
    std::size_t c = (n + frame_granule - 1) / frame_granule;
    frame_cache& fc = tls_frame_cache;
    if (c < frame_classes) {
        if (frame_cache::node* p = fc.head[c]) {
            fc.head[c] = p->next;
            --fc.count[c];
            return p;
        }
        return ::operator new(c* frame_granule);
    }
#endif
    return ::operator new(n);
}

inline void frame_free(void* p, std::size_t n) noexcept {
#if WEFT_FRAME_CACHE
    std::size_t c = (n + frame_granule - 1) / frame_granule;
    frame_cache& fc = tls_frame_cache;
    if (c < frame_classes && fc.enabled && fc.count[c] < frame_cache_cap) {
        auto* f = static_cast<frame_cache::node*>(p);
        f->next = fc.head[c];
        fc.head[c] = f;
        ++fc.count[c];
        return;
    }
    if (c < frame_classes) {
        ::operator delete(p, c* frame_granule);
        return;
    }
#endif
    ::operator delete(p, n);
}

} // namespace weft::detail

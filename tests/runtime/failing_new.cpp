// The global operator new of runtime_abandon_test, replaced so that a test can make large
// allocations fail: a capped address space (RLIMIT_AS) does not do it reliably, since glibc
// serves a worker thread's requests from an arena it reserved long before. Its own translation
// unit: inlined into the tests, g++ would see new and free side by side and warn.
#include <weft/runtime/detail/frame_allocator.hpp> // WEFT_FRAME_CACHE: 0 under the sanitizers

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace weft::testing {
/// While set, every allocation of 256 KiB or more throws std::bad_alloc.
std::atomic<bool> fail_large_allocations{false};
} // namespace weft::testing

// Under AddressSanitizer, its own operator new[] and aligned forms would pair with this delete:
// the replacement (and the test that needs it) is for the optimized build only.
#if WEFT_FRAME_CACHE
void* operator new(std::size_t n) {
    if (n >= 256 * 1024 && weft::testing::fail_large_allocations.load(std::memory_order_relaxed)) {
        throw std::bad_alloc();
    }
    if (void* p = std::malloc(n == 0 ? 1 : n)) {
        return p;
    }
    throw std::bad_alloc();
}

void operator delete(void* p) noexcept {
    std::free(p);
}

void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
#endif

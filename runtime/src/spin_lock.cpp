// spin_lock's slow path: test-and-test-and-set, then yield the time slice.
#include <weft/runtime/detail/spin_lock.hpp>

#include <atomic>

#include <sched.h>

namespace weft::detail {

void spin_lock::lock_slow() noexcept {
    // Test-and-test-and-set: spin on a plain load (no cache-line ping-pong) and try again only
    // when the lock looks free. After a while the holder is probably descheduled: yield.
    for (unsigned spins = 0;;) {
        while (locked_.load(std::memory_order_relaxed)) {
            if (spins < 128) {
                cpu_relax();
                ++spins;
            } else {
                sched_yield();
            }
        }
        // acquire: pairs with unlock()'s release store.
        if (!locked_.exchange(true, std::memory_order_acquire)) {
            return;
        }
    }
}

} // namespace weft::detail

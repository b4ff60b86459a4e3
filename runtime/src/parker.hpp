// parker: how a worker thread sleeps when it has nothing to do, and how others wake it.
//
// A binary token on a futex word: unpark() sets the token (waking the thread if it sleeps);
// park(timeout) returns at once if the token is set, else sleeps until it is set or the timeout
// passes, and consumes the token either way. An unpark that comes before the park is therefore
// never lost. Spurious returns are allowed: callers re-check their condition.
//
// The io reactor replaces this with a wait on the worker's io_uring ring or epoll instance
// (timeout = the nearest timer) and a cross-thread wake through an eventfd; the scheduler only
// sees park/unpark. The reactors' park word (io/src/park_word.hpp) is a cousin of this token,
// not the same protocol: they sleep elsewhere than on the word, so they announce the sleep with
// an exchange and use seq_cst, where this one lets the futex re-check the word.
#pragma once

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <ctime>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace weft::detail {

class parker {
public:
    /// Sleeps until unpark() or until `deadline_ns` (steady clock; < 0 means no deadline).
    void park(std::int64_t deadline_ns) noexcept {
        std::uint32_t expected = empty;
        // acquire on failure: whatever the unparker wrote before unpark() is visible.
        if (!state_.compare_exchange_strong(
                expected, sleeping, std::memory_order_acquire, std::memory_order_acquire)) {
            state_.store(empty, std::memory_order_relaxed); // consume the token
            return;
        }
        timespec ts;
        timespec* tsp = nullptr;
        if (deadline_ns >= 0) {
            ts.tv_sec = static_cast<time_t>(deadline_ns / 1'000'000'000);
            ts.tv_nsec = static_cast<long>(deadline_ns % 1'000'000'000);
            tsp = &ts;
        }
        // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline (steady_clock on Linux).
        syscall(
            SYS_futex,
            &state_,
            FUTEX_WAIT_BITSET_PRIVATE,
            sleeping,
            tsp,
            nullptr,
            FUTEX_BITSET_MATCH_ANY);
        // acquire: pairs with unpark()'s exchange.
        state_.exchange(empty, std::memory_order_acquire);
    }

    /// Wakes the thread if it sleeps, or makes its next park() return at once.
    void unpark() noexcept {
        // release: the work published before unpark() is visible after park() returns.
        if (state_.exchange(notified, std::memory_order_release) == sleeping) {
            syscall(SYS_futex, &state_, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
        }
    }

private:
    enum : std::uint32_t { empty = 0, notified = 1, sleeping = 2 };
    std::atomic<std::uint32_t> state_{empty};
};

} // namespace weft::detail

// Private: park_word, the handshake between a reactor's park() and any thread's unpark() that
// decides whether a wake-up write (to the reactor's eventfd) is needed. Both reactors use it
// (uring_reactor.cpp, epoll_reactor.cpp).
//
//     if (word.begin_park()) {   // owner: announces it is about to sleep
//         ... sleep in the kernel, woken by the eventfd ...
//         word.end_park();
//     }
//     if (word.notify()) { write the eventfd; }   // any thread
//
// An unpark() that comes before the park is never lost: begin_park() then consumes it and the
// owner does not sleep. One that comes after begin_park() finds the word `parked` and writes the
// eventfd, whose poll the owner armed before begin_park(). A notify() that finds the owner
// running costs one atomic exchange and no system call.
//
// Not the same protocol as the runtime's parker (runtime/src/parker.hpp): that one sleeps on the
// word itself (a futex, which the kernel re-checks), consumes a token with a compare-exchange
// that never announces a sleep it will not take, and needs only acquire/release; this one sleeps
// elsewhere (io_uring_submit_and_wait, epoll_pwait2), announces with an exchange and keeps the
// seq_cst orders the reactors were written with.
#pragma once

#include <atomic>

namespace weft::io::detail {

class park_word {
public:
    /// Owner, before sleeping (the wake-up source must already be armed). False when an unpark
    /// came since the last park: the word is running again and the caller must not sleep.
    bool begin_park() noexcept {
        // seq_cst: pairs with notify()'s exchange.
        if (state_.exchange(parked, std::memory_order_seq_cst) == notified) {
            state_.store(running, std::memory_order_seq_cst);
            return false;
        }
        return true;
    }

    /// Owner, after the sleep. An exchange, not a store: when a notify() woke us, this reads its
    /// `notified` and so synchronizes with it (the eventfd wake-up itself is invisible to the
    /// memory model, and to TSan).
    void end_park() noexcept { state_.exchange(running, std::memory_order_acq_rel); }

    /// Any thread. True when the owner is parked (or about to sleep): the caller must wake it.
    /// Otherwise its next begin_park() returns false.
    bool notify() noexcept {
        // seq_cst: pairs with begin_park()'s exchange.
        return state_.exchange(notified, std::memory_order_seq_cst) == parked;
    }

private:
    enum : int { running = 0, parked = 1, notified = 2 };
    /// Written by the owner (begin_park, end_park) and by any unparker (notify); read by the same
    /// exchanges. No lock: every access is one atomic operation.
    std::atomic<int> state_{running};
};

} // namespace weft::io::detail

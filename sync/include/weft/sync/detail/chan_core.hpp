// The untyped half of a channel (Go's hchan): the lock, the two wait queues, the closed flag and
// the reference count; and the select-wide state a select case waiter points to. The typed half
// (the ring buffer of T and the transfers) is chan_state<T> in detail/chan_state.hpp. The algorithm
// is in sync/src/channel.cpp.
#pragma once

#include <weft/runtime/detail/assert.hpp>
#include <weft/runtime/detail/spin_lock.hpp>
#include <weft/sync/detail/waiter.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace weft::sync::detail {

/// Outcome of one attempt at a channel operation under the channel's lock.
enum class transfer_status : std::uint8_t { ok, closed, would_block };

/// The part of a select that channel code touches: the select-wide state word that decides which
/// case fires (the first CAS from `waiting` wins; Go's selectDone). The rest is select_core in
/// select_core.hpp.
struct select_state {
    enum : std::uint32_t {
        st_init = 0,      ///< cases being examined / enqueued (all channel locks held)
        st_waiting = 1,   ///< cases enqueued, task suspended (or suspending)
        st_cancelled = 2, ///< cancellation won
        st_claimed = 3,   ///< st_claimed + i: case i won
    };

    /// Tries to make case `i` the winner. Called by a channel completer under that channel's
    /// lock, by the select's timer and by its cancellation hook. acq_rel: the winner's later
    /// writes (the value) are published by the wake; losers see the winner's claim.
    bool try_claim(std::uint32_t i) noexcept {
        std::uint32_t expected = st_waiting;
        return state.compare_exchange_strong(
            expected, st_claimed + i, std::memory_order_acq_rel, std::memory_order_acquire);
    }

    // Written: st_init -> st_waiting by the selecting task (all channel locks held); st_waiting ->
    // st_claimed+i / st_cancelled by the one winner of try_claim (any thread); st_init ->
    // st_cancelled by the cancellation hook. Read by the select after it resumes.
    std::atomic<std::uint32_t> state{st_init};
};

/// A task or plain thread waiting on a channel: a send, a receive, or one case of a select.
struct chan_waiter : task_waiter {
    chan_waiter() noexcept
        : task_waiter(&on_cancel) {}

    /// Cancellation hook of a plain (non-select) send or receive; see task_waiter.
    static void on_cancel(weft::detail::cancel_hook* h) noexcept;

    class chan_core* chan = nullptr; // the channel waited on; set before the hook is armed
    waiter_list* queue;              // the queue it is in (recvq_ or sendq_); set when enqueued
    void* slot;                      // recv: std::optional<T>* to fill; send: T* to move from
    select_state* sel = nullptr;     // the select this case belongs to, or null
    std::uint32_t case_index = 0;    // which case of `sel`
};

/// Wakes the task of a select case after its select was claimed (defined in select.cpp: the
/// select's timer must be quiet before the task may run and free it).
void wake_select_case(chan_waiter* w) noexcept;

/// Wakes a completed channel waiter; the last touch of `w`.
inline void wake_chan(chan_waiter* w) noexcept {
    if (w->sel != nullptr) {
        wake_select_case(w);
    } else {
        wake(w);
    }
}

/// The untyped channel: see the file comment.
class chan_core {
public:
    static constexpr std::size_t unbounded = std::numeric_limits<std::size_t>::max();

    chan_core(std::size_t capacity, void (*destroy)(chan_core*) noexcept) noexcept;
    chan_core(const chan_core&) = delete;
    chan_core& operator=(const chan_core&) = delete;

    void add_ref() noexcept {
        // relaxed: a new reference is made from an existing one, which keeps the channel alive.
        refs_.fetch_add(1, std::memory_order_relaxed);
    }
    void release() noexcept {
        // acq_rel: every use through other references happens-before the destruction.
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            destroy_(this);
        }
    }

    /// Closes the channel: every waiting receiver gets "closed", every waiting sender gets
    /// channel_closed with its value untouched. Closing twice aborts (Go panics).
    void close() noexcept;

    /// Under the lock: takes the first waiter of `q` that may be completed now. A select case is
    /// taken only if its select is claimed for it; a case whose select already fired elsewhere is
    /// dropped from the queue on the way (Go's waitq.dequeue).
    chan_waiter* dequeue(waiter_list& q) noexcept {
        for (;;) {
            auto* w = static_cast<chan_waiter*>(q.pop_front());
            if (w == nullptr || w->sel == nullptr || w->sel->try_claim(w->case_index)) {
                return w;
            }
            w->state = wait_state::idle; // stale: its select finishes without it
        }
    }

    /// Under the lock: enqueues a waiter that will be completed by the other side.
    void enqueue(waiter_list& q, chan_waiter* w) noexcept {
        // (w->chan is not written here: a plain waiter's hook reads it without the lock; it was
        // set when the awaiter was made.)
        w->queue = &q;
        w->state = wait_state::queued;
        q.push_back(w);
    }

    /// True for a bounded buffered channel (the lock-free ring); false for unbuffered and
    /// unbounded channels (everything under the lock). Immutable.
    bool ring_mode() const noexcept { return ring_; }

    bool is_closed() const noexcept;
    std::size_t size() const noexcept;
    std::size_t capacity() const noexcept { return cap_; }

protected:
    // Ring positions (bounded channels; sync/src/channel.cpp, "wait bit"). A position is
    // lap * one_lap_ + index; between index and lap sit two flag bits:
    //   closed_bit_ (tail only)  the channel is closed: pushes fail.
    //   wait_bit_               tail: receivers wait (the ring is empty), so a push must take the
    //                           lock and hand its value over; head: senders wait (the ring is
    //                           full), so a pop must take the lock and move a sender's value in.
    // A fast push CASes tail_ and a fast pop CASes head_: a flag set in the word they CAS diverts
    // them to the lock, atomically with the emptiness or fullness it stands for.
    std::uint64_t advance(std::uint64_t pos) const noexcept {
        return (pos & index_mask_) + 1 < cap_ ? pos + 1 : (pos & ~(one_lap_ - 1)) + one_lap_;
    }
    // --- immutable after construction, read by every operation: a cache line of their own, so
    // that lock-path writes on another core never evict them ---
    std::uint64_t index_mask_ = 0; // P - 1, P = the power of two above cap_
    std::uint64_t closed_bit_ = 0; // P
    std::uint64_t wait_bit_ = 0;   // 2P
    std::uint64_t one_lap_ = 0;    // 4P
    void* slots_ = nullptr;        // ring channels: chan_state<T>'s cap_ stamped slots

public:
    const std::size_t cap_; // 0: unbuffered; `unbounded`: never full
    const bool ring_;       // bounded buffered channel

private:
    void (*const destroy_)(chan_core*) noexcept; // the typed destructor

public:
    // --- lock-path state, guarded by lock_ (its own line) ---
    alignas(64) mutable weft::detail::spin_lock lock_;
    bool closed_ = false;   // unbuffered/unbounded channels (ring channels: closed_bit_)
    std::size_t count_ = 0; // unbounded channels: values in the buffer
    waiter_list recvq_;     // receivers waiting for a value (only while nothing is buffered)
    waiter_list sendq_;     // senders waiting for room or a receiver (only while full)

private:
    // Written by add_ref/release of any thread (handle copies: rare next to operations).
    std::atomic<std::size_t> refs_{1};

protected:
    // Ring channels: CASed by fast pushes (tail_) and pops (head_) of any thread, flags set and
    // cleared under lock_. Each on its own cache line: producers and consumers do not share one.
    alignas(64) std::atomic<std::uint64_t> head_{0};
    alignas(64) std::atomic<std::uint64_t> tail_{0};
    char pad_[64 - sizeof(std::atomic<std::uint64_t>)];
};

/// The lock / attempt / unlock / wake sequence of every channel operation: runs `attempt()` under
/// the channel's lock_ (the transfer, and whatever must be decided with it: enqueueing the caller,
/// its state), which returns the waiter it completed or null; releases the lock; then wakes that
/// waiter outside the lock, as the last touch of it.
///
/// `ch` is taken by reference to the caller's pointer, and read again to unlock: keeping it in a
/// callee-saved register instead costs a push and a pop per call, 0.6% more instructions in bench
/// `pingpong`.
template <class Chan, class Attempt>
[[gnu::always_inline]] inline void locked_attempt(Chan* const& ch, Attempt&& attempt) noexcept {
    ch->lock_.lock();
    chan_waiter* const peer = attempt();
    ch->lock_.unlock();
    if (peer != nullptr) {
        wake_chan(peer);
    }
}

} // namespace weft::sync::detail

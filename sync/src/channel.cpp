// Channels: Go's hchan for weft tasks and plain threads, with a lock-free ring for bounded ones.
//
// Vocabulary
//   channel   chan_core (untyped: lock, queues, ring positions, reference count;
//             detail/chan_core.hpp) plus chan_state<T> (the storage of T and the transfers;
//             detail/chan_state.hpp).
//   kinds     unbuffered (capacity 0: every send is a rendezvous), bounded (capacity n: a ring of
//             n stamped slots, "ring channels"), unbounded (a buffer that doubles, never full).
//   recvq     receivers waiting for a value. Non-empty only while nothing is buffered.
//   sendq     senders waiting for room (or, unbuffered, for a receiver), each with a pointer to its
//             own value, which stays in the sender's frame until a receiver moves it. Non-empty
//             only while the buffer is full.
//   slot      where a waiting receiver wants its value: a std::optional<T> in its awaiter. (The
//             ring's cells are also "slots": stamp + storage, Vyukov's bounded queue.)
//   case      a select's waiter on this channel (sel != null): it may be completed only by the
//             party that wins its select's state word (see select.cpp).
//   fast path a push or pop on the ring by one CAS on tail_ or head_, without the lock.
//   wait bit  a flag in tail_ (receivers wait, so the ring is empty) or head_ (senders wait, so it
//             is full). A fast operation CASes the very word that carries the bit, so it sees the
//             bit atomically with the position it wants to take, and takes the lock instead.
//
// Invariants
//   1. recvq non-empty => nothing buffered and not closed; sendq non-empty => buffer full and not
//      closed. So a send looks at recvq before the buffer, and a receive at sendq before it.
//      Ring channels: recvq non-empty => tail's wait bit; sendq non-empty => head's; tail's wait
//      bit => the ring is empty; head's => it is full. A bit is set under the lock by CAS against
//      the position that shows the ring empty (full), so no fast operation can slip in between
//      the check and the bit; it is cleared under the lock (a bit left over by a waiter that left
//      is harmless: the next operation takes the lock, finds nobody, clears it).
//   2. FIFO: waiters are served in arrival order; a sender blocked on a full buffer puts its value
//      in at the tail as the receiver that frees the room takes the head, so per-sender order
//      holds. A waiting receiver gets a value only while the ring is empty, so it never overtakes
//      a buffered one.
//   3. A value is in exactly one place at any time: the sender's frame (until moved), the buffer,
//      or a receiver's slot. It moves into a waiter only under the lock, in the critical section
//      that decides the waiter's completion (waiter.cpp invariant 4).
//   4. After close: closed stays true (ring channels: tail's closed bit, which every fast push
//      sees), both queues are empty, sends fail, receives drain the buffer and then report closed.
//
// Rejected approaches
//   - One lock around everything, as Go does (weft's first version): bench `mpmc` (4+4 tasks,
//     capacity 1024) on 2 workers ran at 130-190 ns/item, against 30 ns on 1 worker: every
//     operation moved the lock's cache line between the cores (~70 ns one way on the test
//     machine). The lock-free ring costs one CAS on a line shared only by the same side
//     (producers on tail_, consumers on head_).
//   - Lock-free ring with separate waiter lists that are woken to retry (crossbeam-channel's array
//     flavour, async-channel): a woken receiver may lose the value to a barging one and must wait
//     again (a loop an awaiter cannot express without a coroutine frame per wait), and a receiver
//     cancelled after its wake strands the wake. The wait bits keep Go's direct hand-off instead:
//     whenever anyone waits, every operation takes the lock.
//   - Waking a receiver and letting it take the value itself: between the wake and its run another
//     receiver could take it. Direct hand-off decides who gets the value while the lock is held.
//   - Reference-free `channel&` shared by reference: the Go user's `ch := make(chan T)` is a
//     reference type that outlives the function that made it; a counted handle gives the same
//     freedom without asking users to manage the channel's lifetime.
//
// Current approach: the operations, in steps (typed halves in detail/chan_state.hpp and
// detail/chan_awaiter.hpp)
//   send(v), ring channel:
//     1. fast path: tail has a bit (closed, receivers wait) -> step 3. The slot at tail is free ->
//        CAS tail forward, write v, publish the slot's stamp. Full -> step 4.
//     2. (nothing else: no lock was taken)
//     3. lock; closed -> channel_closed; receivers wait -> hand v to the first (below); else
//        push again (the bit was stale).
//     4. arm, lock; still full -> set head's wait bit (CAS against head), enqueue on sendq with a
//        pointer to v, unlock, suspend (waiter.cpp steps 2-5).
//   send(v), unbuffered and unbounded channels, all under the lock (Go's chansend):
//     1. closed? -> channel_closed (v untouched).
//     2. a receiver (or a select case that we win) waits? -> move v into its slot, mark it done,
//        unlock, wake it (onto this worker's queue of wake-ups). Done.
//     3. room in the buffer (unbounded: always)? -> push v at the tail. Done.
//     4. otherwise wait: enqueue on sendq with a pointer to v.
//   recv(), ring channel: the mirror image (fast pop; head's wait bit means senders wait: lock,
//     take the head value, move the first sender's value into the same slot as the new tail,
//     advance both positions); empty -> arm, lock, set tail's wait bit, enqueue on recvq.
//   recv(), other channels (Go's chanrecv): a sender waits -> unbuffered: take its value; else
//     (full) take the head and push the sender's value at the tail; else a buffered value; else
//     closed; else enqueue on recvq with a pointer to our result slot.
//   close(): lock; closing twice aborts. Set closed (the closed bit). Take every receiver (they
//     report closed) and every sender (channel_closed; their values stay where they are) off the
//     queues, skipping select cases whose select already fired; clear the wait bits; unlock; wake
//     them all.
//   cancellation of a waiting send/recv: the hook unlinks the waiter if it is still queued; a
//   waiter that a completer already took has its value (or gave it) and succeeds.
//
// Every operation that completes without waiting spends one unit of the task's cooperative budget
// and yields when it is spent, so a producer that never finds the channel full cannot starve the
// other tasks of its worker (Tokio's coop budget).
//
// References
//   Go runtime/chan.go (chansend, chanrecv, closechan, send/recv direct hand-off) and its memory
//   model (https://go.dev/ref/mem#chan); Dmitry Vyukov, "Bounded MPMC queue"
//   (https://www.1024cores.net/home/lock-free-algorithms/queues/bounded-mpmc-queue) and "Go
//   channels on steroids" (2014); crossbeam-channel src/flavors/array.rs (stamps, lap encoding,
//   the mark bit in tail); Tokio tokio/src/sync/mpsc (coop budget).

#include <weft/sync/channel.hpp>

#include <weft/sync/detail/chan_core.hpp>

namespace weft::sync::detail {

namespace {
std::uint64_t ring_span(std::size_t cap) noexcept {
    // The power of two above cap: index bits, then the two flag bits, then the lap.
    std::uint64_t p = 1;
    while (p <= cap) {
        p <<= 1;
    }
    return p;
}
} // namespace

chan_core::chan_core(std::size_t capacity, void (*destroy)(chan_core*) noexcept) noexcept
    : cap_(capacity)
    , ring_(capacity != 0 && capacity != unbounded)
    , destroy_(destroy) {
    if (ring_) {
        const std::uint64_t p = ring_span(capacity);
        index_mask_ = p - 1;
        closed_bit_ = p;
        wait_bit_ = 2 * p;
        one_lap_ = 4 * p;
    }
}

bool chan_core::is_closed() const noexcept {
    if (ring_) {
        return (tail_.load(std::memory_order_seq_cst) & closed_bit_) != 0;
    }
    weft::detail::spin_guard g(lock_);
    return closed_;
}

std::size_t chan_core::size() const noexcept {
    if (!ring_) {
        weft::detail::spin_guard g(lock_);
        return count_;
    }
    // crossbeam's len(): a consistent pair of head and tail.
    for (;;) {
        const std::uint64_t tail = tail_.load(std::memory_order_seq_cst);
        const std::uint64_t head = head_.load(std::memory_order_seq_cst);
        if (tail_.load(std::memory_order_seq_cst) != tail) {
            continue;
        }
        const std::uint64_t t = tail & ~(closed_bit_ | wait_bit_);
        const std::uint64_t h = head & ~wait_bit_;
        const std::uint64_t hix = h & index_mask_;
        const std::uint64_t tix = t & index_mask_;
        if (hix < tix) {
            return tix - hix;
        }
        if (hix > tix) {
            return cap_ - hix + tix;
        }
        return t == h ? 0 : cap_;
    }
}

void chan_core::close() noexcept {
    lock_.lock();
    if (ring_) {
        const std::uint64_t prev = tail_.fetch_or(closed_bit_, std::memory_order_seq_cst);
        WEFT_ASSERT((prev & closed_bit_) == 0, "weft::sync::channel: close of a closed channel");
        // Every waiter leaves below: no wait bit may stay behind.
        tail_.fetch_and(~wait_bit_, std::memory_order_seq_cst);
        head_.fetch_and(~wait_bit_, std::memory_order_seq_cst);
    } else {
        WEFT_ASSERT(!closed_, "weft::sync::channel: close of a closed channel");
        closed_ = true;
    }
    // Collect under the lock, wake after it (waking is the last touch of a waiter).
    waiter* head = nullptr;
    waiter* tail = nullptr;
    for (waiter_list* q : {&recvq_, &sendq_}) {
        while (chan_waiter* w = dequeue(*q)) {
            w->state = wait_state::closed;
            w->next = nullptr;
            (tail != nullptr ? tail->next : head) = w;
            tail = w;
        }
    }
    lock_.unlock();
    while (head != nullptr) {
        waiter* next = head->next; // read before the wake: the waiter may be gone after it
        wake_chan(static_cast<chan_waiter*>(head));
        head = next;
    }
}

void chan_waiter::on_cancel(weft::detail::cancel_hook* h) noexcept {
    auto* w = static_cast<chan_waiter*>(h);
    cancel_wait(w, w->chan->lock_, [](task_waiter* t, wake_list&) noexcept {
        auto* cw = static_cast<chan_waiter*>(t);
        cw->queue->remove(cw);
    });
}

} // namespace weft::sync::detail

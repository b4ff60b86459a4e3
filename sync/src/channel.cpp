// Channels: Go's hchan for weft tasks and plain threads.
//
// Vocabulary
//   channel   chan_core (untyped: lock, queues, closed flag, reference count; detail/chan_core.hpp)
//             plus chan_state<T> (the ring buffer of T and the transfers; channel.hpp).
//   capacity  0: unbuffered (every send is a rendezvous with a receiver); n: a ring of n values;
//             unbounded: a ring that doubles when full, so a send never waits.
//   recvq     receivers waiting for a value. Non-empty only while the buffer is empty.
//   sendq     senders waiting for room (or, unbuffered, for a receiver), each with a pointer to its
//             own value, which stays in the sender's frame until a receiver moves it. Non-empty
//             only while the buffer is full.
//   slot      where a waiting receiver wants its value: a std::optional<T> in its awaiter.
//   case      a select's waiter on this channel (sel != null): it may be completed only by the
//             party that wins its select's state word (see select.cpp).
//
// Invariants (all under the channel's lock)
//   1. recvq non-empty => count == 0 and not closed; sendq non-empty => count == cap and not
//      closed. So a send looks at recvq before the buffer, and a receive at sendq before it.
//   2. FIFO: waiters are served in arrival order; a sender blocked on a full buffer puts its value
//      at the tail as the receiver that frees the room takes the head, so per-sender order holds.
//   3. A value is in exactly one place at any time: the sender's frame (until moved), the ring, or
//      a receiver's slot. It moves only under the lock, and only into a waiter whose completion is
//      decided in the same critical section (waiter.cpp invariant 4).
//   4. After close: closed stays true, both queues are empty, sends fail, receives drain the ring
//      and then report closed.
//
// Rejected approaches
//   - Lock-free ring + separate waiter lists (crossbeam-channel's array flavour, Vyukov's bounded
//     MPMC queue): a faster uncontended path, but a receiver woken for a value must retry and may
//     lose it to a barging receiver, unbuffered channels need a second algorithm, and select must
//     re-check every case after registering. With one lock per channel, the rendezvous, close and
//     select are all plain critical sections, and a value handed to a waiter goes straight into
//     its slot (Go's direct send/receive: no buffer round trip, and no retry loop).
//   - Waking a receiver and letting it take the value itself: between the wake and its run another
//     receiver could take it, and a receiver cancelled after its wake would strand the value.
//     Direct hand-off decides who gets the value while the lock is held.
//   - Reference-free `channel&` shared by reference: the Go user's `ch := make(chan T)` is a
//     reference type that outlives the function that made it; a counted handle gives the same
//     freedom without asking users to manage the channel's lifetime.
//
// Current approach: the operations, in steps (typed halves in channel.hpp)
//   send(v):
//     1. lock. closed? -> unlock, channel_closed (v untouched).
//     2. a receiver (or a select case that we win) waits? -> move v into its slot, mark it done,
//        unlock, wake it (it runs next on this worker, LIFO). Done.
//     3. room in the ring? -> push v at the tail, unlock. Done.
//     4. otherwise wait (waiter.cpp steps 2-5): enqueue on sendq with a pointer to v.
//   recv():
//     1. lock. a sender waits? -> unbuffered: move its value into our result; buffered (so full):
//        take the head of the ring, push the sender's value at the tail. Mark it done, unlock,
//        wake it.
//     2. a value in the ring? -> take the head, unlock.
//     3. closed? -> unlock, report closed.
//     4. otherwise wait: enqueue on recvq with a pointer to our result slot.
//   close():
//     1. lock; closing twice aborts. Set closed.
//     2. take every receiver (they report closed; their slots stay empty) and every sender (they
//        report channel_closed; their values stay where they are) off the queues, skipping select
//        cases whose select already fired; unlock; wake them all.
//   cancellation of a waiting send/recv: the hook unlinks the waiter if it is still queued; a
//   waiter that a completer already took has its value (or gave it) and succeeds.
//
// Every operation that completes without waiting spends one unit of the task's cooperative budget
// and yields when it is spent, so a producer that never finds the channel full cannot starve the
// other tasks of its worker (Tokio's coop budget).
//
// References
//   Go runtime/chan.go (chansend, chanrecv, closechan, send/recv direct hand-off) and its memory
//   model (https://go.dev/ref/mem#chan); Dmitry Vyukov, "Go channels on steroids" (2014);
//   Tokio tokio/src/sync/mpsc (bounded channel, coop budget); crossbeam-channel src/flavors.

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
    spin_guard g(lock_);
    return closed_;
}

std::size_t chan_core::size() const noexcept {
    if (!ring_) {
        spin_guard g(lock_);
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
    // Runs under the task's cancel_state lock, on any thread.
    auto* w = static_cast<chan_waiter*>(h);
    chan_core* c = w->chan;
    c->lock_.lock();
    if (w->state == wait_state::queued) {
        w->queue->remove(w);
        w->state = wait_state::cancelled;
        c->lock_.unlock();
        wake(w);
        return;
    }
    if (w->state == wait_state::idle) {
        w->state = wait_state::cancelled; // not enqueued yet: the awaiter sees it under the lock
    }
    c->lock_.unlock();
}

} // namespace weft::sync::detail

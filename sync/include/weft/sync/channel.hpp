// weft::sync::channel<T>: Go's channels for weft tasks (and plain threads).
//
//     weft::sync::channel<int> ch(16);                // buffered; channel<int>() is unbuffered,
//                                                     // channel<int>::unbounded() never fills
//     weft::go(producer(ch));                         // handles are cheap to copy: they share
//     if (auto r = co_await ch.send(42); !r) { ... }  // result<void>: channel_closed, or cancelled
//     while (auto v = co_await ch.recv()) use(*v);    // empty once closed and drained
//     ch.close();
//
// Semantics are Go's (runtime/chan.go):
//   - unbuffered (capacity 0): a send completes only when a receiver takes the value (rendezvous);
//     buffered: a send waits only while the buffer is full; unbounded: a send never waits.
//   - recv() waits while there is nothing to take; after close() it drains what is buffered, then
//     yields an empty recv_result (error() == weft::errc::channel_closed) at once, for ever.
//   - send() on a closed channel fails with channel_closed; closing twice aborts (Go panics).
//   - Values from one sender arrive in the order they were sent; waiting receivers and senders are
//     served first come, first served.
//   - A value is never lost or duplicated: a send that fails (closed, cancelled, timed out) did not
//     consume its value (send(std::move(v)) leaves v intact; try_send hands it back the same way),
//     and a receive that is cut short never took one.
// See select.hpp for waiting on several channels at once.
//
// Handles. channel<T> is a reference to a shared channel (Go's `chan T`), counted: copies share
// the channel, which lives until the last handle goes. sender<T> and receiver<T> are the
// directional views (Go's `chan<- T`, `<-chan T`): pass a task only the end it should use. A
// default-constructed or moved-from handle is empty; using it aborts with a message. The handle
// an operation was started from must outlive the operation (it does when you write
// `co_await ch.recv()`).
//
// Thread-safety: every operation may be called concurrently from any task of any runtime;
// blocking_send/blocking_recv are for plain threads outside the runtimes (see their comments).
// Memory ordering: a send happens-before the receive that takes its value completes, and close()
// happens-before a receive that reports the channel closed (Go's memory model).
// Cancellation: a send or receive that has to wait completes with operation_canceled (or
// timed_out under with_timeout) as soon as its task is cancelled, and one started by an already
// cancelled task fails without waiting; an operation that can complete at once does so even in a
// cancelled task. Either way nothing is lost: a value being handed over to a receiver that is
// cancelled at the same moment either reaches it (the receive then succeeds) or stays with the
// channel for another receiver.
// Which thread resumes the awaiter: a task whose operation completes at once continues on its
// own thread without suspending (unless its cooperative budget is spent: it then yields). A task
// that waited is queued on the worker of the task that completed it (among that worker's
// wake-ups; it may be stolen from there), or on its runtime's global queue when a plain thread
// or another runtime completed it.
// Element types: T must be nothrow move-constructible (values move under the channel's lock);
// move-only types work.
#pragma once

#include <weft/runtime/result.hpp>

#include <weft/runtime/detail/assert.hpp>
#include <weft/runtime/detail/nodiscard.hpp>
#include <weft/sync/detail/chan_core.hpp>
#include <weft/sync/detail/waiter.hpp>

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <system_error>
#include <type_traits>
#include <utility>

namespace weft::sync {

namespace detail {
template <class T>
class chan_state;
template <class T>
class recv_awaiter;
template <class Case>
struct case_state;
template <class T>
class chan_ref;
} // namespace detail

/// What a receive yields: the value, or why there is none. It is a std::optional<T> (empty once
/// the channel is closed and drained, as Go's `v, ok := <-ch`), so
/// `std::optional<T> v = co_await ch.recv();` and `while (auto v = co_await ch.recv())` both
/// work; error() says why it is empty: weft::errc::channel_closed, std::errc::operation_canceled
/// or timed_out (cancelled), std::errc::operation_would_block (try_recv found nothing).
template <class T>
class recv_result : public std::optional<T> {
public:
    recv_result() noexcept = default;
    /// A value.
    explicit recv_result(T&& v) noexcept(std::is_nothrow_move_constructible_v<T>)
        : std::optional<T>(std::move(v)) {}
    /// No value, because of `ec` (channel_closed, operation_canceled, timed_out or
    /// operation_would_block).
    recv_result(std::nullopt_t, std::error_code ec) noexcept
        : why_(
              ec == weft::errc::channel_closed         ? why::closed
              : ec == std::errc::timed_out             ? why::timed_out
              : ec == std::errc::operation_would_block ? why::would_block
                                                       : why::canceled) {}

    /// Why there is no value; std::error_code{} when there is one.
    std::error_code error() const noexcept {
        switch (why_) {
        case why::none:
            return {};
        case why::closed:
            return weft::errc::channel_closed;
        case why::canceled:
            return std::make_error_code(std::errc::operation_canceled);
        case why::timed_out:
            return std::make_error_code(std::errc::timed_out);
        case why::would_block:
            return std::make_error_code(std::errc::operation_would_block);
        }
        return {};
    }
    /// True when the channel was closed and drained.
    bool closed() const noexcept { return why_ == why::closed; }

private:
    template <class>
    friend class detail::recv_awaiter;
    template <class>
    friend class detail::chan_state;
    template <class>
    friend struct detail::case_state;
    template <class>
    friend class detail::chan_ref;

    // Kept as a byte rather than a std::error_code: building one costs a call per receive.
    enum class why : std::uint8_t { none, closed, canceled, timed_out, would_block };
    why why_ = why::none;
};

template <class T>
class channel;
template <class T>
class sender;
template <class T>
class receiver;
template <class T>
struct recv_case;
template <class T>
struct send_case;

namespace detail {

/// Outcome of a lock-free attempt on the ring of a bounded channel.
enum class fast_status : std::uint8_t {
    ok,      ///< done
    closed,  ///< closed (push), or closed and drained (pop)
    blocked, ///< full (push) / empty (pop): the operation has to wait
    locked,  ///< a wait bit is set: take the lock (someone waits on the other side)
};

/// The typed channel: chan_core plus the buffer of T and the transfers (Go's chansend / chanrecv).
/// Bounded channels keep their values in a lock-free ring of stamped slots (Vyukov's bounded
/// queue, as crossbeam-channel's array flavour); unbuffered and unbounded channels do everything
/// under the lock. Algorithm: sync/src/channel.cpp.
template <class T>
class chan_state final : public chan_core {
    static_assert(
        std::is_nothrow_move_constructible_v<T> && std::is_nothrow_destructible_v<T>,
        "weft::sync::channel<T> needs a T that is nothrow move-constructible and destructible");

    struct slot {
        std::atomic<std::uint64_t> stamp; // position + 1 when full, next lap's position when free
        alignas(T) unsigned char storage[sizeof(T)];
        T* value() noexcept { return std::launder(reinterpret_cast<T*>(storage)); }
    };

public:
    explicit chan_state(std::size_t capacity)
        : chan_core(capacity, &destroy_self) {
        if (ring_) {
            slot* s = std::allocator<slot>{}.allocate(capacity);
            for (std::size_t i = 0; i < capacity; ++i) {
                std::construct_at(&s[i].stamp, static_cast<std::uint64_t>(i));
            }
            slots_ = s;
        }
    }

    ~chan_state() {
        WEFT_ASSERT(
            recvq_.empty() && sendq_.empty(),
            "weft::sync::channel destroyed while tasks wait on it (keep a handle in the waiting "
            "task)");
        if (ring_) {
            std::uint64_t head = head_.load(std::memory_order_relaxed) & ~wait_bit_;
            const std::uint64_t tail = tail_.load(std::memory_order_relaxed) & pos_mask();
            while (head != tail) {
                std::destroy_at(slots()[head & index_mask_].value());
                head = advance(head);
            }
            for (std::size_t i = 0; i < cap_; ++i) {
                std::destroy_at(&slots()[i].stamp);
            }
            std::allocator<slot>{}.deallocate(slots(), cap_);
        } else {
            while (count_ != 0) {
                std::destroy_at(buf_ + first_);
                first_ = next(first_);
                --count_;
            }
            if (buf_ != nullptr) {
                std::allocator<T>{}.deallocate(buf_, alloc_);
            }
        }
    }

    // --- the bounded ring, lock-free (ring channels only) ---
    //
    // Inlining: the fast paths (try_push/try_pop and the awaiters' await_ready/await_resume) are
    // forced inline into the awaiting coroutine and the lock paths kept out of line. clang 14
    // otherwise leaves await_ready out of line: 16% more instructions per item in bench `mpmc`.

    /// Pushes `v` (moved from only on ok) unless the ring is full, closed, or receivers wait.
    [[gnu::always_inline]] fast_status try_push(T& v) noexcept {
        std::uint64_t tail = tail_.load(std::memory_order_relaxed);
        for (;;) {
            if ((tail & (closed_bit_ | wait_bit_)) != 0) {
                return fast_status::locked;
            }
            slot& s = slots()[tail & index_mask_];
            // acquire: pairs with the release store of the pop that freed the slot.
            const std::uint64_t stamp = s.stamp.load(std::memory_order_acquire);
            if (stamp == tail) {
                if (tail_.compare_exchange_weak(
                        tail,
                        advance(tail),
                        std::memory_order_seq_cst,
                        std::memory_order_relaxed)) {
                    std::construct_at(s.value(), std::move(v));
                    // release: the value is visible to the pop that acquires this stamp.
                    s.stamp.store(tail + 1, std::memory_order_release);
                    return fast_status::ok;
                }
            } else if (stamp + one_lap_ == tail + 1) {
                // The slot still holds last lap's value: full, unless a pop is under way.
                if ((head_.load(std::memory_order_seq_cst) & ~wait_bit_) + one_lap_ == tail) {
                    return fast_status::blocked;
                }
                weft::detail::cpu_relax();
                tail = tail_.load(std::memory_order_relaxed);
            } else {
                // Another push filled this slot already: our tail is stale. Look again at once
                // (pausing here, as crossbeam does, measured 20% slower under contention).
                tail = tail_.load(std::memory_order_relaxed);
            }
        }
    }

    /// Pops into `out` unless the ring is empty, or senders wait.
    [[gnu::always_inline]] fast_status try_pop(std::optional<T>& out) noexcept {
        std::uint64_t head = head_.load(std::memory_order_relaxed);
        for (;;) {
            if ((head & wait_bit_) != 0) {
                return fast_status::locked;
            }
            slot& s = slots()[head & index_mask_];
            // acquire: pairs with the release store of the push that filled the slot.
            const std::uint64_t stamp = s.stamp.load(std::memory_order_acquire);
            if (stamp == head + 1) {
                if (head_.compare_exchange_weak(
                        head,
                        advance(head),
                        std::memory_order_seq_cst,
                        std::memory_order_relaxed)) {
                    out.emplace(std::move(*s.value()));
                    std::destroy_at(s.value());
                    // release: the slot's reuse by a push happens after our read.
                    s.stamp.store(head + one_lap_, std::memory_order_release);
                    return fast_status::ok;
                }
            } else if (stamp == head) {
                // The slot is free: empty, unless a push has claimed it and is writing.
                const std::uint64_t tail = tail_.load(std::memory_order_seq_cst);
                if ((tail & pos_mask()) == head) {
                    return (tail & closed_bit_) != 0 ? fast_status::closed : fast_status::blocked;
                }
                weft::detail::cpu_relax();
                head = head_.load(std::memory_order_relaxed);
            } else {
                // Another pop took this slot already: our head is stale. Look again at once.
                head = head_.load(std::memory_order_relaxed);
            }
        }
    }

    // --- under the lock ---

    /// Under the lock: send `v` (moved from only on ok). A waiting receiver takes the value
    /// straight into its slot (Go's direct send), else it goes into the buffer if there is room.
    /// With `reserve`, a ring channel that is full is marked so (head wait bit) before
    /// would_block is returned: the caller then enqueues and no pop can slip past it. `peer` is
    /// set to a waiter to wake once the lock is released.
    op_status send_locked(T& v, chan_waiter*& peer, bool reserve) noexcept {
        if (ring_) {
            return ring_send_locked(v, peer, reserve);
        }
        if (closed_) {
            return op_status::closed;
        }
        if (chan_waiter* r = dequeue(recvq_)) {
            static_cast<std::optional<T>*>(r->slot)->emplace(std::move(v));
            r->state = wait_state::done;
            peer = r;
            return op_status::ok;
        }
        if (count_ < cap_) {
            push_unbounded(std::move(v));
            return op_status::ok;
        }
        return op_status::would_block;
    }

    /// Under the lock: receive into `out`. A waiting sender means the buffer is full (or there is
    /// none): take the oldest value and move the sender's value in behind it (Go's recv), or
    /// take the sender's value directly when unbuffered. Then the buffer, then closed. With
    /// `reserve`, an empty ring channel is marked so (tail wait bit) before would_block.
    op_status recv_locked(std::optional<T>& out, chan_waiter*& peer, bool reserve) noexcept {
        if (ring_) {
            return ring_recv_locked(out, peer, reserve);
        }
        if (chan_waiter* s = dequeue(sendq_)) {
            T& src = *static_cast<T*>(s->slot);
            if (count_ == 0) {
                out.emplace(std::move(src));
            } else {
                out.emplace(std::move(buf_[first_]));
                std::destroy_at(buf_ + first_);
                first_ = next(first_);
                --count_;
                push_unbounded(std::move(src));
            }
            s->state = wait_state::done;
            peer = s;
            return op_status::ok;
        }
        if (count_ != 0) {
            out.emplace(std::move(buf_[first_]));
            std::destroy_at(buf_ + first_);
            first_ = next(first_);
            --count_;
            return op_status::ok;
        }
        return closed_ ? op_status::closed : op_status::would_block;
    }

    /// Plain-thread send: waits on a futex. See channel::blocking_send.
    result<void> blocking_send(T& v) noexcept;
    /// Plain-thread receive: waits on a futex. See channel::blocking_recv.
    recv_result<T> blocking_recv() noexcept;

private:
    static void destroy_self(chan_core* c) noexcept { delete static_cast<chan_state*>(c); }

    std::uint64_t pos_mask() const noexcept { return ~(closed_bit_ | wait_bit_); }
    slot* slots() const noexcept { return static_cast<slot*>(slots_); }

    [[gnu::noinline]] op_status ring_send_locked(T& v, chan_waiter*& peer, bool reserve) noexcept {
        for (;;) {
            std::uint64_t tail = tail_.load(std::memory_order_seq_cst);
            if ((tail & closed_bit_) != 0) {
                return op_status::closed;
            }
            if ((tail & wait_bit_) != 0) {
                // Receivers wait, so the ring is empty: hand the value over directly.
                if (chan_waiter* r = dequeue(recvq_)) {
                    static_cast<std::optional<T>*>(r->slot)->emplace(std::move(v));
                    r->state = wait_state::done;
                    peer = r;
                    if (recvq_.empty()) {
                        tail_.fetch_and(~wait_bit_, std::memory_order_seq_cst);
                    }
                    return op_status::ok;
                }
                // Only stale select cases were left.
                tail_.fetch_and(~wait_bit_, std::memory_order_seq_cst);
                continue;
            }
            switch (try_push(v)) {
            case fast_status::ok:
                return op_status::ok;
            case fast_status::locked:
            case fast_status::closed:
                continue;
            case fast_status::blocked:
                break;
            }
            if (!reserve) {
                return op_status::would_block;
            }
            // Full: set head's wait bit, but only if the ring is still full (the CAS fails if a
            // pop moved head meanwhile).
            std::uint64_t head = head_.load(std::memory_order_seq_cst);
            if ((head & wait_bit_) != 0) {
                return op_status::would_block;
            }
            if (head + one_lap_ != (tail_.load(std::memory_order_seq_cst) & pos_mask())) {
                continue;
            }
            if (head_.compare_exchange_strong(head, head | wait_bit_, std::memory_order_seq_cst)) {
                return op_status::would_block;
            }
        }
    }

    [[gnu::noinline]] op_status
    ring_recv_locked(std::optional<T>& out, chan_waiter*& peer, bool reserve) noexcept {
        for (;;) {
            const std::uint64_t head = head_.load(std::memory_order_seq_cst);
            if ((head & wait_bit_) != 0) {
                // Senders wait, so the ring is full: take the oldest value and put the first
                // sender's value in the same slot as the newest (Go's recv from a full channel).
                if (chan_waiter* s = dequeue(sendq_)) {
                    const std::uint64_t pos = head & ~wait_bit_;
                    slot& sl = slots()[pos & index_mask_];
                    // The push that filled it may still be publishing.
                    while (sl.stamp.load(std::memory_order_acquire) != pos + 1) {
                        weft::detail::cpu_relax();
                    }
                    out.emplace(std::move(*sl.value()));
                    std::destroy_at(sl.value());
                    std::construct_at(sl.value(), std::move(*static_cast<T*>(s->slot)));
                    const std::uint64_t tail = pos + one_lap_;
                    // Fast pushes see this slot full for their tail and never CAS tail_ now;
                    // fast pops are kept out by head's wait bit: plain stores suffice.
                    sl.stamp.store(tail + 1, std::memory_order_release);
                    tail_.store(advance(tail), std::memory_order_seq_cst);
                    head_.store(
                        advance(pos) | (sendq_.empty() ? 0 : wait_bit_), std::memory_order_seq_cst);
                    s->state = wait_state::done;
                    peer = s;
                    return op_status::ok;
                }
                // Only stale select cases were left.
                head_.fetch_and(~wait_bit_, std::memory_order_seq_cst);
                continue;
            }
            switch (try_pop(out)) {
            case fast_status::ok:
                return op_status::ok;
            case fast_status::closed:
                return op_status::closed;
            case fast_status::locked:
                continue;
            case fast_status::blocked:
                break;
            }
            if (!reserve) {
                return op_status::would_block;
            }
            // Empty: set tail's wait bit, but only if the ring is still empty (the CAS fails if a
            // push moved tail meanwhile; head cannot pass tail).
            std::uint64_t tail = tail_.load(std::memory_order_seq_cst);
            if ((tail & closed_bit_) != 0) {
                continue; // try_pop reports closed once drained
            }
            if ((tail & wait_bit_) != 0) {
                return op_status::would_block;
            }
            if ((head_.load(std::memory_order_seq_cst) & ~wait_bit_) != tail) {
                continue;
            }
            if (tail_.compare_exchange_strong(tail, tail | wait_bit_, std::memory_order_seq_cst)) {
                return op_status::would_block;
            }
        }
    }

    std::size_t next(std::size_t i) const noexcept { return i + 1 == alloc_ ? 0 : i + 1; }

    void push_unbounded(T&& v) noexcept {
        if (count_ == alloc_) {
            grow(); // unbounded only: unbuffered channels never buffer
        }
        std::size_t tail = first_ + count_;
        if (tail >= alloc_) {
            tail -= alloc_;
        }
        std::construct_at(buf_ + tail, std::move(v));
        ++count_;
    }

    // Unbounded channels double their ring (amortised: no allocation per operation). noexcept:
    // running out of memory under the channel's lock terminates, as it crashes a Go program.
    void grow() noexcept {
        const std::size_t n = alloc_ == 0 ? 16 : alloc_ * 2;
        T* fresh = std::allocator<T>{}.allocate(n);
        for (std::size_t i = 0; i < count_; ++i) {
            std::construct_at(fresh + i, std::move(buf_[first_]));
            std::destroy_at(buf_ + first_);
            first_ = next(first_);
        }
        if (buf_ != nullptr) {
            std::allocator<T>{}.deallocate(buf_, alloc_);
        }
        buf_ = fresh;
        alloc_ = n;
        first_ = 0;
    }

    // Unbounded channels: count_ values from first_ on, wrapping at alloc_. Guarded by lock_.
    T* buf_ = nullptr;
    std::size_t alloc_ = 0;
    std::size_t first_ = 0;
};

/// std::error_code{} made once: building one calls std::system_category() out of line.
inline const std::error_code no_error{};

/// What a completed plain send reports.
inline result<void> send_outcome(wait_state s, const task_waiter& w) noexcept {
    switch (s) {
    case wait_state::done:
        return no_error;
    case wait_state::closed:
        return weft::errc::channel_closed;
    default:
        return w.cancel_error();
    }
}

/// What recv_awaiter and send_awaiter share: the attempt under the channel's lock and the slow
/// path that enqueues the waiter. `Self` supplies ch_, the locked operation (recv_locked or
/// send_locked) and where a waiting peer finds its value (slot) in which queue.
template <class Self>
class chan_op_awaiter : protected chan_waiter {
public:
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) noexcept {
        if (state != wait_state::idle) { // completed in await_ready; the budget is spent
            weft::detail::yield_to_back(h);
            return true;
        }
        bind(h);
        return suspend_slow();
    }

protected:
    /// One attempt under the lock, from await_ready: true when done (or closed) and the budget
    /// allows going on without a suspension.
    [[gnu::noinline]] bool try_locked() noexcept {
        Self& self = static_cast<Self&>(*this);
        chan_waiter* peer = nullptr;
        self.ch_->lock_.lock();
        const op_status st = self.locked(peer, false);
        self.ch_->lock_.unlock();
        if (st == op_status::would_block) {
            return false;
        }
        if (peer != nullptr) {
            wake_chan(peer);
        }
        state = st == op_status::ok ? wait_state::done : wait_state::closed;
        return !spend_budget();
    }

    /// Arms cancellation, then completes under the lock or enqueues: true when suspended.
    [[gnu::noinline]] bool suspend_slow() noexcept {
        if (!arm()) {
            return false;
        }
        Self& self = static_cast<Self&>(*this);
        chan_waiter* peer = nullptr;
        self.ch_->lock_.lock();
        if (state == wait_state::cancelled) { // the hook fired between arm() and the lock
            self.ch_->lock_.unlock();
            return false;
        }
        const op_status st = self.locked(peer, true);
        if (st != op_status::would_block) {
            state = st == op_status::ok ? wait_state::done : wait_state::closed;
            self.ch_->lock_.unlock();
            if (peer != nullptr) {
                wake_chan(peer);
            }
            return false;
        }
        slot = self.peer_slot();
        self.ch_->enqueue(self.queue(), this);
        count_blocked(weft::detail::blocked_on::channel);
        self.ch_->lock_.unlock();
        return true;
    }
};

/// co_await ch.recv(): see the file comment.
template <class T>
class WEFT_NODISCARD("a channel receive does nothing unless co_awaited") recv_awaiter
    : private chan_op_awaiter<recv_awaiter<T>> {
    using base = chan_op_awaiter<recv_awaiter<T>>;
    friend base;

public:
    explicit recv_awaiter(chan_state<T>* c) noexcept
        : ch_(c) {
        this->chan = c;
    }
    recv_awaiter(const recv_awaiter&) = delete;
    recv_awaiter& operator=(const recv_awaiter&) = delete;

    /// Tries to complete at once (no suspension machinery at all when it does): a lock-free pop
    /// on a bounded channel, else one attempt under the lock. False when the task has to wait,
    /// or completed but has spent its cooperative budget (await_suspend then yields).
    [[gnu::always_inline]] bool await_ready() noexcept {
        if (ch_->ring_mode()) [[likely]] {
            const fast_status fs = ch_->try_pop(out_);
            if (fs == fast_status::ok) [[likely]] {
                this->state = wait_state::done;
                return !spend_budget();
            }
            if (fs == fast_status::blocked) {
                return false; // empty: we will most likely wait; await_suspend arms first
            }
            if (fs == fast_status::closed) {
                this->state = wait_state::closed;
                return !spend_budget();
            }
            // locked: senders wait, and the lock path has a value for us
        }
        return this->try_locked();
    }

    using base::await_suspend;

    [[gnu::always_inline]] recv_result<T> await_resume() noexcept {
        this->finish();
        const wait_state st = this->state;
        if (st == wait_state::done) [[likely]] {
            // Built from the value alone (not a copy of the whole optional): cheaper, and no
            // store-forwarding stall on the bytes try_pop just wrote.
            return recv_result<T>(std::move(*out_));
        }
        return recv_result<T>(
            std::nullopt,
            st == wait_state::closed ? make_error_code(weft::errc::channel_closed)
                                     : this->cancel_error());
    }

private:
    op_status locked(chan_waiter*& peer, bool reserve) noexcept {
        return ch_->recv_locked(out_, peer, reserve);
    }
    void* peer_slot() noexcept { return static_cast<std::optional<T>*>(&out_); }
    waiter_list& queue() noexcept { return ch_->recvq_; }

    chan_state<T>* ch_;
    recv_result<T> out_;
};

/// co_await ch.send(v): see the file comment.
template <class T>
class WEFT_NODISCARD("a channel send does nothing unless co_awaited") send_awaiter
    : private chan_op_awaiter<send_awaiter<T>> {
    using base = chan_op_awaiter<send_awaiter<T>>;
    friend base;

public:
    send_awaiter(chan_state<T>* c, T* src) noexcept
        : ch_(c)
        , src_(src) {
        this->chan = c;
    }
    send_awaiter(const send_awaiter&) = delete;
    send_awaiter& operator=(const send_awaiter&) = delete;

    /// Tries to complete at once (see recv_awaiter::await_ready).
    [[gnu::always_inline]] bool await_ready() noexcept {
        if (ch_->ring_mode()) [[likely]] {
            const fast_status fs = ch_->try_push(*src_);
            if (fs == fast_status::ok) [[likely]] {
                this->state = wait_state::done;
                return !spend_budget();
            }
            if (fs == fast_status::blocked) {
                return false; // full: we will most likely wait; await_suspend arms first
            }
            // locked: receivers wait (or closed): the lock path hands the value over
        }
        return this->try_locked();
    }

    using base::await_suspend;

    /// Success, or channel_closed / operation_canceled / timed_out: the value was then not
    /// consumed (an rvalue passed to send() is left as it was).
    [[gnu::always_inline]] result<void> await_resume() noexcept {
        this->finish();
        return send_outcome(this->state, *this);
    }

private:
    op_status locked(chan_waiter*& peer, bool reserve) noexcept {
        return ch_->send_locked(*src_, peer, reserve);
    }
    void* peer_slot() noexcept { return src_; }
    waiter_list& queue() noexcept { return ch_->sendq_; }

    chan_state<T>* ch_;
    T* src_;
};

/// What ch.recv() returns: co_await it (once).
template <class T>
class WEFT_NODISCARD("a channel receive does nothing unless co_awaited") recv_op {
public:
    explicit recv_op(chan_state<T>* c) noexcept
        : ch_(c) {}
    recv_awaiter<T> operator co_await() && noexcept { return recv_awaiter<T>(ch_); }

private:
    chan_state<T>* ch_;
};

/// What ch.send(v) returns: co_await it (once), in the same full-expression (it refers to v).
template <class T>
class WEFT_NODISCARD("a channel send does nothing unless co_awaited") send_op {
public:
    send_op(chan_state<T>* c, T* src) noexcept
        : ch_(c)
        , src_(src) {}
    send_op(chan_state<T>* c, const T& v)
        : ch_(c)
        , own_(v) {}
    send_awaiter<T> operator co_await() && noexcept {
        return send_awaiter<T>(ch_, own_ ? &*own_ : src_);
    }

private:
    chan_state<T>* ch_;
    T* src_ = nullptr;
    std::optional<T> own_; // the copy made by send(const T&)
};

template <class T>
result<void> chan_state<T>::blocking_send(T& v) noexcept {
    WEFT_ASSERT(
        weft::detail::current_worker() == nullptr,
        "weft::sync::channel::blocking_send called on a weft worker (it would block the worker; "
        "co_await send() instead)");
    if (ring_ && try_push(v) == fast_status::ok) {
        return {};
    }
    chan_waiter* peer = nullptr;
    lock_.lock();
    const op_status st = send_locked(v, peer, true);
    if (st != op_status::would_block) {
        lock_.unlock();
        if (peer != nullptr) {
            wake_chan(peer);
        }
        return st == op_status::ok ? result<void>{} : result<void>{weft::errc::channel_closed};
    }
    chan_waiter w;
    w.bind_thread();
    w.slot = &v;
    enqueue(sendq_, &w);
    lock_.unlock();
    park_thread(w);
    return send_outcome(w.state, w);
}

template <class T>
recv_result<T> chan_state<T>::blocking_recv() noexcept {
    WEFT_ASSERT(
        weft::detail::current_worker() == nullptr,
        "weft::sync::channel::blocking_recv called on a weft worker (it would block the worker; "
        "co_await recv() instead)");
    recv_result<T> out;
    if (ring_) {
        const fast_status fs = try_pop(out);
        if (fs == fast_status::ok) {
            return out;
        }
        if (fs == fast_status::closed) {
            out.why_ = recv_result<T>::why::closed;
            return out;
        }
    }
    chan_waiter* peer = nullptr;
    lock_.lock();
    const op_status st = recv_locked(out, peer, true);
    if (st != op_status::would_block) {
        lock_.unlock();
        if (peer != nullptr) {
            wake_chan(peer);
        }
        if (st == op_status::closed) {
            out.why_ = recv_result<T>::why::closed;
        }
        return out;
    }
    chan_waiter w;
    w.bind_thread();
    w.slot = static_cast<std::optional<T>*>(&out);
    enqueue(recvq_, &w);
    lock_.unlock();
    park_thread(w);
    if (w.state == wait_state::closed) {
        out.why_ = recv_result<T>::why::closed;
    }
    return out;
}

/// The shared part of channel, sender and receiver: a counted reference to a chan_state<T>.
template <class T>
class chan_ref {
public:
    chan_ref() noexcept = default;
    chan_ref(const chan_ref& o) noexcept
        : s_(o.s_) {
        if (s_ != nullptr) {
            s_->add_ref();
        }
    }
    chan_ref(chan_ref&& o) noexcept
        : s_(std::exchange(o.s_, nullptr)) {}
    chan_ref& operator=(chan_ref o) noexcept {
        std::swap(s_, o.s_);
        return *this;
    }
    ~chan_ref() {
        if (s_ != nullptr) {
            s_->release();
        }
    }

    /// True unless default-constructed or moved from.
    explicit operator bool() const noexcept { return s_ != nullptr; }
    /// Same channel?
    friend bool operator==(const chan_ref& a, const chan_ref& b) noexcept { return a.s_ == b.s_; }

    /// Values buffered right now (a snapshot).
    std::size_t size() const noexcept { return state()->size(); }
    /// 0 for unbuffered, the bound for buffered, SIZE_MAX for unbounded channels.
    std::size_t capacity() const noexcept { return state()->capacity(); }
    /// True once close() was called (a snapshot; values may still be buffered).
    bool is_closed() const noexcept { return state()->is_closed(); }

protected:
    explicit chan_ref(chan_state<T>* s) noexcept
        : s_(s) {}

    chan_state<T>* state() const noexcept {
        WEFT_ASSERT(
            s_ != nullptr,
            "use of an empty weft::sync channel handle (default-constructed or moved from)");
        return s_;
    }

    // --- the operations; channel, sender and receiver expose their subsets ---

    send_op<T> send(T&& v) noexcept { return send_op<T>(state(), &v); }
    send_op<T> send(const T& v) { return send_op<T>(state(), v); }

    result<void> try_send(T&& v) noexcept {
        chan_state<T>* s = state();
        if (s->ring_mode()) {
            switch (s->try_push(v)) {
            case fast_status::ok:
                return no_error;
            case fast_status::blocked:
                return std::errc::operation_would_block;
            case fast_status::closed:
            case fast_status::locked:
                break; // receivers wait, or closed: the lock path knows
            }
        }
        chan_waiter* peer = nullptr;
        s->lock_.lock();
        const op_status st = s->send_locked(v, peer, false);
        s->lock_.unlock();
        if (peer != nullptr) {
            wake_chan(peer);
        }
        switch (st) {
        case op_status::ok:
            return no_error;
        case op_status::closed:
            return weft::errc::channel_closed;
        default:
            return std::errc::operation_would_block;
        }
    }
    result<void> try_send(const T& v) {
        T copy(v);
        return try_send(std::move(copy));
    }

    result<void> blocking_send(T&& v) noexcept { return state()->blocking_send(v); }
    result<void> blocking_send(const T& v) {
        T copy(v);
        return state()->blocking_send(copy);
    }

    recv_op<T> recv() noexcept { return recv_op<T>(state()); }

    recv_result<T> try_recv() noexcept {
        chan_state<T>* s = state();
        recv_result<T> out; // the only object returned: constructed in place (NRVO)
        if (s->ring_mode()) {
            switch (s->try_pop(out)) {
            case fast_status::ok:
                return out;
            case fast_status::blocked:
                out.why_ = recv_result<T>::why::would_block;
                return out;
            case fast_status::closed:
                out.why_ = recv_result<T>::why::closed;
                return out;
            case fast_status::locked:
                break; // senders wait: the lock path takes a value and lets one in
            }
        }
        chan_waiter* peer = nullptr;
        s->lock_.lock();
        const op_status st = s->recv_locked(out, peer, false);
        s->lock_.unlock();
        if (peer != nullptr) {
            wake_chan(peer);
        }
        if (st == op_status::closed) {
            out.why_ = recv_result<T>::why::closed;
        } else if (st == op_status::would_block) {
            out.why_ = recv_result<T>::why::would_block;
        }
        return out;
    }

    recv_result<T> blocking_recv() noexcept { return state()->blocking_recv(); }

    void close() noexcept { state()->close(); }

    recv_case<T> make_recv_case() const noexcept;
    send_case<T> make_send_case(T&& v) const noexcept;
    send_case<T> make_send_case(const T& v) const;

    chan_state<T>* s_ = nullptr;
};

} // namespace detail

/// A select case that receives from a channel; see select.hpp. Its outcome is a recv_result<T>.
/// A case made from an empty handle is never ready (Go's nil channel).
template <class T>
struct recv_case {
    detail::chan_state<T>* chan = nullptr;
};

/// A select case that sends a value; see select.hpp. Its outcome is a result<void>; the value is
/// consumed only if this case fires without error. A case made from an empty handle is never
/// ready (Go's nil channel).
template <class T>
struct send_case {
    detail::chan_state<T>* chan = nullptr;
    T* src = nullptr;     // the caller's value (send_case(T&&)), moved from only if this fires
    std::optional<T> own; // or a copy (send_case(const T&))
};

template <class T>
recv_case<T> detail::chan_ref<T>::make_recv_case() const noexcept {
    return recv_case<T>{s_};
}
template <class T>
send_case<T> detail::chan_ref<T>::make_send_case(T&& v) const noexcept {
    return send_case<T>{s_, &v, std::nullopt};
}
template <class T>
send_case<T> detail::chan_ref<T>::make_send_case(const T& v) const {
    return send_case<T>{s_, nullptr, std::optional<T>(v)};
}

/// A channel: both ends. See the file comment.
template <class T>
class channel : public detail::chan_ref<T> {
    using base = detail::chan_ref<T>;

public:
    /// A new channel with room for `capacity` values; 0 (the default) makes it unbuffered.
    explicit channel(std::size_t capacity = 0)
        : base(new detail::chan_state<T>(capacity)) {}
    /// A new channel whose sends never wait (its buffer grows as needed).
    static channel unbounded() { return channel(detail::chan_core::unbounded); }
    /// An empty handle (Go's nil channel): its select cases are never ready; any other use aborts.
    static channel nil() noexcept { return channel(nil_tag{}); }

    /// `co_await ch.send(std::move(v))`: result<void>. Waits while the channel is full (or, when
    /// unbuffered, until a receiver takes the value). On error (weft::errc::channel_closed,
    /// operation_canceled, timed_out) `v` was not moved from. send(v) with an lvalue copies.
    using base::send;
    /// Sends without waiting: success, or weft::errc::channel_closed, or
    /// std::errc::operation_would_block (full, or no receiver waiting on an unbuffered channel);
    /// on error an rvalue `v` is left as it was (the value is handed back).
    using base::try_send;
    /// From a plain thread outside the runtime: sends, blocking the thread while the channel is
    /// full. Never call it on a weft worker (aborts). Tasks that wait for such a thread look
    /// deadlocked to the runtime's detector: turn runtime_options::detect_deadlock off when every
    /// task may be waiting on plain threads.
    using base::blocking_send;
    /// `co_await ch.recv()`: recv_result<T> (a std::optional<T>); empty once closed and drained,
    /// or when cancelled (see error()).
    using base::recv;
    /// Receives without waiting: a value, or empty with error() channel_closed (closed and
    /// drained) or std::errc::operation_would_block (nothing to take).
    using base::try_recv;
    /// From a plain thread outside the runtime: receives, blocking the thread while there is
    /// nothing to take. Same caveats as blocking_send.
    using base::blocking_recv;
    /// Closes the channel: waiting receivers wake and see the end once the buffer is drained,
    /// waiting and later senders fail with channel_closed (their values untouched). Closing a
    /// closed channel aborts with a message.
    using base::close;

    /// A select case receiving from this channel.
    weft::sync::recv_case<T> recv_case() const noexcept { return this->make_recv_case(); }
    /// A select case sending `v` (moved from only if the case fires); with an lvalue, a copy.
    weft::sync::send_case<T> send_case(T&& v) const noexcept {
        return this->make_send_case(std::move(v));
    }
    weft::sync::send_case<T> send_case(const T& v) const { return this->make_send_case(v); }

private:
    struct nil_tag {};
    explicit channel(nil_tag) noexcept {}
};

/// The sending end of a channel (Go's `chan<- T`): send, try_send, blocking_send, close and
/// send_case. Made from a channel; shares it.
template <class T>
class sender : public detail::chan_ref<T> {
    using base = detail::chan_ref<T>;

public:
    sender() noexcept = default;
    sender(const channel<T>& c) noexcept
        : base(c) {}
    using base::blocking_send;
    using base::close;
    using base::send;
    using base::try_send;
    weft::sync::send_case<T> send_case(T&& v) const noexcept {
        return this->make_send_case(std::move(v));
    }
    weft::sync::send_case<T> send_case(const T& v) const { return this->make_send_case(v); }
};

/// The receiving end of a channel (Go's `<-chan T`): recv, try_recv, blocking_recv and
/// recv_case. Made from a channel; shares it.
template <class T>
class receiver : public detail::chan_ref<T> {
    using base = detail::chan_ref<T>;

public:
    receiver() noexcept = default;
    receiver(const channel<T>& c) noexcept
        : base(c) {}
    using base::blocking_recv;
    using base::recv;
    using base::try_recv;
    weft::sync::recv_case<T> recv_case() const noexcept { return this->make_recv_case(); }
};

} // namespace weft::sync

// chan_state<T>, the typed half of a channel (Go's chansend / chanrecv): the lock-free ring of
// stamped slots that bounded channels keep their values in, the buffer of unbounded ones, and the
// transfers under the channel's lock, including the plain-thread blocking_send / blocking_recv.
// The untyped half is chan_core (detail/chan_core.hpp); the algorithm is in sync/src/channel.cpp.
#pragma once

#include <weft/runtime/result.hpp>

#include <weft/runtime/detail/assert.hpp>
#include <weft/runtime/detail/scheduler_hooks.hpp>
#include <weft/runtime/detail/spin_lock.hpp>
#include <weft/sync/detail/chan_core.hpp>
#include <weft/sync/detail/waiter.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <system_error>
#include <type_traits>
#include <utility>

namespace weft::sync {

template <class T>
class recv_result; // channel.hpp

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
    transfer_status send_locked(T& v, chan_waiter*& peer, bool reserve) noexcept {
        if (ring_) {
            return ring_send_locked(v, peer, reserve);
        }
        if (closed_) {
            return transfer_status::closed;
        }
        if (chan_waiter* r = dequeue(recvq_)) {
            static_cast<std::optional<T>*>(r->slot)->emplace(std::move(v));
            r->state = wait_state::done;
            peer = r;
            return transfer_status::ok;
        }
        if (count_ < cap_) {
            push_unbounded(std::move(v));
            return transfer_status::ok;
        }
        return transfer_status::would_block;
    }

    /// Under the lock: receive into `out`. A waiting sender means the buffer is full (or there is
    /// none): take the oldest value and move the sender's value in behind it (Go's recv), or
    /// take the sender's value directly when unbuffered. Then the buffer, then closed. With
    /// `reserve`, an empty ring channel is marked so (tail wait bit) before would_block.
    transfer_status recv_locked(std::optional<T>& out, chan_waiter*& peer, bool reserve) noexcept {
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
            return transfer_status::ok;
        }
        if (count_ != 0) {
            out.emplace(std::move(buf_[first_]));
            std::destroy_at(buf_ + first_);
            first_ = next(first_);
            --count_;
            return transfer_status::ok;
        }
        return closed_ ? transfer_status::closed : transfer_status::would_block;
    }

    /// Plain-thread send: waits on a futex. See channel::blocking_send.
    result<void> blocking_send(T& v) noexcept;
    /// Plain-thread receive: waits on a futex. See channel::blocking_recv.
    recv_result<T> blocking_recv() noexcept;

private:
    static void destroy_self(chan_core* c) noexcept { delete static_cast<chan_state*>(c); }

    std::uint64_t pos_mask() const noexcept { return ~(closed_bit_ | wait_bit_); }
    slot* slots() const noexcept { return static_cast<slot*>(slots_); }

    [[gnu::noinline]] transfer_status
    ring_send_locked(T& v, chan_waiter*& peer, bool reserve) noexcept {
        for (;;) {
            std::uint64_t tail = tail_.load(std::memory_order_seq_cst);
            if ((tail & closed_bit_) != 0) {
                return transfer_status::closed;
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
                    return transfer_status::ok;
                }
                // Only stale select cases were left.
                tail_.fetch_and(~wait_bit_, std::memory_order_seq_cst);
                continue;
            }
            switch (try_push(v)) {
            case fast_status::ok:
                return transfer_status::ok;
            case fast_status::locked:
            case fast_status::closed:
                continue;
            case fast_status::blocked:
                break;
            }
            if (!reserve) {
                return transfer_status::would_block;
            }
            // Full: set head's wait bit, but only if the ring is still full (the CAS fails if a
            // pop moved head meanwhile).
            std::uint64_t head = head_.load(std::memory_order_seq_cst);
            if ((head & wait_bit_) != 0) {
                return transfer_status::would_block;
            }
            if (head + one_lap_ != (tail_.load(std::memory_order_seq_cst) & pos_mask())) {
                continue;
            }
            if (head_.compare_exchange_strong(head, head | wait_bit_, std::memory_order_seq_cst)) {
                return transfer_status::would_block;
            }
        }
    }

    [[gnu::noinline]] transfer_status
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
                    return transfer_status::ok;
                }
                // Only stale select cases were left.
                head_.fetch_and(~wait_bit_, std::memory_order_seq_cst);
                continue;
            }
            switch (try_pop(out)) {
            case fast_status::ok:
                return transfer_status::ok;
            case fast_status::closed:
                return transfer_status::closed;
            case fast_status::locked:
                continue;
            case fast_status::blocked:
                break;
            }
            if (!reserve) {
                return transfer_status::would_block;
            }
            // Empty: set tail's wait bit, but only if the ring is still empty (the CAS fails if a
            // push moved tail meanwhile; head cannot pass tail).
            std::uint64_t tail = tail_.load(std::memory_order_seq_cst);
            if ((tail & closed_bit_) != 0) {
                continue; // try_pop reports closed once drained
            }
            if ((tail & wait_bit_) != 0) {
                return transfer_status::would_block;
            }
            if ((head_.load(std::memory_order_seq_cst) & ~wait_bit_) != tail) {
                continue;
            }
            if (tail_.compare_exchange_strong(tail, tail | wait_bit_, std::memory_order_seq_cst)) {
                return transfer_status::would_block;
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

template <class T>
result<void> chan_state<T>::blocking_send(T& v) noexcept {
    WEFT_ASSERT(
        weft::detail::current_worker() == nullptr,
        "weft::sync::channel::blocking_send called on a weft worker (it would block the worker; "
        "co_await send() instead)");
    if (ring_ && try_push(v) == fast_status::ok) {
        return {};
    }
    chan_waiter w;
    w.bind_thread();
    w.slot = &v;
    transfer_status st;
    locked_attempt(this, [&]() noexcept {
        chan_waiter* peer = nullptr;
        st = send_locked(v, peer, true);
        if (st == transfer_status::would_block) {
            enqueue(sendq_, &w);
        }
        return peer;
    });
    if (st != transfer_status::would_block) {
        return st == transfer_status::ok ? result<void>{}
                                         : result<void>{weft::errc::channel_closed};
    }
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
    chan_waiter w;
    w.bind_thread();
    w.slot = static_cast<std::optional<T>*>(&out);
    transfer_status st;
    locked_attempt(this, [&]() noexcept {
        chan_waiter* peer = nullptr;
        st = recv_locked(out, peer, true);
        if (st == transfer_status::would_block) {
            enqueue(recvq_, &w);
        }
        return peer;
    });
    if (st != transfer_status::would_block) {
        if (st == transfer_status::closed) {
            out.why_ = recv_result<T>::why::closed;
        }
        return out;
    }
    park_thread(w);
    if (w.state == wait_state::closed) {
        out.why_ = recv_result<T>::why::closed;
    }
    return out;
}

} // namespace detail

} // namespace weft::sync

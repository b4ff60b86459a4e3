// The awaiters of a channel send and receive: chan_awaiter (what recv_awaiter and send_awaiter
// share: the attempt under the channel's lock and the slow path that enqueues the waiter), and
// recv_awaitable / send_awaitable, what ch.recv() and ch.send(v) return. The protocol of a
// cancellable wait is task_waiter's (detail/waiter.hpp); the algorithm is in
// sync/src/channel.cpp.
#pragma once

#include <weft/runtime/result.hpp>

#include <weft/runtime/detail/nodiscard.hpp>
#include <weft/runtime/detail/scheduler_hooks.hpp>
#include <weft/sync/detail/chan_core.hpp>
#include <weft/sync/detail/chan_state.hpp>
#include <weft/sync/detail/waiter.hpp>

#include <coroutine>
#include <optional>

namespace weft::sync::detail {

/// What recv_awaiter and send_awaiter share: the attempt under the channel's lock and the slow
/// path that enqueues the waiter. `Self` supplies ch_, the locked operation (recv_locked or
/// send_locked) and where a waiting peer finds its value (slot) in which queue.
template <class Self>
class chan_awaiter : protected chan_waiter {
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
        transfer_status st;
        locked_attempt(self.ch_, [&]() noexcept {
            chan_waiter* peer = nullptr;
            st = self.locked(peer, false);
            return peer;
        });
        if (st == transfer_status::would_block) {
            return false;
        }
        state = st == transfer_status::ok ? wait_state::done : wait_state::closed;
        return !spend_budget();
    }

    /// Arms cancellation, then completes under the lock or enqueues: true when suspended.
    [[gnu::noinline]] bool suspend_slow() noexcept {
        if (!arm()) {
            return false;
        }
        Self& self = static_cast<Self&>(*this);
        bool suspended = false;
        locked_attempt(self.ch_, [&]() noexcept -> chan_waiter* {
            if (state == wait_state::cancelled) { // the hook fired between arm() and the lock
                return nullptr;
            }
            chan_waiter* peer = nullptr;
            const transfer_status st = self.locked(peer, true);
            if (st != transfer_status::would_block) {
                // Decided under the lock: the hook, once it has the lock, sees done or closed.
                state = st == transfer_status::ok ? wait_state::done : wait_state::closed;
                return peer;
            }
            slot = self.peer_slot();
            self.ch_->enqueue(self.queue(), this);
            count_blocked(weft::detail::blocked_on::channel);
            suspended = true;
            return nullptr;
        });
        return suspended;
    }
};

/// co_await ch.recv(): see the file comment.
template <class T>
class WEFT_NODISCARD("a channel receive does nothing unless co_awaited") recv_awaiter
    : private chan_awaiter<recv_awaiter<T>> {
    using base = chan_awaiter<recv_awaiter<T>>;
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

    [[nodiscard, gnu::always_inline]] recv_result<T> await_resume() noexcept {
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
    transfer_status locked(chan_waiter*& peer, bool reserve) noexcept {
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
    : private chan_awaiter<send_awaiter<T>> {
    using base = chan_awaiter<send_awaiter<T>>;
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
    [[nodiscard, gnu::always_inline]] result<void> await_resume() noexcept {
        this->finish();
        return send_outcome(this->state, *this);
    }

private:
    transfer_status locked(chan_waiter*& peer, bool reserve) noexcept {
        return ch_->send_locked(*src_, peer, reserve);
    }
    void* peer_slot() noexcept { return src_; }
    waiter_list& queue() noexcept { return ch_->sendq_; }

    chan_state<T>* ch_;
    T* src_;
};

/// What ch.recv() returns: co_await it (once).
template <class T>
class WEFT_NODISCARD("a channel receive does nothing unless co_awaited") recv_awaitable {
public:
    explicit recv_awaitable(chan_state<T>* c) noexcept
        : ch_(c) {}
    recv_awaiter<T> operator co_await() && noexcept { return recv_awaiter<T>(ch_); }

private:
    chan_state<T>* ch_;
};

/// What ch.send(v) returns: co_await it (once), in the same full-expression (it refers to v).
template <class T>
class WEFT_NODISCARD("a channel send does nothing unless co_awaited") send_awaitable {
public:
    send_awaitable(chan_state<T>* c, T* src) noexcept
        : ch_(c)
        , src_(src) {}
    send_awaitable(chan_state<T>* c, const T& v)
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

} // namespace weft::sync::detail

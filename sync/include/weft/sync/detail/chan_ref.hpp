// chan_ref<T>: what channel, sender and receiver share, a counted reference to a chan_state<T>
// and the operations they expose subsets of (channel.hpp documents them).
#pragma once

#include <weft/runtime/result.hpp>

#include <weft/runtime/detail/assert.hpp>
#include <weft/sync/detail/chan_awaiter.hpp>
#include <weft/sync/detail/chan_core.hpp>
#include <weft/sync/detail/chan_state.hpp>

#include <cstddef>
#include <optional>
#include <system_error>
#include <utility>

namespace weft::sync {

template <class T>
class recv_result; // channel.hpp
template <class T>
struct recv_case; // channel.hpp
template <class T>
struct send_case; // channel.hpp

namespace detail {

template <class Case>
struct case_state; // select.hpp

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

    send_awaitable<T> send(T&& v) noexcept { return send_awaitable<T>(state(), &v); }
    send_awaitable<T> send(const T& v) { return send_awaitable<T>(state(), v); }

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
        transfer_status st;
        locked_attempt(s, [&]() noexcept {
            chan_waiter* peer = nullptr;
            st = s->send_locked(v, peer, false);
            return peer;
        });
        switch (st) {
        case transfer_status::ok:
            return no_error;
        case transfer_status::closed:
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

    recv_awaitable<T> recv() noexcept { return recv_awaitable<T>(state()); }

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
        transfer_status st;
        locked_attempt(s, [&]() noexcept {
            chan_waiter* peer = nullptr;
            st = s->recv_locked(out, peer, false);
            return peer;
        });
        if (st == transfer_status::closed) {
            out.why_ = recv_result<T>::why::closed;
        } else if (st == transfer_status::would_block) {
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

template <class T>
recv_case<T> chan_ref<T>::make_recv_case() const noexcept {
    return recv_case<T>{s_};
}
template <class T>
send_case<T> chan_ref<T>::make_send_case(T&& v) const noexcept {
    return send_case<T>{s_, &v, std::nullopt};
}
template <class T>
send_case<T> chan_ref<T>::make_send_case(const T& v) const {
    return send_case<T>{s_, nullptr, std::optional<T>(v)};
}

} // namespace detail

} // namespace weft::sync

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

#include <weft/sync/detail/chan_ref.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <system_error>
#include <type_traits>
#include <utility>

namespace weft::sync {

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
    /// full. Never call it on a weft worker (aborts). Tasks may wait for such a thread: while a
    /// plain thread exists, the deadlock detector reports nothing (runtime_options).
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
                                                       : why::cancelled) {}

    /// Why there is no value; std::error_code{} when there is one.
    std::error_code error() const noexcept {
        switch (why_) {
        case why::none:
            return {};
        case why::closed:
            return weft::errc::channel_closed;
        case why::cancelled:
            return make_error_code(weft::errc::canceled);
        case why::timed_out:
            return make_error_code(weft::errc::timed_out);
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
    enum class why : std::uint8_t { none, closed, cancelled, timed_out, would_block };
    why why_ = why::none;
};

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

} // namespace weft::sync

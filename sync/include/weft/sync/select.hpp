// weft::sync::select: wait on several channel operations at once (Go's select statement).
//
//     using namespace std::chrono_literals;
//     namespace ws = weft::sync;
//     auto r = co_await ws::select(jobs.recv_case(), results.send_case(std::move(out)),
//                                  ws::after(50ms));
//     switch (r.index()) {
//     case 0: if (auto& job = r.get<0>()) run(*job); else /* jobs closed */; break;
//     case 1: if (!r.get<1>()) /* results closed: `out` was not consumed */; break;
//     case 2: /* 50 ms passed */ break;
//     default: /* r.index() == r.none: cancelled, r.error() says why */ break;
//     }
//
// Cases: ch.recv_case() (its outcome is a recv_result<T>, empty with channel_closed once the
// channel is closed and drained), ch.send_case(v) (a result<void>: channel_closed if the channel
// is closed), after(d) / deadline(tp) (ready once the time has come), and default_case (makes the
// select non-blocking: it fires when no other case is ready). A case made from an empty handle
// (channel<T>::nil()) is never ready, as a nil channel in Go.
//
// Semantics are Go's (runtime/select.go): if several cases are ready, one is chosen uniformly at
// random; if none is and there is no default_case, the task waits until one becomes ready and
// exactly that one fires. A case that did not fire had no effect: its channel did not take its
// value nor give it one. The result names the case by its position among select's arguments
// (index()) and holds that case's outcome (get<I>()).
//
// Thread-safety: the channels may be used by any tasks and threads meanwhile.
// Memory ordering: as the channel operation of the case that fired.
// Cancellation: a select that has to wait completes with index() == none and error() ==
// operation_canceled (or timed_out) when its task is cancelled; no case fired then. A select in an
// already cancelled task still takes a ready case (or its default) but never waits. A runtime
// that shuts down cancels a waiting select too (operation_canceled): its after() case does not
// fire before its deadline.
// Which thread resumes the awaiter: the worker of the task that completed the case (or of the
// timer, for after/deadline), or the runtime's global queue when a plain thread completed it; a
// select with a ready case continues at once on its own thread.
// Lifetime: the channels and the values of send cases must outlive the co_await (they do when
// select is awaited in the same full-expression as its cases are made).
#pragma once

#include <weft/runtime/result.hpp>
#include <weft/sync/channel.hpp>

#include <weft/runtime/detail/assert.hpp>
#include <weft/runtime/detail/nodiscard.hpp>
#include <weft/runtime/detail/timer_node.hpp>
#include <weft/sync/detail/select_core.hpp>

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

namespace weft::sync {

/// A select case that is ready once its deadline (steady clock) has passed. Outcome: none
/// (std::monostate).
struct after_case {
    std::int64_t deadline_ns;
};

/// A select case ready `d` from now (Go's `case <-time.After(d)`).
template <class Rep, class Period>
after_case after(std::chrono::duration<Rep, Period> d) noexcept {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    return after_case{weft::detail::now_ns() + (ns > 0 ? static_cast<std::int64_t>(ns) : 0)};
}

/// A select case ready at `tp`.
template <class Duration>
after_case deadline(std::chrono::time_point<std::chrono::steady_clock, Duration> tp) noexcept {
    return after_case{static_cast<std::int64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(tp.time_since_epoch()).count())};
}

/// The default case: makes a select non-blocking (Go's `default:`). Outcome: none.
struct default_case_t {};
inline constexpr default_case_t default_case{};

// The machinery of select (defined after the user-facing part, below).
namespace detail {
/// Per-case state kept inside the awaiter (in the coroutine frame): the waiter and the storage
/// the case's outcome is written into.
template <class Case>
struct case_state;
template <class Case>
using outcome_t = typename case_state<Case>::outcome_type;
template <class... Cases>
class select_awaiter;
template <class... Cases>
class select_awaitable;
} // namespace detail

/// The outcome of a select: which case fired and what it produced. See the file comment.
template <class... Cases>
class select_result {
public:
    /// index() when no case fired (the select was cancelled).
    static constexpr std::size_t none = static_cast<std::size_t>(-1);

    /// Position (among select's arguments) of the case that fired, or none.
    std::size_t index() const noexcept { return v_.index() == 0 ? none : v_.index() - 1; }
    /// True if a case fired (false: cancelled).
    explicit operator bool() const noexcept { return v_.index() != 0; }
    /// operation_canceled or timed_out when no case fired; else std::error_code{}.
    std::error_code error() const noexcept { return error_; }

    /// The outcome of case I (recv: recv_result<T>; send: result<void>; after/default:
    /// std::monostate). Aborts unless case I fired.
    template <std::size_t I>
    auto& get() & noexcept {
        WEFT_ASSERT(
            index() == I, "weft::sync::select_result::get<I>() of a case that did not fire");
        return std::get<I + 1>(v_);
    }
    template <std::size_t I>
    auto&& get() && noexcept {
        WEFT_ASSERT(
            index() == I, "weft::sync::select_result::get<I>() of a case that did not fire");
        return std::get<I + 1>(std::move(v_));
    }

private:
    template <class...>
    friend class detail::select_awaiter;

    std::variant<std::monostate, detail::outcome_t<Cases>...> v_;
    std::error_code error_{};
};

/// Waits until one of `cases` can proceed, and performs exactly that one (see the file comment).
template <class... Cases>
detail::select_awaitable<std::decay_t<Cases>...> select(Cases&&... cases) {
    return detail::select_awaitable<std::decay_t<Cases>...>(
        std::decay_t<Cases>(std::forward<Cases>(cases))...);
}

namespace detail {

template <class T>
struct case_state<recv_case<T>> {
    using outcome_type = recv_result<T>;
    static constexpr select_case_slot::kind kind = select_case_slot::kind::recv;

    explicit case_state(recv_case<T>&& c) noexcept
        : chan(c.chan) {
        w.slot = static_cast<std::optional<T>*>(&value);
    }
    static transfer_status try_now(void* self, chan_waiter*& peer, bool reserve) noexcept {
        auto* s = static_cast<case_state*>(self);
        return s->chan->recv_locked(s->value, peer, reserve);
    }
    outcome_type outcome() noexcept {
        if (w.state == wait_state::closed) {
            value.why_ = recv_result<T>::why::closed;
        }
        return std::move(value);
    }

    chan_state<T>* chan;
    chan_waiter w;
    recv_result<T> value;
};

template <class T>
struct case_state<send_case<T>> {
    using outcome_type = result<void>;
    static constexpr select_case_slot::kind kind = select_case_slot::kind::send;

    explicit case_state(send_case<T>&& c) noexcept(std::is_nothrow_move_constructible_v<T>)
        : chan(c.chan)
        , own(std::move(c.own)) {
        src = own ? &*own : c.src;
        w.slot = src;
    }
    static transfer_status try_now(void* self, chan_waiter*& peer, bool reserve) noexcept {
        auto* s = static_cast<case_state*>(self);
        return s->chan->send_locked(*s->src, peer, reserve);
    }
    outcome_type outcome() noexcept {
        return w.state == wait_state::closed ? result<void>(weft::errc::channel_closed)
                                             : result<void>();
    }

    chan_state<T>* chan;
    std::optional<T> own;
    T* src;
    chan_waiter w;
};

template <>
struct case_state<after_case> {
    using outcome_type = std::monostate;
    static constexpr select_case_slot::kind kind = select_case_slot::kind::timer;
    explicit case_state(after_case c) noexcept
        : deadline_ns(c.deadline_ns) {}
    outcome_type outcome() noexcept { return {}; }
    std::int64_t deadline_ns;
};

template <>
struct case_state<default_case_t> {
    using outcome_type = std::monostate;
    static constexpr select_case_slot::kind kind = select_case_slot::kind::fallback;
    explicit case_state(default_case_t) noexcept {}
    outcome_type outcome() noexcept { return {}; }
};

/// co_await select(...): holds every case's state, and the select_core that runs the algorithm.
template <class... Cases>
class WEFT_NODISCARD("a select does nothing unless co_awaited") select_awaiter {
    static constexpr std::size_t n = sizeof...(Cases);
    static_assert(n <= max_select_cases, "weft::sync::select: too many cases");
    static_assert(
        (std::is_same_v<Cases, default_case_t> + ... + 0) <= 1,
        "weft::sync::select: at most one default_case");

public:
    explicit select_awaiter(std::tuple<Cases...>&& cases)
        : states_(make_states(std::move(cases), std::index_sequence_for<Cases...>{}))
        , core_(slots_, static_cast<std::uint32_t>(n), locks_, order_) {
        fill_slots(std::index_sequence_for<Cases...>{});
    }
    select_awaiter(const select_awaiter&) = delete;
    select_awaiter& operator=(const select_awaiter&) = delete;

    bool await_ready() const noexcept { return false; }

    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) noexcept {
        if (core_.start(h, weft::detail::cancel_of(h))) {
            return true;
        }
        return yield_if_budget_spent(h);
    }

    [[nodiscard]] select_result<Cases...> await_resume() noexcept {
        const std::uint32_t fired = core_.finish();
        select_result<Cases...> r;
        if (fired == select_core::none) {
            r.error_ = core_.cancel_error();
        } else {
            emplace_outcome(r, fired, std::index_sequence_for<Cases...>{});
        }
        return r;
    }

private:
    template <std::size_t... I>
    static std::tuple<case_state<Cases>...>
    make_states(std::tuple<Cases...>&& cases, std::index_sequence<I...>) {
        // Each case_state is built in place from its case (they hold waiters: not movable).
        return std::tuple<case_state<Cases>...>(std::move(std::get<I>(cases))...);
    }

    template <std::size_t... I>
    void fill_slots(std::index_sequence<I...>) noexcept {
        (fill_slot(slots_[I], std::get<I>(states_)), ...);
    }

    template <class S>
    static void fill_slot(select_case_slot& slot, S& s) noexcept {
        slot.k = S::kind;
        if constexpr (
            S::kind == select_case_slot::kind::recv || S::kind == select_case_slot::kind::send) {
            slot.chan = s.chan;
            slot.w = &s.w;
            slot.typed = &s;
            slot.try_now = &S::try_now;
        } else if constexpr (S::kind == select_case_slot::kind::timer) {
            slot.deadline_ns = s.deadline_ns;
        }
    }

    template <std::size_t... I>
    void emplace_outcome(
        select_result<Cases...>& r, std::uint32_t fired, std::index_sequence<I...>) noexcept {
        ((fired == I ? (void)r.v_.template emplace<I + 1>(std::get<I>(states_).outcome())
                     : (void)0),
         ...);
    }

    std::tuple<case_state<Cases>...> states_;
    select_case_slot slots_[n == 0 ? 1 : n];
    chan_core* locks_[n == 0 ? 1 : n];
    std::uint8_t order_[n == 0 ? 1 : n];
    select_core core_;
};

/// What select(...) returns: co_await it (once).
template <class... Cases>
class WEFT_NODISCARD("a select does nothing unless co_awaited") select_awaitable {
public:
    explicit select_awaitable(Cases&&... cases)
        : cases_(std::move(cases)...) {}
    select_awaiter<Cases...> operator co_await() && {
        return select_awaiter<Cases...>(std::move(cases_));
    }

private:
    std::tuple<Cases...> cases_;
};

} // namespace detail

} // namespace weft::sync

// The untyped select (Go's selectgo): the typed select_awaiter in select.hpp describes each of its
// cases with a select_case_slot and lets select_core run the algorithm of sync/src/select.cpp.
#pragma once

#include <weft/runtime/detail/cancel_state.hpp>
#include <weft/runtime/detail/scheduler_hooks.hpp>
#include <weft/runtime/detail/timer_node.hpp>
#include <weft/sync/detail/chan_core.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <system_error>

namespace weft::sync::detail {

/// Most cases one select may have (the lock list lives on the stack while it is released).
inline constexpr std::size_t max_select_cases = 64;

/// One case of a select, as the untyped algorithm sees it. Filled by select_awaiter.
struct select_case_slot {
    enum class kind : std::uint8_t { recv, send, timer, fallback };

    chan_core* chan = nullptr; // recv/send: the channel; null (a nil channel) is never ready
    chan_waiter* w = nullptr;  // recv/send: the case's waiter; w->slot points at typed storage
    void* typed = nullptr;     // recv/send: the typed case state, for try_now
    /// recv/send, under the channel's lock: complete the case now if it can (transfer_status::ok or
    /// closed) and name a peer waiter to wake once the lock is released. With `reserve`, a
    /// would_block also marks the channel so that no lock-free operation can slip past the
    /// waiter about to be enqueued (bounded channels; see chan_state).
    transfer_status (*try_now)(void* typed, chan_waiter*& peer, bool reserve) noexcept = nullptr;
    std::int64_t deadline_ns = 0; // timer: steady-clock deadline
    kind k = kind::fallback;
};

/// The select algorithm over `n` slots; see sync/src/select.cpp.
class select_core : public select_state, private weft::detail::cancel_hook {
public:
    static constexpr std::uint32_t none = ~0u;

    select_core(
        select_case_slot* slots, std::uint32_t n, chan_core** locks, std::uint8_t* order) noexcept;
    select_core(const select_core&) = delete;
    select_core& operator=(const select_core&) = delete;

    /// Passes 1 and 2 of the algorithm; true when the task must suspend. `h` is the selecting
    /// task; `c` its cancellation state (may be null).
    bool start(std::coroutine_handle<> h, weft::detail::cancel_state* c) noexcept;

    /// Pass 3, after the task resumed (or right after start() returned false): takes the cases
    /// that did not fire off their queues. Returns the index of the case that fired, or none
    /// (cancelled: see cancel_error()).
    std::uint32_t finish() noexcept;

    std::error_code cancel_error() const noexcept;

    /// Called by whoever claimed the select (a channel completer, the cancellation hook): makes
    /// the timer quiet, then queues the task. The last touch of the select.
    void wake_claimed() noexcept;

private:
    struct timer_box {
        weft::detail::timer_node node; // first member: on_timer reaches the box from the node
        select_core* self = nullptr;
    };

    void lock_all() noexcept;
    void unlock_all() noexcept;
    void dequeue_all() noexcept;
    static void on_cancel(weft::detail::cancel_hook* h) noexcept;
    static void on_timer(weft::detail::timer_node* n) noexcept;
    /// st_waiting -> st_cancelled: the select gives up without any case firing (a shutdown
    /// fired its timer early). False if a case or the cancellation hook won first.
    bool try_cancel_claim() noexcept {
        std::uint32_t expected = st_waiting;
        // acq_rel: as try_claim; the select reads the outcome after it resumes.
        return state.compare_exchange_strong(
            expected, st_cancelled, std::memory_order_acq_rel, std::memory_order_acquire);
    }

    select_case_slot* slots_;
    std::uint32_t n_;
    chan_core** locks_; // distinct channels in address order (Go's lockorder)
    std::uint32_t nlocks_ = 0;
    std::uint8_t* order_; // random permutation of the cases (Go's pollorder)

    std::coroutine_handle<> handle_{};
    weft::detail::scheduler* home_ = nullptr;
    weft::detail::cancel_state* cancel_ = nullptr;
    timer_box timer_;
    std::uint32_t timer_case_ = none; // written before st_waiting is published; then read-only
    std::uint32_t fired_ = none;      // set by start() when it returns false, else by finish()
    bool armed_ = false;
    bool suspended_ = false;
};

} // namespace weft::sync::detail

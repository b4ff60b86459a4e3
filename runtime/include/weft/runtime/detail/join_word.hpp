// The join word of a spawned task: one atomic word in its promise (promise_base::join_) on which
// the task's finish and its joiner (a join_handle, a group, a scope, block_on) meet.
//
// Encoding
//   running           0: running, nobody waiting
//   done              2: finished; the result is in the promise; the frame waits for its handle
//   detached          4: the handle was dropped; the task frees its own frame when it finishes
//   handle address    the coroutine awaiting the join (resumed by symmetric transfer)
//   listener | 1      a join_listener (when_all / when_any / with_timeout / scope / block_on)
// Coroutine frames and listeners are at least 8-byte aligned, so an address never collides with
// the three small values and its low bit is free for the listener tag.
//
// Protocol
//   1. Before the task first runs, its spawner may preset the word: detached (weft::go) or a
//      listener (group, scope). Relaxed: the push that makes the task runnable publishes it.
//   2. A joiner that comes while the task runs CASes running -> its mark (try_await,
//      try_listen); a CAS that fails found done, and the joiner takes the result at once.
//   3. The finishing task exchanges the word with done (finish). acq_rel: its result writes
//      happen-before the joiner's acquire, and the joiner's registration is seen by the finisher.
//   4. Whoever sees the other's mark second does the follow-up: the finisher resumes the waiter
//      or notifies the listener or frees a detached frame; a joiner that finds done takes the
//      result; a handle dropped after done frees the frame (detach).
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>

namespace weft::detail {

/// Notified when a spawned child finishes (structured concurrency). Returns the coroutine to
/// transfer to (or std::noop_coroutine()).
struct join_listener {
    std::coroutine_handle<> (*child_done)(join_listener* self, void* child_promise) noexcept;
};

/// The atomic join state of one spawned task (see the file comment). Written by the task's
/// spawner (preset, before the task runs), its joiner (one CAS or one exchange) and the task
/// itself (one exchange as it finishes); read by both sides.
class join_word {
public:
    /// What finish() found in the word: who, if anyone, is waiting for the task.
    class previous {
    public:
        explicit previous(std::uintptr_t v) noexcept
            : v_(v) {}
        /// Nobody has joined yet: the handle will take the result and free the frame.
        bool running() const noexcept { return v_ == running_v; }
        /// The handle was dropped: the finisher frees the frame.
        bool detached() const noexcept { return v_ == detached_v; }
        /// A join_listener waits (listener()); otherwise a coroutine does (waiter()).
        bool has_listener() const noexcept { return (v_ & listener_tag) != 0; }
        /// The listener to notify (only when has_listener()).
        join_listener* listener() const noexcept {
            return reinterpret_cast<join_listener*>(v_ & ~listener_tag);
        }
        /// The coroutine awaiting the join (only when neither running, detached nor a listener).
        std::coroutine_handle<> waiter() const noexcept {
            return std::coroutine_handle<>::from_address(reinterpret_cast<void*>(v_));
        }

    private:
        std::uintptr_t v_;
    };

    // --- spawner, before the task first runs (relaxed: the push that queues it publishes) ---

    /// The task runs detached from the start (weft::go).
    void preset_detached() noexcept { v_.store(detached_v, std::memory_order_relaxed); }
    /// The task reports its finish to `l` (group, scope).
    void preset_listener(join_listener* l) noexcept {
        v_.store(encode(l), std::memory_order_relaxed);
    }

    // --- joiner ---

    /// True once the task has finished. acquire: pairs with finish()'s release; the result is
    /// visible after it.
    bool is_done() const noexcept { return v_.load(std::memory_order_acquire) == done_v; }

    /// Registers `waiter` to be resumed when the task finishes. False: the task has finished
    /// already (the result is visible). acq_rel on success (release: the waiter address; acquire:
    /// nothing more), acquire on failure: pairs with finish()'s release.
    bool try_await(std::coroutine_handle<> waiter) noexcept {
        std::uintptr_t expected = running_v;
        return v_.compare_exchange_strong(
            expected,
            reinterpret_cast<std::uintptr_t>(waiter.address()),
            std::memory_order_acq_rel,
            std::memory_order_acquire);
    }

    /// Registers listener `l` to be notified when the task finishes. False: finished already.
    /// Orders as try_await.
    bool try_listen(join_listener* l) noexcept {
        std::uintptr_t expected = running_v;
        return v_.compare_exchange_strong(
            expected, encode(l), std::memory_order_acq_rel, std::memory_order_acquire);
    }

    /// The handle lets go. True: the task had finished, and the caller frees the frame.
    /// acq_rel: pairs with finish()'s exchange; whoever comes second frees the frame.
    bool detach() noexcept { return v_.exchange(detached_v, std::memory_order_acq_rel) == done_v; }

    // --- the task, at its final suspend ---

    /// Marks the task finished and returns what was there. acq_rel: release publishes the result
    /// to the joiner (its is_done / failed try_await acquire); acquire sees the joiner's mark.
    previous finish() noexcept { return previous{v_.exchange(done_v, std::memory_order_acq_rel)}; }

    // --- after the task was consumed (finished and joined or detached) ---

    /// A zombie frame keeps its own address here for whoever frees it (cancel.cpp): the word
    /// has no other use once the task is consumed. Relaxed: ordered by the refs_ handshake.
    void stash(void* frame) noexcept {
        v_.store(reinterpret_cast<std::uintptr_t>(frame), std::memory_order_relaxed);
    }
    void* stashed() const noexcept {
        return reinterpret_cast<void*>(v_.load(std::memory_order_relaxed));
    }

private:
    static constexpr std::uintptr_t running_v = 0;
    static constexpr std::uintptr_t done_v = 2;
    static constexpr std::uintptr_t detached_v = 4;
    static constexpr std::uintptr_t listener_tag = 1;

    static std::uintptr_t encode(join_listener* l) noexcept {
        return reinterpret_cast<std::uintptr_t>(l) | listener_tag;
    }

    std::atomic<std::uintptr_t> v_{running_v};
};

} // namespace weft::detail

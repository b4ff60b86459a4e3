// Cancellation: how a request to stop reaches a task, and the tasks it waits for.
//
// Vocabulary
//   cancel state   a task's cancel_state (detail/cancel_state.hpp): a reason and at most one armed
//                  hook, in one atomic word. Every spawned task owns one (promise_base::
//                  own_cancel_); a task awaited inline answers to its awaiter's.
//   hook           what a suspended await arms so that a cancellation can cut it short: a channel
//                  or mutex waiter, a sleep, an I/O operation, a group, a scope join, a join.
//   cancelled_error the exception a cancellation becomes where no error can be returned.
//
// The model (what spawn.hpp and the README promise)
//   1. A request marks the task's cancel state and fires its armed hook: the await it is
//      suspended in completes at once with weft::errc::canceled or weft::errc::timed_out, and
//      every later await of the task fails the same way. Code between awaits is never
//      interrupted.
//   2. A spawned task cancelled before it first runs does not run its body: it ends with
//      cancelled_error (or, if it returns a weft::result, with the error).
//   3. Cancellation is inherited. A task spawned with weft::spawn is linked to the task chain
//      that spawned it; when it starts, and whenever it joins, it looks whether its spawner (or
//      that one's spawner, and so on) was cancelled, and if so cancels itself. So the children a
//      cancelled parent spawned and has not started end at once, and a running subtree stops at
//      its next spawn or join, wherever it was stolen to.
//   4. A join passes its joiner's cancellation to the child it waits for: a join suspended when
//      the joiner is cancelled cancels the child (the join's hook: this reaches a child blocked
//      on a channel or a socket, which looks at nothing); a join that starts in an already
//      cancelled task cancels the child first. The join still waits for the child to end, so
//      nothing it uses is freed under it; it yields the child's outcome, usually cancelled_error
//      rethrown. A group (when_all, when_any, with_timeout) and a scope do the same for all
//      their children, whose cancellation they own (they are not linked to their spawner).
//   5. A join_handle dropped while an exception unwinds (the code that would have joined it has
//      failed, often because a join rethrew a cancellation) cancels its task before detaching.
//   Together: cancelling the root of a compute-bound fork-join tree (with_timeout(100ms, fib(40)))
//   stops it within the time its running leaves take to reach their next spawn or join, plus one
//   exception per task that was live (a task of T whose body a cancellation ends can only throw).
//   What is not reached at once: a child that is blocked (on a channel, a lock, I/O) and not yet
//   joined, whose spawner is cancelled; it is reached when the spawner joins it or drops its
//   handle. A fan-out that must stop as one belongs in when_all, a scope or for_each.
//
// Links
//   Which chain spawns: tls_chain, the cancel state of the task chain running on the thread. A
//   task sets it when it starts, and every co_await in a task resets it as the task resumes
//   (promise_base::await_transform wraps each awaiter in a chain_awaiter), whoever resumed it.
//   The worker clears it before it resumes anything from a queue; awaiters that a coroutine of
//   another type awaits clear it when that coroutine resumes. weft::spawn links the child to it.
//
//   Lifetime: a task reads its spawner's state (and that one's spawner's...) while it runs, and
//   the spawner may finish first (its handle detached, or moved to another task). So every link
//   keeps its target's frame alive, at no atomic cost on the structured paths:
//   - A spawn counts the link in the spawner chain's links_ (a plain counter: only that chain
//     changes it). A join by the spawner's own chain lets go of it there (a decrement).
//   - A link let go anywhere else (a join by another task, a detached task that ends) is
//     counted down on the spawner's refs_, an atomic.
//   - A finished task whose links_ is not zero when its frame is due to be freed becomes a
//     zombie (destroy_linked_frame): refs_ gets zombie_bias plus links_, and whoever brings it to
//     zombie_bias (the last link to let go) frees the frame, letting go of the zombie's own link
//     in turn. So the whole chain of ancestors a running task can walk stays alive, wherever
//     its handles went.
//   Walking up costs a load per level, so it is gated: cancel_epoch counts every cancellation in
//   the process; each state remembers the epoch at which its spawners were last seen clean
//   (inherited at spawn), and a task walks only when some cancellation happened since. The
//   direct spawner is always looked at (two loads).
//
// Rejected approaches
//   - Registering every child with its spawner so that a request can walk down the tree: a lock
//     or an atomic list operation per spawn and per finish on the fork-join hot path.
//   - Raw links: a child whose spawner had moved or dropped its handle and finished would read
//     freed memory.
//   - Counting a link atomically when its handle moves (it may leave the spawner's custody):
//     an atomic add per push_back of a handle into a vector, the commonest fan-out.
//   - Exceptions alone (a cancelled join throws): the children a cancelled parent spawned and
//     had not joined would still run, whole subtrees of them when stolen.
//
// Cost
//   A task's start: its own state and its spawner's (two loads each), the epoch. A spawn: the
//   thread-local chain, three stores and an increment. Every await: a thread-local store on
//   resumption. A join that suspends: arm and disarm, one CAS each, on the joiner's state (a join
//   that finds the child done pays nothing). A frame's destruction: two loads and a decrement.

#include <weft/runtime/result.hpp>

#include <weft/runtime/detail/cancel_state.hpp>
#include <weft/runtime/detail/promise.hpp>

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>

namespace weft::detail {

constinit thread_local cancel_state* tls_chain = nullptr;
std::atomic<std::uint32_t> cancel_epoch{0};

namespace {
promise_base& promise_of(cancel_state& s) noexcept {
    // Link targets are always a task's own_cancel_ (tls_chain only ever holds a promise's
    // cancel_, which is its own or an ancestor's own_cancel_). promise_base is not
    // standard-layout, so offsetof is out; a sample object tells.
    static const std::ptrdiff_t offset = [] {
        promise_base sample;
        return reinterpret_cast<char*>(&sample.own_cancel_) - reinterpret_cast<char*>(&sample);
    }();
    return *reinterpret_cast<promise_base*>(reinterpret_cast<char*>(&s) - offset);
}
} // namespace

void destroy_linked_frame(
    std::coroutine_handle<> h, promise_base& first, cancel_state* consumer) noexcept {
    promise_base* p = &first;
    while (p != nullptr) {
        cancel_state& s = p->own_cancel_;
        if (s.links_ != 0) {
            // Tasks this one spawned may still read its state: it stays, as a zombie, until the
            // last of them lets go. Their links count as links_ plus zombie_bias; those let go
            // elsewhere already made refs_ negative. acq_rel: the stash is visible to whoever
            // frees us, and we see their last reads finished.
            p->join_.stash(h.address());
            const std::int32_t add = cancel_state::zombie_bias + s.links_;
            s.links_ = 0;
            if (s.refs_.fetch_add(add, std::memory_order_acq_rel) + add !=
                cancel_state::zombie_bias) {
                return; // the last link to let go frees it; its own link goes then, counted
            }
            // They had all let go already: free it now, as the consumer (still running here).
        }
        cancel_state* up = s.parent();
        h.destroy();
        p = nullptr;
        if (up == nullptr) {
            return;
        }
        if (up == consumer) {
            --up->links_; // joined by its spawner's chain, which is running here
            return;
        }
        // Let go elsewhere: counted down on the spawner. If it is a zombie and this was its
        // last link, free it too, and go on up.
        if (up->refs_.fetch_sub(1, std::memory_order_acq_rel) - 1 == cancel_state::zombie_bias) {
            p = &promise_of(*up);
            h = std::coroutine_handle<>::from_address(p->join_.stashed());
            consumer = nullptr;
        }
    }
}

void start_slow(promise_base& p) {
    cancel_state& s = p.own_cancel_;
    if (s.requested()) {
        throw_cancelled(s.reason());
    }
    // A spawner (or one of its spawners) cancelled since the spawn: so is this task.
    if (cancel_reason r = s.inherited_reason(); r != cancel_reason::none) {
        s.request(r);
        throw_cancelled(r);
    }
}

void throw_cancelled(cancel_reason why) {
    throw cancelled_error(cancel_state::error_for(why));
}

bool is_cancellation(const std::exception_ptr& e, std::error_code* code) noexcept {
    if (!e) {
        return false;
    }
    try {
        std::rethrow_exception(e);
    } catch (const cancelled_error& c) {
        if (code != nullptr) {
            *code = c.code();
        }
        return true;
    } catch (...) {
        return false;
    }
}

bool current_is_cancellation(std::error_code& code) noexcept {
    try {
        throw;
    } catch (const cancelled_error& c) {
        code = c.code();
        return true;
    } catch (...) {
        return false;
    }
}

} // namespace weft::detail

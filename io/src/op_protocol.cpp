// The op protocol that both backends share: the life of an op from op_start to op_finish, who
// may complete it, and how a canceller (the task's cancellation, a deadline, close(), shutdown)
// cuts it short.
//
// Vocabulary
//   op        one kernel operation (recv, send, accept, ...), embedded in the awaiter, in the
//             awaiting task's coroutine frame (include/weft/io/detail/op.hpp).
//   owner     the io_reactor of the worker the task ran on when it started the op. An io_uring op
//             sits on the owner's ring; an epoll op waits on its descriptor, whose readiness is
//             reported by the descriptor's `home` (the epoll instance it was registered with).
//   st        the descriptor's shared state (fd_state, fd_state.hpp): fd, closed flag, the ops in
//             flight on it, the wait queues (epoll ops, io_uring accept waiters), deadlines.
//   ring op   an io_uring op: it ends only with its CQE. Cancelling one means asking the owner to
//             submit IORING_OP_ASYNC_CANCEL; the CQE (-ECANCELED, or a success that won the race)
//             is what resumes the task (liburing #733).
//   queued op an op that waits on st's wait queue (wait_queue.hpp; every epoll op; io_uring
//             accept waiters). Whoever takes it off the queue under st's lock completes it,
//             exactly once.
//   canceller anyone cutting an op short: the task's cancel hook (any thread), the op's deadline
//             timer (the owner's worker), close() (fd_close.cpp) or a past deadline
//             (fd_deadline.cpp; any thread, under st's lock), the runtime shutting down (the
//             owner).
//
// Invariants
//   1. An op's memory (and buffer) is alive from op_start until the task resumes; the task
//      resumes only after every party that could still touch the op has let go of it:
//        - the kernel: a ring op resumes only from its final CQE;
//        - a ring op's canceller posted on the owner's inbox: the CQE handler does not resume the
//          op while st_posted is set; the inbox drain resumes it then (st_done tells it to);
//        - a queued op: only the one who took it off the queue resumes it;
//        - the cancel hook: it runs under the cancel_state lock, and op_finish disarms (takes
//          that lock) before the op can die;
//        - the deadline timer: the completer stops it first (timer_cancel); if it fired, the
//          completer waits until on_fire has marked fire_complete; if its cancellation is
//          pending on another worker, that worker resumes the task after unlinking it.
//   2. Only a ring's owner thread touches the ring (SQEs, CQEs, submit, cancel).
//   3. A descriptor number is closed only when no op is in flight on it (st->inflight == 0), so
//      no kernel operation ever names a number that was reused (liburing #932).
//   4. The first canceller's reason wins (op::state why bits); later ones do nothing.
//
// Rejected approaches
//   - Cancelling by closing the descriptor: io_uring ops hold their own file reference, so close()
//     does not end them (liburing #932), and with epoll a closed number can be reused at once.
//   - Resuming a cancelled ring op from the canceller: the kernel may still write the buffer.
//   - A heap-allocated, reference-counted op: one allocation per read. The op lives in the frame
//     and the protocol above makes that safe.
//   - Touching the ring from the cancel hook's thread: rings are single-issuer (liburing #215);
//     the hook posts to the owner's inbox and unparks it.
//
// Current approach: the life of an op
//   1. op_start (initiator = owner thread): fail fast if the runtime is stopping, the task is
//      already cancelled, the deadline has passed, or the descriptor is closed; else link the op
//      on st (st->inflight + 1) and hand it to owner->start().
//   2. The backend starts it. Before the task can be resumed by anyone else it arms the cancel
//      hook and the deadline timer (arm_waiting). epoll first tries the system call inline and
//      only waits on EAGAIN; io_uring prepares an SQE (submitted in the next poll/park batch).
//   3. Completion: io_uring's CQE handler on the owner (stop timer, st_done, resume unless
//      st_posted); epoll: the thread that takes the op off the queue (complete_taken).
//   4. op_finish (the resumed task, any worker): disarm the hook, unlink from st (closing the
//      descriptor if close() came and this was the last op), map res to a result.
//
// Shutdown
//   The scheduler's shutdown (runtime/src/scheduler.cpp) sets "stopping", unparks every worker,
//   and waits until the runtime is quiescent: every worker asleep with empty queues and no timers,
//   and every reactor's pending() == 0; a worker exits only once its own queues and reactor are
//   drained (worker::drained), and reactors are destroyed after every worker has joined. The
//   reactors' part: the first poll() or park() that sees runtime_stopping() sweeps (io_uring: one
//   IORING_ASYNC_CANCEL_ANY, reaped right there when it can be; epoll: every queued op completed
//   with operation_canceled), and every op started afterwards fails fast in op_start. pending()
//   counts every op not yet handed back to its task, so shutdown cannot finish before the tasks
//   blocked in I/O have been resumed.
//
// References
//   liburing issues #215 (rings are not thread-safe), #733 (cancelled ops still complete), #932
//   (close does not cancel), #1001 (send ordering); libunifex io_uring_context.cpp; Go
//   internal/poll/fd_mutex.go (close waits for the last user) and runtime/netpoll.go (pollDesc,
//   deadlines); Tokio io/scheduled_io.rs (readiness ticks).

#include "op_protocol.hpp"

#include <weft/io/error.hpp>

#include <weft/runtime/detail/assert.hpp>
#include <weft/runtime/detail/scheduler_hooks.hpp>
#include <weft/runtime/detail/timer_node.hpp>

#include "fd_state.hpp"
#include "io_reactor.hpp"
#include "wait_queue.hpp"

#include <cerrno>
#include <system_error>

namespace weft::io::detail {

namespace {

void on_task_cancel(weft::detail::cancel_hook* h) noexcept {
    // The task's cancel_state lock is held: the op is alive (invariant 1).
    op& o = static_cast<op&>(*h);
    o.owner->cancel(o, why_cancel, false);
}

void on_deadline(weft::detail::timer_node* n) noexcept {
    op& o = *reinterpret_cast<op_timer*>(n)->self;
    std::uint32_t why = weft::detail::runtime_stopping() ? why_stopping : why_deadline;
    // The backend's cancel() marks fire_complete as its last touch of the op (from_timer).
    o.owner->cancel(o, why, true);
}

void link_op(fd_state* st, op& o) noexcept {
    auto s = static_cast<unsigned>(o.side);
    o.prev = nullptr;
    o.next = st->ops[s];
    if (o.next != nullptr) {
        o.next->prev = &o;
    }
    st->ops[s] = &o;
    ++st->inflight;
    o.linked = true;
}

void unlink_op(fd_state* st, op& o) noexcept {
    auto s = static_cast<unsigned>(o.side);
    if (o.prev != nullptr) {
        o.prev->next = o.next;
    } else {
        st->ops[s] = o.next;
    }
    if (o.next != nullptr) {
        o.next->prev = o.prev;
    }
    o.next = o.prev = nullptr;
    o.linked = false;
}

bool zero_length_shortcut(const op& o) noexcept {
    if (o.len != 0 || o.st == nullptr || o.st->kind == fd_kind::datagram) {
        return false; // a zero-length datagram is a real datagram
    }
    switch (o.code) {
    case op_code::recv:
    case op_code::send:
    case op_code::read:
    case op_code::write:
        return true;
    default:
        return false;
    }
}

} // namespace

op::op(op_code c, fd_state* s, op_side sd) noexcept
    : weft::detail::cancel_hook{&on_task_cancel}
    , code(c)
    , side(sd)
    , st(s) {
}

std::uint32_t record_why(op& o, std::uint32_t why) noexcept {
    std::uint32_t s = o.state.load(std::memory_order_acquire);
    while (why_of(s) == why_none && (s & st_done) == 0) {
        // acq_rel: pairs with the completer's and op_finish's acquire loads of the state.
        if (o.state.compare_exchange_weak(
                s, s | (why << why_shift), std::memory_order_acq_rel, std::memory_order_acquire)) {
            break;
        }
    }
    return s;
}

bool arm_waiting(op& o) noexcept {
    if (o.cancel != nullptr) {
        if (!o.cancel->arm(&o)) {
            o.res = -ECANCELED;
            record_why(o, why_cancel);
            return false;
        }
        o.flow |= fl_hook;
    }
    if (o.deadline_ns >= 0) {
        o.timer.self = &o;
        o.timer.node.deadline_ns = o.deadline_ns;
        o.timer.node.on_fire = &on_deadline;
        o.timer.node.waiter = o.waiter; // resumed by the timer's owner if a remote stop is pending
        weft::detail::timer_register(&o.timer.node);
        o.flow |= fl_timer;
    }
    return true;
}

void stop_timer_local(op& o) noexcept {
    if ((o.flow & fl_timer) == 0) {
        return;
    }
    o.flow &= static_cast<std::uint8_t>(~fl_timer);
    if (weft::detail::timer_cancel(&o.timer.node) == weft::detail::cancel_result::cancel_lost) {
        // Fired on this very worker earlier: on_fire has returned, fire_complete is set.
        weft::detail::wait_fire_complete(o.timer.node);
    }
}

void complete_taken(op& o, bool from_timer) noexcept {
    std::coroutine_handle<> h = o.waiter;
    io_reactor* owner = o.owner;
    if ((o.flow & fl_timer) != 0) {
        o.flow &= static_cast<std::uint8_t>(~fl_timer);
        if (from_timer) {
            // We are the timer's on_fire: nobody waits for fire_complete but the mark is cheap
            // and keeps the node's state tidy. Last touch of the node.
            o.timer.node.state.store(
                weft::detail::timer_node::fire_complete, std::memory_order_release);
        } else {
            switch (weft::detail::timer_cancel(&o.timer.node)) {
            case weft::detail::cancel_result::cancel_done:
                break;
            case weft::detail::cancel_result::cancel_pending:
                return; // the timer's worker unlinks the node, then resumes node.waiter (= h)
            case weft::detail::cancel_result::cancel_lost:
                // on_fire runs or ran; it found the op gone from the queue and will mark
                // fire_complete as its last touch (acquire pairs with that release store).
                weft::detail::wait_fire_complete(o.timer.node);
                break;
            }
        }
    }
    weft::detail::schedule_wakeup_on(owner->sched, h);
}

void cancel_queued(op& o, std::uint32_t why, bool from_timer) noexcept {
    fd_state* st = o.st;
    st->lock.lock();
    if (o.queued) {
        wq_remove(st, o);
        o.res = -ECANCELED;
        record_why(o, why);
        st->lock.unlock();
        complete_taken(o, from_timer);
        return;
    }
    // Not queued: being started or retried right now; that thread checks the reason under the
    // lock before it queues the op again.
    record_why(o, why);
    st->lock.unlock();
    if (from_timer) {
        o.timer.node.state.store(
            weft::detail::timer_node::fire_complete, std::memory_order_release);
    }
}

bool op_start(op& o, std::coroutine_handle<> h, weft::detail::cancel_state* c) noexcept {
    o.waiter = h;
    o.cancel = c;
    io_reactor* r = current_io_reactor();
    if (r == nullptr) {
        o.res = -ENOSYS; // not on a worker, or no backend could be set up
        return false;
    }
    o.owner = r;
    if (weft::detail::runtime_stopping()) {
        o.res = -ECANCELED;
        record_why(o, why_stopping);
        return false;
    }
    if (c != nullptr && c->requested()) {
        o.res = -ECANCELED;
        record_why(o, why_cancel);
        return false;
    }
    fd_state* st = o.st;
    if (o.code != op_code::openat) {
        if (st == nullptr) {
            o.res = -EBADF;
            return false;
        }
        if (zero_length_shortcut(o)) {
            o.res = 0;
            return false;
        }
        if (o.deadline_ns < 0) {
            o.deadline_ns =
                st->deadline[static_cast<unsigned>(o.side)].load(std::memory_order_acquire);
        }
        if (o.deadline_ns >= 0 && o.deadline_ns <= weft::detail::now_ns()) {
            o.res = -ETIMEDOUT;
            return false;
        }
        st->lock.lock();
        if (st->closed) {
            st->lock.unlock();
            o.res = -EBADF;
            return false;
        }
        // One send in flight per stream (liburing #1001: two could reorder their bytes).
        WEFT_ASSERT(
            !(st->kind == fd_kind::stream && o.side == op_side::write &&
              st->ops[static_cast<unsigned>(op_side::write)] != nullptr),
            "weft::io: two tasks write one stream at once (one writer at a time; see "
            "tcp_stream.hpp, thread-safety)");
        link_op(st, o);
        st->lock.unlock();
    }
    return r->start(o);
}

op_outcome op_finish(op& o) noexcept {
    if ((o.flow & fl_hook) != 0) {
        o.cancel->disarm(); // waits for a hook that is firing right now (invariant 1)
        o.flow &= static_cast<std::uint8_t>(~fl_hook);
    }
    if (o.linked) {
        fd_state* st = o.st;
        st->lock.lock();
        unlink_op(st, o);
        fd_drop d = fd_unuse_locked(st);
        st->lock.unlock();
        fd_apply(st, d);
    }
    const std::int64_t res = o.res;
    if (res >= 0) {
        return {res, {}};
    }
    if (res == res_unexpected_eof) {
        return {-1, make_error_code(errc::unexpected_eof)};
    }
    if (res == -ECANCELED || res == -EINTR) {
        switch (why_of(o.state.load(std::memory_order_acquire))) {
        case why_cancel:
            return {
                -1,
                o.cancel != nullptr ? o.cancel->error() : make_error_code(weft::errc::canceled)};
        case why_deadline:
            return {-1, make_error_code(weft::errc::timed_out)};
        case why_closed:
            return {-1, std::make_error_code(std::errc::bad_file_descriptor)};
        case why_stopping:
        default:
            return {-1, make_error_code(weft::errc::canceled)};
        }
    }
    if (res == -ETIMEDOUT) {
        // A weft deadline already past when the op began (op_begin), or the kernel's own (a
        // connect or keepalive timeout): both read "timed out" and equal std::errc::timed_out.
        return {-1, make_error_code(weft::errc::timed_out)};
    }
    return {-1, std::error_code(static_cast<int>(-res), std::system_category())};
}

} // namespace weft::io::detail

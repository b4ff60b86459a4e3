// The part of weft::io that both backends share: the life of an op, descriptor state, closing,
// deadlines, cancellation, backend selection and the reactor factory the scheduler calls.
//
// Vocabulary
//   op        one kernel operation (recv, send, accept, ...), embedded in the awaiter, in the
//             awaiting task's coroutine frame (include/weft/io/detail/op.hpp).
//   owner     the io_reactor of the worker the task ran on when it started the op. An io_uring op
//             sits on the owner's ring; an epoll op waits on its descriptor, whose readiness is
//             reported by the descriptor's `home` (the epoll instance it was registered with).
//   st        the descriptor's shared state (fd_state): fd, closed flag, the ops in flight on it,
//             the wait queues (epoll ops, io_uring accept waiters), deadlines.
//   ring op   an io_uring op: it ends only with its CQE. Cancelling one means asking the owner to
//             submit IORING_OP_ASYNC_CANCEL; the CQE (-ECANCELED, or a success that won the race)
//             is what resumes the task (liburing #733).
//   queued op an op that waits on st's wait queue (every epoll op; io_uring accept waiters).
//             Whoever takes it off the queue under st's lock completes it, exactly once.
//   canceller anyone cutting an op short: the task's cancel hook (any thread), the op's deadline
//             timer (the owner's worker), close() or a past deadline (any thread, under st's lock),
//             the runtime shutting down (the owner).
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
// Closing (fd_close, any thread): under st's lock, mark closed, take every queued op off its
// queue (complete them with bad_file_descriptor after unlocking), ask every ring op to cancel,
// cancel the listener's multishot accept; the descriptor is closed now if nothing is in flight,
// else by the last op_finish.
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
//   blocked in I/O have been resumed. (Until the runtime counted pending(), a far-future
//   "sentinel" timer per busy reactor stood in for it; it is gone.)
//
// References
//   liburing issues #215 (rings are not thread-safe), #733 (cancelled ops still complete), #932
//   (close does not cancel), #1001 (send ordering); libunifex io_uring_context.cpp; Go
//   internal/poll/fd_mutex.go (close waits for the last user) and runtime/netpoll.go (pollDesc,
//   deadlines); Tokio io/scheduled_io.rs (readiness ticks).

#include <weft/io/backend.hpp>
#include <weft/io/error.hpp>

#include <weft/runtime/detail/assert.hpp>
#include <weft/runtime/detail/scheduler_hooks.hpp>
#include <weft/runtime/detail/spin_lock.hpp>

#include "io_reactor.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string_view>

#include <fcntl.h>
#include <netdb.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace weft::io {

namespace {

class io_error_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "weft.io"; }
    std::string message(int c) const override {
        switch (static_cast<errc>(c)) {
        case errc::unexpected_eof:
            return "unexpected end of stream";
        case errc::host_not_found:
            return "host not found";
        case errc::resolve_again:
            return "temporary failure in name resolution";
        case errc::resolve_failed:
            return "name resolution failed";
        }
        return "unknown weft.io error";
    }
};

} // namespace

const std::error_category& io_category() noexcept {
    static const io_error_category c;
    return c;
}

} // namespace weft::io

namespace weft::io::detail {

namespace {

// ---------------------------------------------------------------------------------------------
// Backend selection and the factory

std::once_flag g_choose_once;
std::atomic<int> g_backend{static_cast<int>(backend::none)};
bool g_forced_uring = false; // written once under g_choose_once

void raise_nofile_limit() noexcept {
    // Go does this at start (syscall.rlimit.go): programs serving many connections need more
    // than the soft default of 1024, and select() users are not our concern.
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)::setrlimit(RLIMIT_NOFILE, &rl);
    }
}

backend choose_backend() noexcept {
    const char* env = std::getenv("WEFT_IO_BACKEND");
    std::string_view want = env != nullptr ? env : "";
    if (want == "epoll") {
        return backend::epoll;
    }
    if (want == "io_uring" || want == "uring") {
        g_forced_uring = true;
        return uring_probe() == 0 ? backend::io_uring : backend::none;
    }
    if (!want.empty() && want != "auto") {
        std::fprintf(
            stderr, "weft: ignoring WEFT_IO_BACKEND=\"%s\" (want epoll, io_uring or auto)\n", env);
    }
    return uring_probe() == 0 ? backend::io_uring : backend::epoll;
}

void choose_once() noexcept {
    std::call_once(g_choose_once, [] {
        raise_nofile_limit();
        g_backend.store(static_cast<int>(choose_backend()), std::memory_order_release);
    });
}

std::unique_ptr<weft::detail::reactor> reactor_factory(std::size_t index) {
    choose_once();
    auto b = static_cast<backend>(g_backend.load(std::memory_order_acquire));
    std::unique_ptr<io_reactor> r;
    if (b == backend::io_uring) {
        r = make_uring_reactor(index);
        if (r == nullptr && !g_forced_uring) {
            std::fprintf(
                stderr, "weft: io_uring setup failed on worker %zu; using epoll there\n", index);
            r = make_epoll_reactor(index);
        }
    } else if (b == backend::epoll) {
        r = make_epoll_reactor(index);
    }
    return r;
}

// Registered during static initialisation. This file defines op_start, which every weft::io
// operation calls, so a static link always keeps it.
const bool g_registered = [] {
    weft::detail::set_reactor_factory(&reactor_factory);
    return true;
}();

// ---------------------------------------------------------------------------------------------
// The descriptor pool: type-stable memory (see fd_state).

std::mutex g_pool_mu;
fd_state* g_pool_free = nullptr; // guarded by g_pool_mu

fd_state* pool_alloc() noexcept {
    std::lock_guard lk(g_pool_mu);
    if (g_pool_free == nullptr) {
        constexpr std::size_t chunk = 64;
        auto* block = new (std::nothrow) fd_state[chunk]; // never freed: type-stable
        if (block == nullptr) {
            return nullptr;
        }
        for (std::size_t i = 0; i < chunk; ++i) {
            block[i].pool_next = g_pool_free;
            g_pool_free = &block[i];
        }
    }
    fd_state* s = g_pool_free;
    g_pool_free = s->pool_next;
    s->pool_next = nullptr;
    return s;
}

void pool_free(fd_state* s) noexcept {
    s->lock.lock();
    s->gen = static_cast<std::uint16_t>(s->gen + 1); // stale epoll events no longer match
    s->fd = -1;
    s->home = nullptr;
    s->lx.reset();
    s->lock.unlock();
    std::lock_guard lk(g_pool_mu);
    s->pool_next = g_pool_free;
    g_pool_free = s;
}

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

// ---------------------------------------------------------------------------------------------
// Public odds and ends

std::int64_t now_ns() noexcept {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

io_reactor::io_reactor() noexcept
    : sched(weft::detail::current_scheduler()) {
}

io_reactor* current_io_reactor() noexcept {
    // Every reactor the runtime holds was made by reactor_factory above, so it is an io_reactor.
    return static_cast<io_reactor*>(weft::detail::current_reactor());
}

op::op(op_code c, fd_state* s, op_side sd) noexcept
    : weft::detail::cancel_hook{&on_task_cancel}
    , code(c)
    , side(sd)
    , st(s) {
}

// ---------------------------------------------------------------------------------------------
// The op protocol

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
        if (o.deadline_ns >= 0 && o.deadline_ns <= now_ns()) {
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
                o.cancel != nullptr ? o.cancel->error()
                                    : std::make_error_code(std::errc::operation_canceled)};
        case why_deadline:
            return {-1, std::make_error_code(std::errc::timed_out)};
        case why_closed:
            return {-1, std::make_error_code(std::errc::bad_file_descriptor)};
        case why_stopping:
        default:
            return {-1, std::make_error_code(std::errc::operation_canceled)};
        }
    }
    return {-1, std::error_code(static_cast<int>(-res), std::system_category())};
}

// ---------------------------------------------------------------------------------------------
// Wait queues (st lock held)

namespace {
void count_queued(fd_state* st, op& o, std::ptrdiff_t d) noexcept {
    o.owner->queued.fetch_add(static_cast<std::size_t>(d), std::memory_order_relaxed);
    if (st->home != nullptr) {
        st->home->home_waiters.fetch_add(static_cast<std::size_t>(d), std::memory_order_relaxed);
    }
}
} // namespace

void wq_push_back(fd_state* st, op& o) noexcept {
    auto s = static_cast<unsigned>(o.side);
    o.rnext = nullptr;
    o.rprev = st->wq_tail[s];
    if (o.rprev != nullptr) {
        o.rprev->rnext = &o;
    } else {
        st->wq_head[s] = &o;
    }
    st->wq_tail[s] = &o;
    o.queued = true;
    count_queued(st, o, 1);
}

void wq_push_front(fd_state* st, op& o) noexcept {
    auto s = static_cast<unsigned>(o.side);
    o.rprev = nullptr;
    o.rnext = st->wq_head[s];
    if (o.rnext != nullptr) {
        o.rnext->rprev = &o;
    } else {
        st->wq_tail[s] = &o;
    }
    st->wq_head[s] = &o;
    o.queued = true;
    count_queued(st, o, 1);
}

void wq_remove(fd_state* st, op& o) noexcept {
    auto s = static_cast<unsigned>(o.side);
    if (o.rprev != nullptr) {
        o.rprev->rnext = o.rnext;
    } else {
        st->wq_head[s] = o.rnext;
    }
    if (o.rnext != nullptr) {
        o.rnext->rprev = o.rprev;
    } else {
        st->wq_tail[s] = o.rprev;
    }
    o.rnext = o.rprev = nullptr;
    o.queued = false;
    count_queued(st, o, -1);
}

op* wq_take_all(fd_state* st, op_side side) noexcept {
    auto s = static_cast<unsigned>(side);
    op* head = st->wq_head[s];
    st->wq_head[s] = st->wq_tail[s] = nullptr;
    for (op* o = head; o != nullptr; o = o->rnext) {
        o->queued = false;
        count_queued(st, *o, -1);
    }
    return head;
}

// ---------------------------------------------------------------------------------------------
// Descriptors

fd_drop fd_unuse_locked(fd_state* st) noexcept {
    fd_drop d;
    WEFT_ASSERT(st->inflight > 0, "weft::io: descriptor use count underflow");
    if (--st->inflight == 0) {
        if (st->closed && st->fd >= 0) {
            d.close_fd = st->fd;
            st->fd = -1;
        }
        d.free = st->released;
    }
    return d;
}

void fd_apply(fd_state* st, fd_drop d) noexcept {
    if (d.close_fd >= 0) {
        ::close(d.close_fd);
    }
    if (d.free) {
        pool_free(st);
    }
}

int fd_use(fd_state* st) noexcept {
    if (st == nullptr) {
        return -EBADF;
    }
    st->lock.lock();
    if (st->closed) {
        st->lock.unlock();
        return -EBADF;
    }
    ++st->inflight;
    int fd = st->fd;
    st->lock.unlock();
    return fd;
}

void fd_unuse(fd_state* st) noexcept {
    st->lock.lock();
    fd_drop d = fd_unuse_locked(st);
    st->lock.unlock();
    fd_apply(st, d);
}

// Quick uses (fd_state::quick): the low bits count the users between fd_use_quick and
// fd_unuse_quick; q_gate is set by close(), after which fd_use_quick fails; q_holder is set by
// close() together with q_gate when users were inside: close() then takes one ordinary use
// (inflight) on their behalf, and whichever user leaves last clears q_holder and drops that use,
// so the number is closed only once they are all out (invariant 3). A user that comes in after
// the gate sees it and leaves without touching anything else.
namespace {
constexpr std::uint32_t q_gate = 1u << 31;
constexpr std::uint32_t q_holder = 1u << 30;
constexpr std::uint32_t q_count = q_holder - 1;

/// close()'s side, under st->lock: shuts the gate; true when users are inside (the caller takes
/// the use that the last of them will drop).
bool quick_close_locked(fd_state* st) noexcept {
    std::uint32_t v = st->quick.load(std::memory_order_relaxed);
    for (;;) {
        std::uint32_t want = v | q_gate | ((v & q_count) != 0 ? q_holder : 0);
        // acq_rel: sees the users' increments; the last user's decrement reads our holder bit.
        if (st->quick.compare_exchange_weak(
                v, want, std::memory_order_acq_rel, std::memory_order_relaxed)) {
            return (want & q_holder) != 0;
        }
    }
}
} // namespace

int fd_use_quick(fd_state* st) noexcept {
    if (st == nullptr) {
        return -EBADF;
    }
    // acquire: the read of fd below stays after our count. close()'s CAS on the same word either
    // comes first (we see the gate and never read fd) or sees our count (and holds a use for us).
    const std::uint32_t v = st->quick.fetch_add(1, std::memory_order_acquire);
    if ((v & q_gate) != 0) {
        fd_unuse_quick(st);
        return -EBADF;
    }
    return st->fd; // stable: the number is not closed while we are counted
}

void fd_unuse_quick(fd_state* st) noexcept {
    std::uint32_t v = st->quick.load(std::memory_order_relaxed);
    std::uint32_t want;
    do {
        want = v - 1;
        if (want == (q_gate | q_holder)) {
            want = q_gate; // the last user out after close(): ours to drop its use
        }
        // acq_rel: pairs with quick_close_locked's CAS.
    } while (!st->quick.compare_exchange_weak(
        v, want, std::memory_order_acq_rel, std::memory_order_relaxed));
    if (want == q_gate && v == (q_gate | q_holder | 1)) {
        fd_unuse(st);
    }
}

fd_state* fd_adopt_raw(int fd, fd_kind kind) noexcept {
    fd_state* st = pool_alloc();
    if (st == nullptr) {
        ::close(fd);
        return nullptr;
    }
    st->lock.lock();
    st->fd = fd;
    st->kind = kind;
    st->closing.store(false, std::memory_order_relaxed);
    st->closed = false;
    st->released = false;
    st->unlink_done = false;
    st->retry_exhaustion = true;
    st->inflight = 0;
    st->ops[0] = st->ops[1] = nullptr;
    st->wq_head[0] = st->wq_head[1] = st->wq_tail[0] = st->wq_tail[1] = nullptr;
    st->seq[0].store(0, std::memory_order_relaxed);
    st->seq[1].store(0, std::memory_order_relaxed);
    st->deadline[0].store(-1, std::memory_order_relaxed);
    st->deadline[1].store(-1, std::memory_order_relaxed);
    st->quick.store(0, std::memory_order_relaxed); // published by the unlock below
    st->home = nullptr;
    if (kind == fd_kind::listener) {
        st->lx = std::unique_ptr<listener_ext>(new (std::nothrow) listener_ext);
    }
    st->lock.unlock();
    return st;
}

fd_state* fd_adopt(int fd, fd_kind kind) noexcept {
    if (fd < 0) {
        return nullptr;
    }
    if (kind != fd_kind::file) {
        int fl = ::fcntl(fd, F_GETFL);
        if (fl >= 0 && (fl & O_NONBLOCK) == 0) {
            ::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
        }
    }
    int fdfl = ::fcntl(fd, F_GETFD);
    if (fdfl >= 0 && (fdfl & FD_CLOEXEC) == 0) {
        ::fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC);
    }
    return fd_adopt_raw(fd, kind);
}

void fd_close(fd_state* st) noexcept {
    st->lock.lock();
    if (st->closed) {
        st->lock.unlock();
        return;
    }
    st->closed = true;
    st->closing.store(true, std::memory_order_release);
    // Queued ops: ours to complete now.
    op* taken[2] = {wq_take_all(st, op_side::read), wq_take_all(st, op_side::write)};
    for (op* q : taken) {
        for (op* o = q; o != nullptr; o = o->rnext) {
            o->res = -ECANCELED;
            record_why(*o, why_closed);
        }
    }
    // Ops not queued: ring ops (ask their owners to cancel), or epoll ops being tried right now
    // (they see the reason before queueing again).
    for (op* first : st->ops) {
        for (op* o = first; o != nullptr; o = o->next) {
            // Taken ops already carry why_closed; the others get it now.
            if (why_of(o->state.load(std::memory_order_acquire)) == why_none) {
                o->owner->cancel_locked(*o, why_closed);
            }
        }
    }
    std::vector<int> ready;
    if (st->kind == fd_kind::listener && st->fd >= 0) {
        // Stop listening now (the port is free again when close() returns, and a pending accept
        // ends with EINVAL); the number itself is closed once the multishot accept is over.
        ::shutdown(st->fd, SHUT_RDWR);
    }
    if (st->lx) {
        ready.swap(st->lx->ready);
        if (st->lx->armed && st->lx->owner != nullptr) {
            st->lx->owner->cancel_locked(*st->lx->ms, why_closed);
        }
    }
    if (quick_close_locked(st)) {
        ++st->inflight; // on behalf of the quick users inside; the last one out drops it
    }
    io_reactor* home = st->home;
    // Hold a use until the epoll registration is gone: closing the number first would let it be
    // reused, and EPOLL_CTL_DEL could then remove somebody else's registration.
    ++st->inflight;
    st->lock.unlock();
    for (int fd : ready) {
        ::close(fd);
    }
    for (op* q : taken) {
        for (op* o = q; o != nullptr;) {
            op* next = o->rnext; // read before the task can resume
            complete_taken(*o, false);
            o = next;
        }
    }
    if (home != nullptr) {
        home->forget(st);
    }
    fd_unuse(st); // closes the descriptor now if no op is in flight, else the last op does
}

void fd_release(fd_state* st) noexcept {
    fd_close(st);
    st->lock.lock();
    st->released = true;
    bool free_now = st->inflight == 0;
    st->lock.unlock();
    if (free_now) {
        pool_free(st);
    }
}

int fd_native(const fd_state* st) noexcept {
    if (st->closing.load(std::memory_order_acquire)) {
        return -1;
    }
    auto* s = const_cast<fd_state*>(st); // the lock is logically mutable
    s->lock.lock();
    int fd = s->closed ? -1 : s->fd;
    s->lock.unlock();
    return fd;
}

void fd_set_deadline(fd_state* st, op_side side, std::int64_t deadline_ns) noexcept {
    auto s = static_cast<unsigned>(side);
    st->deadline[s].store(deadline_ns < 0 ? -1 : deadline_ns, std::memory_order_release);
    if (deadline_ns < 0 || deadline_ns > now_ns()) {
        return;
    }
    // Already passed: interrupt what is in flight on that side (Go's SetReadDeadline(past)).
    st->lock.lock();
    op* taken = wq_take_all(st, side);
    {
        for (op* o = taken; o != nullptr; o = o->rnext) {
            o->res = -ECANCELED;
            record_why(*o, why_deadline);
        }
    }
    for (op* o = st->ops[s]; o != nullptr; o = o->next) {
        if (why_of(o->state.load(std::memory_order_acquire)) == why_none) {
            o->owner->cancel_locked(*o, why_deadline);
        }
    }
    st->lock.unlock();
    for (op* o = taken; o != nullptr;) {
        op* next = o->rnext;
        complete_taken(*o, false);
        o = next;
    }
}

} // namespace weft::io::detail

namespace weft::io {

backend current_backend() noexcept {
    return static_cast<backend>(detail::g_backend.load(std::memory_order_acquire));
}

backend preferred_backend() noexcept {
    detail::choose_once();
    return current_backend();
}

bool io_uring_available() noexcept {
    static const bool ok = detail::uring_probe() == 0;
    return ok;
}

const char* to_string(backend b) noexcept {
    switch (b) {
    case backend::io_uring:
        return "io_uring";
    case backend::epoll:
        return "epoll";
    case backend::none:
        break;
    }
    return "none";
}

} // namespace weft::io

// The io_uring reactor: one ring per worker, driven by the scheduler's poll() and park().
//
// Vocabulary
//   owner      the worker thread that created the ring; the only thread that touches it
//              (IORING_SETUP_SINGLE_ISSUER makes the kernel hold us to that).
//   inbox      an MPSC stack of ops that other threads want cancelled (op::inbox_next).
//   flush      io_uring_submit_and_get_events: submit the prepared SQEs and, with DEFER_TASKRUN,
//              run the deferred completion work so that CQEs appear. One system call.
//   multishot  the listener's IORING_OP_ACCEPT with IORING_ACCEPT_MULTISHOT: one SQE, one CQE per
//              connection, ended by a CQE without IORING_CQE_F_MORE.
//   park word  park_: running / parked / notified (park_word.hpp), the handshake between park()
//              and unpark() that decides whether an eventfd write is needed.
//
// Invariants
//   1. Only the owner prepares SQEs, submits, reaps and processes CQEs (liburing #215).
//   2. An op is resumed once, by its final CQE, unless a cancel request for it sits in the inbox
//      (st_posted); then the inbox drain resumes it (op_protocol.cpp, invariant 1).
//   3. A cancel SQE for an op is always queued after the op's own SQE (both by the owner, in SQ
//      order), so async-cancel by user_data can never hit a later op that reuses the address.
//   4. unpark() is never lost: it writes the eventfd whenever it finds the owner parked, and
//      park() re-checks the park word after announcing itself, with the eventfd read armed.
//   5. A submit never drops an SQE: each one reaches the kernel, or its op is completed with the
//      error of the io_uring_enter that failed to submit it (below, "A failed submit").
//
// Rejected approaches
//   - Submitting every SQE at once (one syscall per op): the scheduler's poll/park points batch
//     them, so one io_uring_enter carries all the ops a worker's tasks started since the last
//     one. A read that is ready completes inline during that submit.
//   - An IORING_OP_READ of the eventfd, re-armed after each wake-up: ~20% slower wake-ups than the
//     multishot poll we use (bench/kernel/wake_bench.cpp) and one more SQE per wake-up.
//   - IORING_OP_MSG_RING for worker-to-worker wake-ups: no faster than the eventfd here
//     (bench/kernel/wake_bench.cpp), it needs the waker to own a ring and submit it on the spot,
//     and outside threads (plain-thread spawns, the blocking pool) need the eventfd anyway.
//   - IORING_OP_LINK_TIMEOUT for deadlines: an extra SQE and CQE on every op of a stream with a
//     deadline; the runtime's per-worker timer heap costs a heap insert, and its on_fire runs on
//     this very worker, so it can queue the cancel SQE directly.
//   - One accept SQE per accept() call: a multishot accept keeps accepting while the acceptor
//     task is busy, one CQE per connection.
//   - Retrying a failed submit, or moving its ops to epoll: an io_uring_enter denied by a seccomp
//     filter (EPERM) stays denied, so retrying spins and the ops wait forever; and an op belongs
//     to the ring that holds its SQE, so there is nothing to move mid-flight. The fallback to
//     epoll happens once, at start-up, when the probe's NOP fails (backend.cpp).
//   - Multishot recv into a provided-buffer ring for stream reads (one armed recv per stream,
//     bytes copied from the kernel's buffer into the reader's): built and tested, then
//     measured 6-8% slower than one-shot recv on the echo
//     benchmark (paired A/B, 10 rounds at 50 and 500 connections). Under load the request is
//     usually already in the socket when the one-shot recv is submitted, so it completes inline
//     in that io_uring_enter (io_arm_apoll is under 1% of the profile), while a multishot recv
//     pays a poll wake-up and a task_work run for every packet. bench/kernel/floor_echo.cpp shows
//     the same without any runtime: its multishot mode is no cheaper than its one-shot mode.
//
// Current approach
//   Start-up (backend.cpp, uring_probe): a 4-entry ring must complete one NOP within a second,
//   or the process uses epoll; a ring that sets up but cannot submit would hang every op.
//   Setup: SQ 256 entries, CQ 4096 (16x), flags SINGLE_ISSUER | DEFER_TASKRUN | TASKRUN_FLAG |
//   SUBMIT_ALL; on EINVAL COOP_TASKRUN | TASKRUN_FLAG | SUBMIT_ALL; then plain. io_uring_ring_
//   dontfork so a forked child never sees the ring; the ring fd registered (io_uring_enter skips
//   its fget). An eventfd for wake-ups.
//   poll() (scheduler, every 61 ticks and before stealing):
//     1. drain the inbox: queue an ASYNC_CANCEL for each op not done yet; resume the ones whose
//        final CQE already came;
//     2. if the runtime is stopping and we have not swept yet: one ASYNC_CANCEL with
//        IORING_ASYNC_CANCEL_ANY (every op on the ring ends with -ECANCELED);
//     3. flush if SQEs are waiting or the kernel set IORING_SQ_TASKRUN / CQ_OVERFLOW (with
//        DEFER_TASKRUN completions are only produced when we enter the kernel);
//     4. reap every CQE: resume the task (schedule_wakeup: onto this worker's deque), or re-submit
//        the rest of a write_all/read_exact, or hand an accepted descriptor to a waiter.
//   park(deadline):
//     1. as poll 1-2; arm the eventfd's multishot poll if it is not armed (first park, or after a
//        completion without F_MORE);
//     2. park word: exchange(parked); if it was `notified`, return at once (an unpark came);
//     3. io_uring_submit_and_wait_timeout(1, deadline): submits and sleeps in one syscall;
//     4. park word: end_park() (running again); drain the inbox; reap.
//   A failed submit: every io_uring_enter goes through submit(), submit_and_get_events() or
//   submit_and_wait(). When one fails with an error that will not go away by itself (anything but
//   EINTR, ETIME, EAGAIN, EBUSY; seccomp's EPERM is the case that matters), the kernel has
//   consumed none of the SQEs (it checks the call before it reads the SQ), so take_back_sqes
//   notes the user_data of every SQE from the kernel's head to our tail, with the error, and
//   rewinds the tail. The next flush_and_reap (or park) handles each one as the CQE it will never
//   get, res = the error and no F_MORE: the op's task resumes with EPERM, a multishot accept's
//   waiters get it, the eventfd poll is re-armed by the next park. Handling is deferred, not done
//   inside the failing call, because sqe() submits when the SQ is full and its callers may hold a
//   descriptor's lock. A park whose wait itself fails sleeps in poll(2) on the eventfd instead,
//   reading it empty (the one time it is read), so a broken ring does not spin its worker. Ops
//   already in the kernel before the failures began complete only when an enter succeeds again.
//   Test hook: uring_fail_enter_for_testing (io_reactor.hpp) makes every enter fail.
//   unpark(): notify() (exchange(notified)); if it was `parked`, write 1 to the eventfd. The
//   eventfd is never read: its multishot poll posts one CQE per write (edge-like), and the counter
//   cannot realistically overflow (one increment per park at most). Cancellation of a ring op
//   (op_protocol.cpp): on the owner, queue ASYNC_CANCEL at once; elsewhere CAS the reason +
//   st_posted into op::state, push onto the inbox, unpark(). Listener: accept() waiters queue on
//   the descriptor; the first one arms the multishot on its ring. Each CQE hands the new descriptor
//   to the first waiter, or to a small ready queue (cancelling the multishot when it holds 64). A
//   final CQE (no F_MORE) re-arms while waiters remain, unless the listener closed or the runtime
//   stops; an error (EMFILE...) goes to the waiters, whose accept() task backs off (net.cpp).
//
// References
//   liburing man pages io_uring_setup(2) (DEFER_TASKRUN, TASKRUN_FLAG), io_uring_enter(2);
//   liburing issues #215, #733, #932, #1001; axboe's "io_uring and networking in 2023"
//   (multishot accept, DEFER_TASKRUN); libunifex io_uring_context.cpp (remote queue + eventfd).

#include <weft/runtime/detail/assert.hpp>
#include <weft/runtime/detail/scheduler_hooks.hpp>

#include "fd_state.hpp"
#include "io_reactor.hpp"
#include "op_protocol.hpp"
#include "park_word.hpp"
#include "wait_queue.hpp"

#include <liburing.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace weft::io::detail {

namespace {

constexpr unsigned sq_entries = 256;
constexpr unsigned cq_entries = 4096;
constexpr std::size_t ready_cap = 64;

// uring_fail_enter_for_testing: the errno every io_uring_enter fails with, 0 normally. Written by
// a test, read (relaxed: no data hangs off it) before each submit.
std::atomic<int> g_fail_enter{0};

int injected_enter_error() noexcept {
    const int e = g_fail_enter.load(std::memory_order_relaxed);
    return e != 0 ? -e : 0;
}

/// An io_uring_enter failure that consumed no SQE and will not go away by itself (seccomp's
/// EPERM, ENOSYS, EBADF, ...). Not: a signal (EINTR), a wait that timed out (ETIME), or a kernel
/// short of memory or CQ space for now (EAGAIN, EBUSY): those keep their SQEs for the next flush.
bool hard_enter_error(int rc) noexcept {
    return rc < 0 && rc != -EINTR && rc != -ETIME && rc != -EAGAIN && rc != -EBUSY;
}

int init_ring(io_uring& ring) noexcept {
    const unsigned base = IORING_SETUP_CQSIZE;
    const unsigned attempts[] = {
        base | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG |
            IORING_SETUP_SUBMIT_ALL,
        base | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SUBMIT_ALL,
        base,
    };
    int err = -EINVAL;
    for (unsigned flags : attempts) {
        io_uring_params p{};
        p.flags = flags;
        p.cq_entries = cq_entries;
        err = io_uring_queue_init_params(sq_entries, &ring, &p);
        if (err != -EINVAL) {
            return err;
        }
    }
    return err;
}

} // namespace

void uring_fail_enter_for_testing(int err) noexcept {
    g_fail_enter.store(err, std::memory_order_relaxed);
}

int uring_probe(bool* at_enter) noexcept {
    if (at_enter != nullptr) {
        *at_enter = false;
    }
    io_uring ring;
    io_uring_params p{};
    int err = io_uring_queue_init_params(4, &ring, &p);
    if (err < 0) {
        return -err;
    }
    // A ring that can be set up may still be unusable: a seccomp filter can allow io_uring_setup
    // and deny io_uring_enter. One NOP through the ring, with a bounded wait, tells.
    io_uring_sqe* s = io_uring_get_sqe(&ring);
    io_uring_prep_nop(s);
    io_uring_sqe_set_data64(s, 0x77656674); // "weft"
    int rc = injected_enter_error();
    io_uring_cqe* cqe = nullptr;
    if (rc == 0) {
        __kernel_timespec ts{1, 0};
        rc = io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts, nullptr);
        if (rc >= 0 && cqe == nullptr) {
            rc = io_uring_peek_cqe(&ring, &cqe);
        }
    }
    int result = 0;
    if (rc < 0 || cqe == nullptr || cqe->user_data != 0x77656674 || cqe->res < 0) {
        result = rc < 0 ? -rc : (cqe != nullptr && cqe->res < 0 ? -cqe->res : EIO);
        if (at_enter != nullptr) {
            *at_enter = true;
        }
    }
    io_uring_queue_exit(&ring);
    return result;
}

class uring_reactor final : public io_reactor {
public:
    uring_reactor() noexcept = default;
    ~uring_reactor() override;

    bool init() noexcept;

    backend kind() const noexcept override { return backend::io_uring; }
    std::size_t poll() noexcept override;
    void park(std::int64_t deadline_ns) noexcept override;
    void unpark() noexcept override;
    std::size_t pending() const noexcept override {
        return pending_.load(std::memory_order_relaxed);
    }

    bool start(op& o) noexcept override;
    void cancel(op& o, std::uint32_t why, bool from_timer) noexcept override;
    void cancel_locked(op& o, std::uint32_t why) noexcept override;
    void sweep() noexcept;

private:
    // Every io_uring_enter goes through these three (the test hook, then liburing; a hard
    // failure hands the SQEs back as completions: take_back_sqes).
    int submit() noexcept;
    int submit_and_get_events() noexcept;
    int submit_and_wait(__kernel_timespec* ts) noexcept;
    void take_back_sqes(int err) noexcept;
    bool failed_has_ops() const noexcept;
    std::size_t reap_failed() noexcept;
    void wait_eventfd(std::int64_t rel_ns) noexcept;
    io_uring_sqe* sqe() noexcept;
    void prep(op& o) noexcept;
    void prep_cancel(op& o) noexcept;
    void ring_cancel(op& o, std::uint32_t why) noexcept;
    bool start_accept(op& o) noexcept;
    void arm_multishot(fd_state* st) noexcept;
    std::size_t drain_inbox() noexcept;
    bool maybe_sweep() noexcept;
    std::size_t flush_and_reap() noexcept;
    std::size_t reap() noexcept;
    std::size_t on_cqe(std::uint64_t ud, std::int32_t res, std::uint32_t flags) noexcept;
    std::size_t on_op_cqe(op& o, std::int32_t res) noexcept;
    std::size_t on_accept_cqe(op& ms, std::int32_t res, std::uint32_t flags) noexcept;
    std::size_t accept_final(fd_state* st, std::int32_t res) noexcept;
    /// Work this reactor still owes its tasks: ops in flight or whose resumption waits for the
    /// inbox drain (both counted in pending()), and cancel requests not yet drained. Owner thread.
    bool busy() const noexcept {
        return pending() != 0 || inbox_.load(std::memory_order_relaxed) != nullptr;
    }
    void count_pending(std::ptrdiff_t d) noexcept {
        // Owner-only writer; the deadlock detector reads it from other threads.
        pending_.store(
            pending_.load(std::memory_order_relaxed) + static_cast<std::size_t>(d),
            std::memory_order_relaxed);
    }

    io_uring ring_{};
    bool ring_ok_ = false;
    int efd_ = -1;
    std::uint64_t wake_tag_ = 0;          // its address tags the eventfd poll's CQEs
    bool wake_armed_ = false;             // owner: the multishot poll on efd_ is in flight
    bool swept_ = false;                  // owner: the stopping sweep was queued
    park_word park_;                      // owner parks, any thread unparks (park_word.hpp)
    std::atomic<op*> inbox_{nullptr};     // cancel requests: any thread pushes, owner drains
    std::atomic<std::size_t> pending_{0}; // ops in flight or awaiting the drain (owner writes)
    std::vector<fd_state*> listeners_;    // owner: listeners whose multishot this ring holds
    struct failed_sqe {
        std::uint64_t ud;
        std::int32_t res;
    };
    std::vector<failed_sqe> failed_; // owner: SQEs a failed enter handed back, not yet handled
};

std::unique_ptr<io_reactor> make_uring_reactor(std::size_t index) noexcept {
    (void)index;
    auto r = std::unique_ptr<uring_reactor>(new (std::nothrow) uring_reactor);
    if (r == nullptr || !r->init()) {
        return nullptr;
    }
    return r;
}

bool uring_reactor::init() noexcept {
    int err = init_ring(ring_);
    if (err < 0) {
        return false;
    }
    ring_ok_ = true;
    failed_.reserve(2 * sq_entries); // what two failed enters in a row can hand back
    (void)io_uring_ring_dontfork(&ring_);
    efd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    // The ring's own descriptor registered: io_uring_enter skips its fget/fput (an optimisation;
    // a kernel without it just says no).
    (void)io_uring_register_ring_fd(&ring_);
    return efd_ >= 0;
}

uring_reactor::~uring_reactor() {
    // Listeners whose multishot lives here: it dies with the ring; give back its use.
    for (fd_state* st : listeners_) {
        st->lock.lock();
        fd_drop d;
        if (st->lx && st->lx->owner == this && st->lx->armed) {
            st->lx->armed = false;
            st->lx->owner = nullptr;
            d = fd_unuse_locked(st);
        }
        st->lock.unlock();
        fd_apply(st, d);
    }
    if (ring_ok_) {
        io_uring_queue_exit(&ring_);
    }
    if (efd_ >= 0) {
        ::close(efd_);
    }
}

int uring_reactor::submit() noexcept {
    int rc = injected_enter_error();
    if (rc == 0) {
        rc = io_uring_submit(&ring_);
    }
    if (hard_enter_error(rc)) {
        take_back_sqes(rc);
    }
    return rc;
}

int uring_reactor::submit_and_get_events() noexcept {
    int rc = injected_enter_error();
    if (rc == 0) {
        rc = io_uring_submit_and_get_events(&ring_);
    }
    if (hard_enter_error(rc)) {
        take_back_sqes(rc);
    }
    return rc;
}

int uring_reactor::submit_and_wait(__kernel_timespec* ts) noexcept {
    int rc = injected_enter_error();
    if (rc == 0) {
        io_uring_cqe* cqe = nullptr;
        rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, ts, nullptr);
    }
    if (hard_enter_error(rc)) {
        take_back_sqes(rc);
    }
    return rc;
}

void uring_reactor::take_back_sqes(int err) noexcept {
    // The enter failed before the kernel read the SQ (it checks the call and its permission
    // first), so every SQE from the kernel's head to our tail is still ours: note each one's
    // user_data with the error, then rewind the tail to the head. Nothing else reads the SQ
    // between our own enters (no SQPOLL; only the owner touches the ring, invariant 1).
    io_uring_sq& sq = ring_.sq;
    const unsigned head = io_uring_smp_load_acquire(sq.khead);
    for (unsigned i = head; i != sq.sqe_tail; ++i) {
        const std::uint64_t ud = sq.sqes[sq.array[i & sq.ring_mask]].user_data;
        if (ud != LIBURING_UDATA_TIMEOUT) { // liburing's own wait timeout (kernels without EXT_ARG)
            failed_.push_back({ud, err});
        }
    }
    sq.sqe_head = head;
    sq.sqe_tail = head;
    io_uring_smp_store_release(sq.ktail, head);
}

bool uring_reactor::failed_has_ops() const noexcept {
    // Cancel SQEs (user_data 0) and the eventfd poll resume nobody.
    return std::any_of(failed_.begin(), failed_.end(), [this](const failed_sqe& f) {
        return f.ud != 0 && f.ud != reinterpret_cast<std::uintptr_t>(&wake_tag_);
    });
}

std::size_t uring_reactor::reap_failed() noexcept {
    // Each handed-back SQE is handled as its CQE would have been, with res = the enter's error
    // and no IORING_CQE_F_MORE: the op's task resumes with it, a listener's waiters get it, the
    // eventfd poll counts as disarmed. Handlers may hand back more (index loop, copies).
    std::size_t woken = 0;
    for (std::size_t i = 0; i < failed_.size(); ++i) {
        const failed_sqe f = failed_[i];
        woken += on_cqe(f.ud, f.res, 0);
    }
    failed_.clear();
    return woken;
}

void uring_reactor::wait_eventfd(std::int64_t rel_ns) noexcept {
    // The ring cannot wait for us (its enter fails): sleep on the eventfd that unpark() writes,
    // and read it empty, since no ring poll consumes its edge now.
    int ms = -1;
    if (rel_ns >= 0) {
        ms = static_cast<int>(std::min<std::int64_t>((rel_ns + 999'999) / 1'000'000, 1 << 30));
    }
    pollfd p{efd_, POLLIN, 0};
    if (::poll(&p, 1, ms) > 0) {
        std::uint64_t v = 0;
        ssize_t n = ::read(efd_, &v, sizeof v);
        (void)n;
    }
}

io_uring_sqe* uring_reactor::sqe() noexcept {
    io_uring_sqe* s = io_uring_get_sqe(&ring_);
    while (s == nullptr) {
        // SQ full: push what we have (CQEs are reaped later). A hard failure hands the SQEs
        // back (failed_, handled by the next flush_and_reap, not here: a caller may hold a
        // descriptor's lock), which makes room as well.
        (void)submit();
        s = io_uring_get_sqe(&ring_);
    }
    return s;
}

void uring_reactor::prep(op& o) noexcept {
    io_uring_sqe* s = sqe();
    const int fd = o.st != nullptr ? o.st->fd : -1; // stable: o holds a use (inflight > 0)
    char* b = static_cast<char*>(o.buf) + o.done;
    const auto left = static_cast<unsigned>(std::min<std::size_t>(o.len - o.done, 0x7ffff000));
    const bool pipe = o.st != nullptr && o.st->kind == fd_kind::pipe;
    switch (o.code) {
    case op_code::recv:
        if (pipe) {
            io_uring_prep_read(s, fd, b, left, static_cast<std::uint64_t>(-1)); // no offset
        } else {
            io_uring_prep_recv(s, fd, b, left, o.flags | (o.all ? MSG_WAITALL : 0));
        }
        break;
    case op_code::send:
        if (pipe) {
            io_uring_prep_write(s, fd, b, left, static_cast<std::uint64_t>(-1));
        } else {
            io_uring_prep_send(s, fd, b, left, o.flags | MSG_NOSIGNAL | (o.all ? MSG_WAITALL : 0));
        }
        break;
    case op_code::poll:
        io_uring_prep_poll_add(s, fd, static_cast<unsigned>(o.flags));
        break;
    case op_code::connect:
        io_uring_prep_connect(s, fd, o.addr, o.addr_len);
        break;
    case op_code::recvmsg:
        io_uring_prep_recvmsg(s, fd, o.msg, static_cast<unsigned>(o.flags));
        break;
    case op_code::sendmsg:
        io_uring_prep_sendmsg(s, fd, o.msg, static_cast<unsigned>(o.flags | MSG_NOSIGNAL));
        break;
    case op_code::read:
        io_uring_prep_read(s, fd, b, left, o.offset + o.done);
        break;
    case op_code::write:
        io_uring_prep_write(s, fd, b, left, o.offset + o.done);
        break;
    case op_code::fsync:
        io_uring_prep_fsync(s, fd, 0);
        break;
    case op_code::fdatasync:
        io_uring_prep_fsync(s, fd, IORING_FSYNC_DATASYNC);
        break;
    case op_code::openat:
        io_uring_prep_openat(s, AT_FDCWD, o.path, o.flags | O_CLOEXEC, o.mode);
        break;
    case op_code::accept:
        WEFT_ASSERT(false, "weft::io: single-shot accept is not a ring op");
        break;
    }
    io_uring_sqe_set_data(s, &o);
}

void uring_reactor::prep_cancel(op& o) noexcept {
    io_uring_sqe* s = sqe();
    io_uring_prep_cancel(s, &o, 0);
    io_uring_sqe_set_data64(s, 0); // its own CQE (0, -ENOENT or -EALREADY) is ignored
}

bool uring_reactor::start(op& o) noexcept {
    if (o.code == op_code::accept) {
        return start_accept(o);
    }
    if (!arm_waiting(o)) {
        // Already cancelled. A closer may have posted this op to our inbox meanwhile: then the
        // drain resumes it (it sees st_done), so we must stay suspended.
        std::uint32_t prev = o.state.fetch_or(st_done, std::memory_order_acq_rel);
        return (prev & st_posted) != 0;
    }
    prep(o);
    count_pending(1);
    return true;
}

void uring_reactor::ring_cancel(op& o, std::uint32_t why) noexcept {
    const bool local = current_io_reactor() == this;
    std::uint32_t s = o.state.load(std::memory_order_acquire);
    for (;;) {
        if (why_of(s) != why_none || (s & st_done) != 0) {
            return; // somebody cancelled first, or the op is over
        }
        std::uint32_t want = s | (why << why_shift) | (local ? 0u : st_posted);
        // acq_rel: pairs with the owner's fetch_or(st_done) in on_op_cqe and with the drain.
        if (o.state.compare_exchange_weak(
                s, want, std::memory_order_acq_rel, std::memory_order_acquire)) {
            break;
        }
    }
    if (local) {
        prep_cancel(o); // submitted with the next flush, after the op's own SQE (invariant 3)
        return;
    }
    op* head = inbox_.load(std::memory_order_relaxed);
    do {
        o.inbox_next = head;
        // release: o.inbox_next and the state bits are visible to drain_inbox's acquire exchange.
    } while (!inbox_.compare_exchange_weak(
        head, &o, std::memory_order_release, std::memory_order_relaxed));
    unpark();
}

void uring_reactor::cancel(op& o, std::uint32_t why, bool from_timer) noexcept {
    if (o.code == op_code::accept && !o.internal) {
        cancel_queued(o, why, from_timer); // an accept waiter, not a ring op
        return;
    }
    ring_cancel(o, why);
    if (from_timer) {
        o.timer.node.state.store(
            weft::detail::timer_node::fire_complete, std::memory_order_release);
    }
}

void uring_reactor::cancel_locked(op& o, std::uint32_t why) noexcept {
    if (o.code == op_code::accept && !o.internal) {
        record_why(o, why); // a waiter being started or already handed a descriptor
        return;
    }
    ring_cancel(o, why);
}

std::size_t uring_reactor::drain_inbox() noexcept {
    // acquire: pairs with ring_cancel's release push.
    op* o = inbox_.exchange(nullptr, std::memory_order_acquire);
    std::size_t woken = 0;
    while (o != nullptr) {
        op* next = o->inbox_next;
        std::uint32_t s = o->state.load(std::memory_order_acquire);
        if ((s & st_done) != 0) {
            // The final CQE came while the request was in the inbox: we resume it now.
            o->state.fetch_and(~st_posted, std::memory_order_acq_rel);
            if (o->internal) {
                woken += accept_final(o->st, static_cast<std::int32_t>(o->res));
            } else {
                // Queue first, then stop counting: the runtime's quiescence check reads
                // pending() before the queues, so the task is always seen in one of them.
                weft::detail::schedule_wakeup(o->waiter);
                count_pending(-1);
                ++woken;
            }
        } else {
            prep_cancel(*o);
            o->state.fetch_and(~st_posted, std::memory_order_acq_rel);
        }
        o = next;
    }
    return woken;
}

bool uring_reactor::maybe_sweep() noexcept {
    if (!swept_ && weft::detail::runtime_stopping()) {
        sweep();
        return true;
    }
    return false;
}

void uring_reactor::sweep() noexcept {
    if (swept_) {
        return;
    }
    swept_ = true;
    io_uring_sqe* s = sqe();
    io_uring_prep_cancel64(s, 0, IORING_ASYNC_CANCEL_ANY);
    io_uring_sqe_set_data64(s, 0);
    // Reap the cancellations here when they come at once (network ops do), so the woken tasks are
    // on our queue before we return; slower ones (io-wq) get a bounded grace, and whatever is
    // still pending after it ends later, through poll()/park() (the scheduler's shutdown waits
    // for pending() == 0: op_protocol.cpp, "Shutdown").
    for (int round = 0; round < 100; ++round) {
        if (inbox_.load(std::memory_order_relaxed) != nullptr) {
            drain_inbox();
        }
        flush_and_reap();
        if (!busy()) {
            return;
        }
        __kernel_timespec ts{0, 1'000'000};
        if (hard_enter_error(submit_and_wait(&ts))) {
            wait_eventfd(1'000'000); // the ring cannot wait: do not spin through the rounds
        }
    }
}

std::size_t uring_reactor::flush_and_reap() noexcept {
    unsigned kflags = IO_URING_READ_ONCE(*ring_.sq.kflags);
    if (io_uring_sq_ready(&ring_) > 0 ||
        (kflags & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW)) != 0) {
        (void)submit_and_get_events();
    }
    std::size_t woken = reap();
    if (!failed_.empty()) [[unlikely]] {
        woken += reap_failed();
    }
    return woken;
}

std::size_t uring_reactor::reap() noexcept {
    std::size_t woken = 0;
    struct item {
        std::uint64_t ud;
        std::int32_t res;
        std::uint32_t flags;
    };
    item batch[64];
    for (;;) {
        unsigned n = 0;
        unsigned head;
        io_uring_cqe* c;
        io_uring_for_each_cqe(&ring_, head, c) {
            batch[n++] = {c->user_data, c->res, c->flags};
            if (n == 64) {
                break;
            }
        }
        if (n == 0) {
            return woken;
        }
        // Advance first: handling may prepare and submit SQEs.
        io_uring_cq_advance(&ring_, n);
        for (unsigned i = 0; i < n; ++i) {
            woken += on_cqe(batch[i].ud, batch[i].res, batch[i].flags);
        }
    }
}

std::size_t
uring_reactor::on_cqe(std::uint64_t ud, std::int32_t res, std::uint32_t flags) noexcept {
    if (ud == 0) {
        return 0; // a cancel's own completion
    }
    if (ud == reinterpret_cast<std::uintptr_t>(&wake_tag_)) {
        if ((flags & IORING_CQE_F_MORE) == 0) {
            wake_armed_ = false; // re-armed by the next park
        }
        return 0;
    }
    op* o = reinterpret_cast<op*>(static_cast<std::uintptr_t>(ud));
    if (o->internal) {
        return on_accept_cqe(*o, res, flags);
    }
    return on_op_cqe(*o, res);
}

std::size_t uring_reactor::on_op_cqe(op& o, std::int32_t res) noexcept {
    std::int64_t final_res = res;
    if (o.all) {
        if (res > 0) {
            o.done += static_cast<std::size_t>(res);
            if (o.done < o.len) {
                bool stop = why_of(o.state.load(std::memory_order_acquire)) != why_none ||
                            weft::detail::runtime_stopping();
                if (!stop) {
                    prep(o); // the rest, still one op in flight on this descriptor (liburing #1001)
                    return 0;
                }
                final_res = -ECANCELED;
                if (weft::detail::runtime_stopping()) {
                    record_why(o, why_stopping);
                }
            } else {
                final_res = static_cast<std::int64_t>(o.done);
            }
        } else if (res == 0) {
            if (o.code == op_code::recv) {
                final_res =
                    o.done == o.len ? static_cast<std::int64_t>(o.done) : res_unexpected_eof;
            } else if (o.done < o.len) {
                prep(o); // a zero-byte send/write: try again
                return 0;
            }
        }
    }
    o.res = final_res;
    stop_timer_local(o);
    // acq_rel: publishes o.res to whoever resumes the task; sees a canceller's st_posted.
    std::uint32_t prev = o.state.fetch_or(st_done, std::memory_order_acq_rel);
    if ((prev & st_posted) != 0) {
        return 0; // the inbox drain resumes it (invariant 2); still counted in pending()
    }
    weft::detail::schedule_wakeup(o.waiter); // queued before pending() drops (see drain_inbox)
    count_pending(-1);
    return 1;
}

// --- listeners ---------------------------------------------------------------------------------

bool uring_reactor::start_accept(op& o) noexcept {
    fd_state* st = o.st;
    WEFT_ASSERT(st->lx != nullptr, "weft::io: accept on a descriptor that is not a listener");
    if (!arm_waiting(o)) {
        return false;
    }
    listener_ext& lx = *st->lx;
    st->lock.lock();
    if (why_of(o.state.load(std::memory_order_acquire)) != why_none) {
        st->lock.unlock();
        o.res = -ECANCELED;
        stop_timer_local(o);
        return false;
    }
    if (!lx.ready.empty()) {
        o.res = lx.ready.front();
        lx.ready.erase(lx.ready.begin());
        st->lock.unlock();
        stop_timer_local(o);
        return false;
    }
    if (weft::detail::runtime_stopping()) {
        st->lock.unlock();
        o.res = -ECANCELED;
        record_why(o, why_stopping);
        stop_timer_local(o);
        return false;
    }
    bool arm = !lx.armed;
    if (arm && lx.ms == nullptr) {
        // Made under the lock: a close() racing with the first arm must find it (fd_close reads
        // lx->ms as soon as `armed` is set).
        lx.ms.reset(new (std::nothrow) op(op_code::accept, st, op_side::read));
        if (lx.ms == nullptr) {
            st->lock.unlock();
            o.res = -ENOMEM;
            stop_timer_local(o);
            return false;
        }
        lx.ms->internal = true;
    }
    wq_push_back(st, o);
    if (arm) {
        lx.armed = true;
        lx.owner = this;
        lx.ms->owner = this;
        lx.ms->state.store(0, std::memory_order_relaxed);
        ++st->inflight; // the multishot holds a use of the descriptor until its final CQE
    }
    st->lock.unlock();
    if (arm) {
        arm_multishot(st);
    }
    return true;
}

void uring_reactor::arm_multishot(fd_state* st) noexcept {
    listener_ext& lx = *st->lx;
    op& ms = *lx.ms; // made, owned and reset under st's lock by start_accept or accept_final
    lx.cancel_sent = false;
    if (std::find(listeners_.begin(), listeners_.end(), st) == listeners_.end()) {
        listeners_.push_back(st);
    }
    io_uring_sqe* s = sqe();
    io_uring_prep_multishot_accept(s, st->fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    io_uring_sqe_set_data(s, &ms);
    count_pending(1);
}

std::size_t uring_reactor::on_accept_cqe(op& ms, std::int32_t res, std::uint32_t flags) noexcept {
    fd_state* st = ms.st;
    listener_ext& lx = *st->lx;
    std::size_t woken = 0;
    if (res >= 0) {
        op* waiter = nullptr;
        bool close_it = false;
        bool overflow = false;
        st->lock.lock();
        if (st->closed) {
            close_it = true;
        } else if (st->wq_head[0] != nullptr) {
            waiter = st->wq_head[0];
            wq_remove(st, *waiter);
            waiter->res = res;
        } else {
            lx.ready.push_back(res);
            overflow = lx.ready.size() >= ready_cap;
        }
        st->lock.unlock();
        if (close_it) {
            ::close(res);
        }
        if (waiter != nullptr) {
            complete_taken(*waiter, false);
            ++woken;
        }
        if (overflow && (flags & IORING_CQE_F_MORE) != 0 && !lx.cancel_sent) {
            lx.cancel_sent = true; // nobody is accepting: let the kernel backlog hold the rest
            prep_cancel(ms);
        }
    }
    if ((flags & IORING_CQE_F_MORE) != 0) {
        return woken;
    }
    // Final CQE of this multishot.
    ms.res = res;
    std::uint32_t prev = ms.state.fetch_or(st_done, std::memory_order_acq_rel);
    if ((prev & st_posted) != 0) {
        return woken; // a cancel request is in the inbox: the drain finishes it
    }
    return woken + accept_final(st, res);
}

std::size_t uring_reactor::accept_final(fd_state* st, std::int32_t res) noexcept {
    count_pending(-1);
    listener_ext& lx = *st->lx;
    const bool stopping = weft::detail::runtime_stopping();
    op* failed = nullptr;
    bool rearm = false;
    st->lock.lock();
    if (res < 0 && res != -ECANCELED && !st->closed) {
        // EMFILE and friends, or the socket stopped listening: every waiter gets the error (their
        // accept() task decides whether to back off and retry).
        failed = wq_take_all(st, op_side::read);
        for (op* o = failed; o != nullptr; o = o->rnext) {
            o->res = res;
        }
    } else if (stopping) {
        failed = wq_take_all(st, op_side::read);
        for (op* o = failed; o != nullptr; o = o->rnext) {
            o->res = -ECANCELED;
            record_why(*o, why_stopping);
        }
    } else if (!st->closed && st->wq_head[0] != nullptr) {
        rearm = true; // ended (or cancelled for overflow) with waiters left
    }
    fd_drop d;
    if (rearm) {
        lx.ms->state.store(0, std::memory_order_relaxed); // keep the use and the armed mark
    } else {
        lx.armed = false;
        lx.owner = nullptr;
        d = fd_unuse_locked(st);
    }
    st->lock.unlock();
    if (!rearm) {
        listeners_.erase(std::remove(listeners_.begin(), listeners_.end(), st), listeners_.end());
    }
    std::size_t woken = 0;
    for (op* o = failed; o != nullptr;) {
        op* next = o->rnext;
        complete_taken(*o, false);
        ++woken;
        o = next;
    }
    if (rearm) {
        arm_multishot(st);
    }
    fd_apply(st, d);
    return woken;
}

// --- poll / park / unpark ---------------------------------------------------------------------

std::size_t uring_reactor::poll() noexcept {
    std::size_t n = 0;
    if (inbox_.load(std::memory_order_relaxed) != nullptr) {
        n += drain_inbox();
    }
    maybe_sweep();
    n += flush_and_reap();
    return n;
}

void uring_reactor::park(std::int64_t deadline_ns) noexcept {
    if (inbox_.load(std::memory_order_relaxed) != nullptr && drain_inbox() != 0) {
        // A task became runnable (its CQE came while its cancel request sat in the inbox): the
        // scheduler parked us because the queue was empty; it is not any more.
        flush_and_reap();
        return;
    }
    if (maybe_sweep()) {
        return; // the sweep made tasks runnable (or tried to): let the scheduler look again
    }
    if (!failed_.empty() && reap_failed() != 0) [[unlikely]] {
        return; // ops a full SQ's failed submit handed back ended: their tasks are runnable
    }
    if (!wake_armed_) {
        io_uring_sqe* s = sqe();
        io_uring_prep_poll_multishot(s, efd_, POLLIN);
        io_uring_sqe_set_data(s, &wake_tag_);
        wake_armed_ = true;
    }
    // Invariant 4: the eventfd poll is armed above, before the word says `parked`.
    if (!park_.begin_park()) {
        flush_and_reap();
        return;
    }
    std::int64_t rel = -1;
    if (deadline_ns >= 0) {
        rel = std::max<std::int64_t>(0, deadline_ns - weft::detail::now_ns());
    }
    if (swept_ && pending() != 0 && (rel < 0 || rel > 1'000'000)) {
        rel = 1'000'000; // shutting down with ops still ending: look again soon
    }
    __kernel_timespec ts{};
    if (rel >= 0) {
        ts.tv_sec = rel / 1'000'000'000;
        ts.tv_nsec = rel % 1'000'000'000;
    }
    const int rc = submit_and_wait(rel >= 0 ? &ts : nullptr);
    if (hard_enter_error(rc) && !failed_has_ops()) {
        wait_eventfd(rel); // the ring could not sleep for us, and no op ended with the failure
    }
    park_.end_park(); // synchronizes with the unpark() that woke us

    if (inbox_.load(std::memory_order_relaxed) != nullptr) {
        drain_inbox();
    }
    reap();
    if (!failed_.empty()) [[unlikely]] {
        reap_failed();
    }
}

void uring_reactor::unpark() noexcept {
    // Wake-up choice, measured by bench/kernel/wake_bench.cpp (2 vCPU VM, kernel 6.18,
    // DEFER_TASKRUN rings, ping-pong between two parked threads, 3 x 100k round trips):
    //   eventfd + multishot poll   3.8-4.0 us per wake-up   (chosen)
    //   eventfd + IORING_OP_READ   4.5-5.0 us
    //   IORING_OP_MSG_RING         4.5-4.9 us, and only from a thread that owns a ring
    // The waker's write(2) is ~3.4 us of that (it wakes the target inside the syscall), so the
    // park word avoids it whenever the target is not parked.
    if (park_.notify()) {
        std::uint64_t one = 1;
        ssize_t n = ::write(efd_, &one, sizeof one);
        (void)n;
    }
}

} // namespace weft::io::detail

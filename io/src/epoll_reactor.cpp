// The epoll reactor: the fallback when io_uring is unavailable (seccomp, the io_uring_disabled
// sysctl) or WEFT_IO_BACKEND=epoll. Same API, same semantics, readiness underneath.
//
// Vocabulary
//   home      the epoll instance a descriptor is registered with: the one of the worker whose
//             task first had to wait on it. Registration is edge-triggered for both directions
//             (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) and never modified afterwards, as in Go's
//             netpoller, so waiting costs no epoll_ctl.
//   seq       per descriptor and direction, the number of readiness edges the home has seen
//             (Tokio's readiness "tick"). An op that got EAGAIN queues itself only if seq did not
//             move since just before its attempt; otherwise it tries again.
//   attempt   the system call of an op, made non-blocking (recv, send, accept4, ...).
//   queued op an op that got EAGAIN and waits on its descriptor's wait queue.
//
// Invariants
//   1. An op is completed once, by whoever takes it off the wait queue under the descriptor's
//      lock (the home on readiness, a canceller, close(), the op's deadline timer), or inline by
//      its initiator before it was ever queued (op_protocol.cpp).
//   2. No readiness edge is lost: the home bumps seq under the lock before it takes the waiters;
//      an initiator compares seq under the lock before it queues.
//   3. A descriptor's memory is type-stable (fd_state.cpp's pool); an epoll event carries the
//      pointer and a 16-bit generation, and is ignored when the generation moved on.
//
// Rejected approaches
//   - One epoll instance for the whole runtime (Go): every worker's park would contend on it,
//     and every other part of the runtime is per worker. Descriptors are spread by first wait
//     instead.
//   - Level-triggered registration with EPOLLONESHOT re-arming (Asio): one epoll_ctl per wait.
//   - Retrying the system call in the woken task: the task would need a loop (a coroutine frame
//     per read). The home performs the attempt for the waiter, so the awaiter completes like an
//     io_uring op and both backends share one awaiter.
//
// Current approach
//   start(op) on the initiating worker:
//     1. s = seq[side]; attempt. Done (data, error, EOF): complete inline, no suspension (unless
//        the task's cooperative budget is spent: then it yields once).
//     2. EAGAIN: register with our epoll if the descriptor has no home yet; arm the cancel hook
//        and the deadline timer; lock; if a reason was recorded, complete; if seq moved, unlock
//        and go back to 1; else queue and suspend.
//   poll() / park(deadline) on the home: epoll_wait (timeout 0 / until the deadline, via
//   epoll_pwait2 for nanosecond precision); for each event: lock, check the generation, bump seq
//   for the directions that are ready, take their waiters, unlock, then for each waiter attempt
//   again: done -> complete (the task goes onto this worker's deque); EAGAIN -> lock, re-check the
//   reason and seq, re-queue at the front.
//   poll ops (async_fd's readiness waits): the attempt is poll(2) with a zero timeout, so a wait
//   is level-triggered like io_uring's POLL_ADD. A wait for either direction sits on the read
//   side and sets st->poll_both before its first attempt; from then on a write edge also bumps
//   the read side's seq and drives its waiters (spurious attempts just queue again).
//   Descriptors that are not sockets (fd_kind::pipe) are read and written with read(2)/write(2).
//   park word (park_word.hpp) and eventfd: as in the io_uring reactor (uring_reactor.cpp). The
//   eventfd is in the epoll set edge-triggered: every write(2) is a new edge, so it is never read.
//   Shutdown: when the runtime stops, every waiter on a descriptor homed here is completed with
//   operation_canceled (the registry below lists them).
//
// References
//   Go runtime/netpoll.go, netpoll_epoll.go (pollDesc, edge-triggered registration, tagged
//   pointers); Tokio runtime/io/scheduled_io.rs (readiness ticks); epoll(7) on EPOLLET.

#include <weft/runtime/yield.hpp>

#include <weft/runtime/detail/assert.hpp>
#include <weft/runtime/detail/scheduler_hooks.hpp>

#include "fd_state.hpp"
#include "io_reactor.hpp"
#include "op_protocol.hpp"
#include "park_word.hpp"
#include "wait_queue.hpp"

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <mutex>

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

namespace weft::io::detail {

namespace {

constexpr std::uint64_t ptr_mask = (std::uint64_t{1} << 48) - 1;
constexpr std::uint64_t wake_tag = 1; // epoll data of the eventfd (no fd_state is at address 1)

std::uint64_t tag_of(fd_state* st) noexcept {
    return (reinterpret_cast<std::uintptr_t>(st) & ptr_mask) |
           (static_cast<std::uint64_t>(st->gen) << 48);
}

// One attempt. Returns true when the op is finished (o.res set), false on EAGAIN.
bool attempt(op& o) noexcept {
    const int fd = o.st->fd;
    for (;;) {
        char* b = static_cast<char*>(o.buf) + o.done;
        const std::size_t left = o.len - o.done;
        ssize_t r = 0;
        switch (o.code) {
        case op_code::recv:
            r = o.st->kind == fd_kind::pipe ? ::read(fd, b, left)
                                            : ::recv(fd, b, left, o.flags | MSG_DONTWAIT);
            break;
        case op_code::send:
            r = o.st->kind == fd_kind::pipe
                    ? ::write(fd, b, left)
                    : ::send(fd, b, left, o.flags | MSG_DONTWAIT | MSG_NOSIGNAL);
            break;
        case op_code::poll: {
            pollfd p{fd, static_cast<short>(o.flags), 0};
            r = ::poll(&p, 1, 0);
            if (r == 0) {
                return false; // not ready: wait for an edge
            }
            if (r > 0) {
                o.res = static_cast<unsigned short>(p.revents);
                return true;
            }
            break;
        }
        case op_code::recvmsg:
            r = ::recvmsg(fd, o.msg, o.flags | MSG_DONTWAIT);
            break;
        case op_code::sendmsg:
            r = ::sendmsg(fd, o.msg, o.flags | MSG_DONTWAIT | MSG_NOSIGNAL);
            break;
        case op_code::accept:
            r = ::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            break;
        case op_code::connect: {
            if ((o.flow & fl_connecting) == 0) { // first attempt: the connect(2) itself
                o.flow |= fl_connecting;
                r = ::connect(fd, o.addr, o.addr_len);
                if (r < 0 && errno == EAGAIN) {
                    o.res = -EAGAIN; // AF_UNIX: the listener's backlog is full
                    return true;
                }
                if (r < 0 && errno == EINPROGRESS) {
                    errno = EAGAIN;
                }
                break;
            }
            int err = 0;
            socklen_t len = sizeof err;
            if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
                err = errno;
            }
            if (err != 0) {
                o.res = -err;
                return true;
            }
            sockaddr_storage peer;
            socklen_t plen = sizeof peer;
            if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &plen) < 0) {
                if (errno == ENOTCONN) {
                    return false; // still in progress
                }
                o.res = -errno;
                return true;
            }
            o.res = 0;
            return true;
        }
        case op_code::read:
            r = ::pread(fd, b, left, static_cast<off_t>(o.offset + o.done));
            break;
        case op_code::write:
            r = ::pwrite(fd, b, left, static_cast<off_t>(o.offset + o.done));
            break;
        case op_code::fsync:
            r = ::fsync(fd);
            break;
        case op_code::fdatasync:
            r = ::fdatasync(fd);
            break;
        case op_code::openat:
            r = ::openat(AT_FDCWD, o.path, o.flags | O_CLOEXEC, o.mode);
            break;
        }
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return false;
            }
            o.res = -errno;
            return true;
        }
        if (o.all) {
            if (r == 0 && o.code == op_code::recv) {
                o.res = res_unexpected_eof;
                return true;
            }
            o.done += static_cast<std::size_t>(r);
            if (o.done < o.len) {
                continue;
            }
            o.res = static_cast<std::int64_t>(o.done);
            return true;
        }
        o.res = r;
        return true;
    }
}

} // namespace

class epoll_reactor final : public io_reactor {
public:
    epoll_reactor() noexcept = default;
    ~epoll_reactor() override;
    bool init() noexcept;

    backend kind() const noexcept override { return backend::epoll; }
    std::size_t poll() noexcept override;
    void park(std::int64_t deadline_ns) noexcept override;
    void unpark() noexcept override;
    std::size_t pending() const noexcept override { return queued.load(std::memory_order_relaxed); }

    bool start(op& o) noexcept override;
    void cancel(op& o, std::uint32_t why, bool from_timer) noexcept override {
        cancel_queued(o, why, from_timer);
    }
    void cancel_locked(op& o, std::uint32_t why) noexcept override { record_why(o, why); }
    void forget(fd_state* st) noexcept override;
    void sweep() noexcept;

private:
    bool register_fd(fd_state* st) noexcept;
    std::size_t wait(int timeout_kind, std::int64_t deadline_ns) noexcept;
    std::size_t drive(op* list, fd_state* st, op_side side, std::uint32_t seen) noexcept;
    std::size_t maybe_sweep() noexcept;
    std::size_t sweep_all() noexcept;

    int epfd_ = -1;
    int efd_ = -1;
    bool swept_ = false; // owner
    park_word park_;     // owner parks, any thread unparks (park_word.hpp)
};

namespace {
// Every descriptor registered with some epoll instance, via home_next/home_prev: the shutdown
// sweep completes the ops queued on them, whichever worker started those ops.
std::mutex g_reg_mu;
fd_state* g_reg_head = nullptr; // guarded by g_reg_mu
} // namespace

std::unique_ptr<io_reactor> make_epoll_reactor(std::size_t index) noexcept {
    (void)index;
    auto r = std::unique_ptr<epoll_reactor>(new (std::nothrow) epoll_reactor);
    if (r == nullptr || !r->init()) {
        return nullptr;
    }
    return r;
}

bool epoll_reactor::init() noexcept {
    epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
    efd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (epfd_ < 0 || efd_ < 0) {
        return false;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLET; // one event per write(2); never read (see unpark)
    ev.data.u64 = wake_tag;
    return ::epoll_ctl(epfd_, EPOLL_CTL_ADD, efd_, &ev) == 0;
}

epoll_reactor::~epoll_reactor() {
    // Descriptors that outlive the runtime forget their home (they can no longer wait anyway).
    // Lock order elsewhere is st->lock then g_reg_mu: here only try the descriptor's lock.
    for (bool again = true; again;) {
        again = false;
        std::lock_guard lk(g_reg_mu);
        for (fd_state* st = g_reg_head; st != nullptr; st = st->home_next) {
            if (!st->lock.try_lock()) {
                again = true;
                continue;
            }
            if (st->home == this) {
                st->home = nullptr;
            }
            st->lock.unlock();
        }
    }
    if (epfd_ >= 0) {
        ::close(epfd_);
    }
    if (efd_ >= 0) {
        ::close(efd_);
    }
}

bool epoll_reactor::register_fd(fd_state* st) noexcept {
    // st->lock held by the caller.
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = tag_of(st);
    if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, st->fd, &ev) < 0) {
        return false;
    }
    st->home = this;
    std::lock_guard lk(g_reg_mu); // lock order: st->lock, then g_reg_mu
    st->home_prev = nullptr;
    st->home_next = g_reg_head;
    if (g_reg_head != nullptr) {
        g_reg_head->home_prev = st;
    }
    g_reg_head = st;
    return true;
}

void epoll_reactor::forget(fd_state* st) noexcept {
    st->lock.lock();
    bool mine = st->home == this;
    int fd = st->fd;
    if (mine) {
        st->home = nullptr;
        std::lock_guard lk(g_reg_mu);
        if (st->home_prev != nullptr) {
            st->home_prev->home_next = st->home_next;
        } else {
            g_reg_head = st->home_next;
        }
        if (st->home_next != nullptr) {
            st->home_next->home_prev = st->home_prev;
        }
        st->home_next = st->home_prev = nullptr;
    }
    st->lock.unlock();
    if (mine && fd >= 0) {
        epoll_event ev{};
        (void)::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, &ev); // the fd is still open (not yet closed)
    }
}

bool epoll_reactor::start(op& o) noexcept {
    fd_state* st = o.st;
    if (o.code == op_code::openat || o.code == op_code::fsync || o.code == op_code::fdatasync ||
        (st->kind == fd_kind::file && (o.code == op_code::read || o.code == op_code::write))) {
        // Files: not pollable. The file API sends these to the blocking pool; an op that gets
        // here runs inline (a plain regular-file call).
        attempt(o);
        return false;
    }
    const auto side = static_cast<unsigned>(o.side);
    if (o.code == op_code::poll && o.side == op_side::read && (o.flags & POLLOUT) != 0) {
        // Waits for either direction on the read side: from now on a write edge bumps the read
        // side's seq too (wait()), so the check before queueing below cannot miss one. Set
        // before the first attempt, which sees any readiness from before.
        st->lock.lock();
        st->poll_both = true;
        st->lock.unlock();
    }
    bool armed = false;
    for (;;) {
        // acquire: pairs with the home's release increment; a later edge changes the value.
        std::uint32_t seen = st->seq[side].load(std::memory_order_acquire);
        if (attempt(o)) {
            if (armed) {
                stop_timer_local(o);
                return false;
            }
            if (weft::detail::budget_exhausted()) {
                weft::detail::yield_to_back(o.waiter); // done, but let others run first
                return true;
            }
            return false;
        }
        if (!armed) {
            if (!arm_waiting(o)) {
                return false;
            }
            armed = true;
        }
        st->lock.lock();
        if (st->home == nullptr && !register_fd(st)) {
            int err = errno;
            st->lock.unlock();
            o.res = -err;
            stop_timer_local(o);
            return false;
        }
        if (why_of(o.state.load(std::memory_order_acquire)) != why_none || st->closed) {
            st->lock.unlock();
            o.res = -ECANCELED;
            record_why(o, why_closed); // no-op when a reason is already there
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
        if (st->seq[side].load(std::memory_order_relaxed) != seen) {
            st->lock.unlock();
            continue; // an edge came between the attempt and now
        }
        wq_push_back(st, o);
        st->lock.unlock();
        return true;
    }
}

std::size_t
epoll_reactor::drive(op* list, fd_state* st, op_side side, std::uint32_t seen) noexcept {
    std::size_t woken = 0;
    const auto s = static_cast<unsigned>(side);
    for (op* o = list; o != nullptr;) {
        op* next = o->rnext; // read before the op can complete
        std::uint32_t mine = seen;
        for (;;) {
            if (attempt(*o)) {
                complete_taken(*o, false);
                ++woken;
                break;
            }
            st->lock.lock();
            if (why_of(o->state.load(std::memory_order_acquire)) != why_none || st->closed ||
                weft::detail::runtime_stopping()) {
                st->lock.unlock();
                o->res = -ECANCELED;
                record_why(*o, st->closed ? why_closed : why_stopping);
                complete_taken(*o, false);
                ++woken;
                break;
            }
            std::uint32_t now = st->seq[s].load(std::memory_order_relaxed);
            if (now != mine) {
                mine = now; // another edge since our attempt: try again
                st->lock.unlock();
                continue;
            }
            wq_push_back(st, *o);
            st->lock.unlock();
            break;
        }
        o = next;
    }
    return woken;
}

std::size_t epoll_reactor::wait(int timeout_kind, std::int64_t deadline_ns) noexcept {
    // timeout_kind: 0 = poll (no wait), 1 = until deadline_ns (< 0: forever).
    epoll_event events[128];
    int n;
    if (timeout_kind == 0) {
        n = ::epoll_wait(epfd_, events, 128, 0);
    } else {
        timespec ts{};
        timespec* tsp = nullptr;
        if (deadline_ns >= 0) {
            std::int64_t rel = std::max<std::int64_t>(0, deadline_ns - weft::detail::now_ns());
            if (swept_ && pending() != 0) {
                rel = std::min<std::int64_t>(rel, 1'000'000);
            }
            ts.tv_sec = rel / 1'000'000'000;
            ts.tv_nsec = rel % 1'000'000'000;
            tsp = &ts;
        }
        n = ::epoll_pwait2(epfd_, events, 128, tsp, nullptr);
        if (n < 0 && errno == ENOSYS) {
            int ms = -1;
            if (tsp != nullptr) {
                ms = static_cast<int>(
                    (ts.tv_sec * 1'000'000'000 + ts.tv_nsec + 999'999) / 1'000'000);
            }
            n = ::epoll_wait(epfd_, events, 128, ms);
        }
    }
    std::size_t woken = 0;
    for (int i = 0; i < n; ++i) {
        const std::uint64_t data = events[i].data.u64;
        if (data == wake_tag) {
            continue;
        }
        auto* st = reinterpret_cast<fd_state*>(static_cast<std::uintptr_t>(data & ptr_mask));
        const auto gen = static_cast<std::uint16_t>(data >> 48);
        const std::uint32_t ev = events[i].events;
        op* lists[2] = {nullptr, nullptr};
        std::uint32_t seen[2] = {0, 0};
        st->lock.lock();
        if (st->gen != gen || st->home != this) {
            st->lock.unlock();
            continue; // stale: the descriptor was closed and its state reused
        }
        constexpr std::uint32_t write_edge = EPOLLOUT | EPOLLHUP | EPOLLERR;
        if ((ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR | EPOLLPRI)) != 0 ||
            ((ev & write_edge) != 0 && st->poll_both)) {
            // release: pairs with start()'s acquire load of seq.
            seen[0] = st->seq[0].fetch_add(1, std::memory_order_release) + 1;
            lists[0] = wq_take_all(st, op_side::read);
        }
        if ((ev & write_edge) != 0) {
            seen[1] = st->seq[1].fetch_add(1, std::memory_order_release) + 1;
            lists[1] = wq_take_all(st, op_side::write);
        }
        st->lock.unlock();
        for (unsigned s = 0; s < 2; ++s) {
            if (lists[s] != nullptr) {
                woken += drive(lists[s], st, static_cast<op_side>(s), seen[s]);
            }
        }
    }
    return woken;
}

std::size_t epoll_reactor::maybe_sweep() noexcept {
    if (!swept_ && weft::detail::runtime_stopping()) {
        return sweep_all();
    }
    return 0;
}

void epoll_reactor::sweep() noexcept {
    (void)sweep_all();
}

std::size_t epoll_reactor::sweep_all() noexcept {
    swept_ = true;
    // Complete every op waiting on any registered descriptor (whoever started it). Collect under
    // the locks, complete outside them (complete_taken may take others).
    std::vector<op*> done;
    {
        std::lock_guard lk(g_reg_mu);
        for (fd_state* st = g_reg_head; st != nullptr; st = st->home_next) {
            // Lock order is st->lock then g_reg_mu elsewhere; here we hold g_reg_mu, so only try.
            bool locked = false;
            for (int spin = 0; spin < 1000 && !locked; ++spin) {
                locked = st->lock.try_lock();
            }
            if (!locked) {
                continue; // busy right now: whoever holds it re-checks runtime_stopping()
            }
            for (unsigned side = 0; side < 2; ++side) {
                for (op* o = wq_take_all(st, static_cast<op_side>(side)); o != nullptr;
                     o = o->rnext) {
                    o->res = -ECANCELED;
                    record_why(*o, why_stopping);
                    done.push_back(o);
                }
            }
            st->lock.unlock();
        }
    }
    for (op* o : done) {
        complete_taken(*o, false);
    }
    return done.size();
}

std::size_t epoll_reactor::poll() noexcept {
    std::size_t n = maybe_sweep();
    if (home_waiters.load(std::memory_order_relaxed) != 0) {
        n = wait(0, -1);
    }
    return n;
}

void epoll_reactor::park(std::int64_t deadline_ns) noexcept {
    if (maybe_sweep() != 0) {
        return; // tasks became runnable: the scheduler's queue is not empty any more
    }
    if (!park_.begin_park()) {
        poll();
        return;
    }
    wait(1, deadline_ns);
    park_.end_park(); // synchronizes with the unpark() that woke us
}

void epoll_reactor::unpark() noexcept {
    if (park_.notify()) {
        std::uint64_t one = 1;
        ssize_t n = ::write(efd_, &one, sizeof one);
        (void)n;
    }
}

} // namespace weft::io::detail

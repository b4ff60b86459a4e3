// Closing a descriptor (fd_close, fd_handle::close(), any thread, idempotent).
//
// Invariants
//   1. After close() returns no op can start on the descriptor (op_start checks st->closed under
//      the lock), and every op in flight on it has been asked to end with bad_file_descriptor.
//   2. The number itself is closed only by whoever drops the last use (fd_state.cpp), so no
//      kernel operation names a reused number (liburing #932).
//   3. The epoll registration is removed (io_reactor::forget) while the number is still open:
//      close() holds a use until then, or EPOLL_CTL_DEL could remove somebody else's
//      registration of a reused number.
//
// Rejected approaches
//   - Closing the number at once: io_uring ops hold their own file reference, so close() does not
//     end them (liburing #932), and with epoll a closed number can be reused at once.
//
// Current approach
//   1. Under st's lock: mark closed (and `closing`, read without the lock by is_open()); take
//      every queued op off its queue and record why_closed in it; ask every other op in flight
//      to cancel (cancel_locked: a ring op's owner submits ASYNC_CANCEL); stop a listener
//      (shutdown(2), so the port is free when close() returns) and cancel its multishot accept;
//      shut the quick-use gate (fd_quick_use.cpp), holding a use for the quick users inside;
//      hold one more use for the epoll registration.
//   2. After unlocking: close the accepted descriptors nobody took; complete the taken ops with
//      bad_file_descriptor; forget the epoll registration; drop the hold. The number is closed
//      now if nothing is in flight, else by the last op_finish.
//
// Giving a descriptor up (fd_detach, fd_handle::release())
//   A close that never closes the number (st->borrowed), refused with EBUSY while any op is in
//   flight or queued: such an op would go on naming a number that is now the caller's to close
//   and reuse. A borrowed descriptor (async_fd::borrow) closes the same way. Neither stops a
//   listener with shutdown(2): the socket is somebody else's.
//
// References
//   Go internal/poll/fd_mutex.go (close waits for the last user).

#include "fd_state.hpp"
#include "io_reactor.hpp"
#include "op_protocol.hpp"
#include "wait_queue.hpp"

#include <atomic>
#include <cerrno>
#include <thread>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

namespace weft::io::detail {

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
    if (st->kind == fd_kind::listener && st->fd >= 0 && !st->borrowed) {
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

void fd_set_borrowed(fd_state* st) noexcept {
    st->lock.lock();
    st->borrowed = true;
    st->lock.unlock();
}

int fd_detach(fd_state* st) noexcept {
    // Giving the number up is a close that never closes it, refused while anything uses it: an op
    // in flight would go on naming a number that is now the caller's to close and reuse.
    st->lock.lock();
    if (st->closed) {
        st->lock.unlock();
        return -EBADF;
    }
    if (st->inflight != 0 || st->wq_head[0] != nullptr || st->wq_head[1] != nullptr ||
        (st->lx && st->lx->armed)) {
        st->lock.unlock();
        return -EBUSY;
    }
    st->borrowed = true;
    const int fd = st->fd;
    st->lock.unlock();
    fd_close(st); // nothing to cancel; forgets the epoll registration while the number is ours
    // A quick user (a page-cache read, fd_quick_use.cpp) may still be inside its system call:
    // its hold is the only use left. Wait for it (microseconds) before the caller gets the number.
    for (;;) {
        st->lock.lock();
        const bool idle = st->inflight == 0;
        st->lock.unlock();
        if (idle) {
            break;
        }
        std::this_thread::yield();
    }
    return fd;
}

} // namespace weft::io::detail

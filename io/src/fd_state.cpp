// A descriptor's shared state (fd_state.hpp) from adoption to reuse: the type-stable pool it
// comes from, the use count (st->inflight) that keeps the number open while anything works on
// it, and the handle's release.
//
// Vocabulary
//   use       one holder of st->inflight: an op between op_start and op_finish, a blocking-pool
//             call between fd_use and fd_unuse, an internal op (the multishot accept), close()'s
//             own hold, or the quick users' hold (fd_quick_use.cpp).
//   released  the handle (fd_handle) is gone; the state goes back to the pool when the last use
//             ends.
//
// Invariants
//   1. The number is closed only when st->closed and st->inflight == 0 (op_protocol.cpp,
//      invariant 3); whoever drops the last use closes it (fd_unuse_locked, then fd_apply
//      outside the lock).
//   2. The memory is type-stable: a block of states is never freed, so a stale epoll event can
//      still lock its state and see that the generation (st->gen, bumped by pool_free) moved on.
//
// Current approach
//   fd_adopt makes a socket non-blocking and every descriptor close-on-exec, then fd_adopt_raw
//   takes a state from the pool and resets every field under its lock (the unlock publishes
//   them). fd_release closes (fd_close.cpp) and marks the state released; it returns to the pool
//   now if nothing is in flight, else when the last use ends.

#include "fd_state.hpp"

#include <weft/runtime/detail/assert.hpp>

#include "io_reactor.hpp"

#include <cerrno>
#include <memory>
#include <mutex>
#include <new>

#include <fcntl.h>
#include <unistd.h>

namespace weft::io::detail {

namespace {

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

} // namespace

fd_drop fd_unuse_locked(fd_state* st) noexcept {
    fd_drop d;
    WEFT_ASSERT(st->inflight > 0, "weft::io: descriptor use count underflow");
    if (--st->inflight == 0) {
        if (st->closed && st->fd >= 0) {
            d.close_fd = st->borrowed ? -1 : st->fd;
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
    st->retry_exhaustion = true;
    st->borrowed = false;
    st->poll_both = false;
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

} // namespace weft::io::detail

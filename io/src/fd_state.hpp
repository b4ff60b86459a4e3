// Private: fd_state, one descriptor's shared state (the number, its kind, closed flag, the ops in
// flight and waiting on it, its deadlines, its epoll registration), and the functions that take
// and drop uses of it. The handle that owns one is include/weft/io/detail/fd_handle.hpp; the
// pool and the use count are in fd_state.cpp, quick uses in fd_quick_use.cpp, closing in
// fd_close.cpp, deadlines in fd_deadline.cpp.
#pragma once

#include <weft/runtime/timer.hpp>

#include <weft/io/detail/fd_handle.hpp>
#include <weft/io/detail/op.hpp>
#include <weft/runtime/detail/spin_lock.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace weft::io::detail {

class io_reactor;

/// Extra state of a listening socket under io_uring (the multishot accept).
struct listener_ext {
    std::vector<int> ready;      // accepted, not yet handed out (st lock)
    bool armed = false;          // the multishot accept is in flight (st lock)
    io_reactor* owner = nullptr; // its ring (st lock); cleared if that reactor goes away
    bool cancel_sent = false;    // an overflow/close cancel was issued (owner thread)
    std::unique_ptr<op> ms;      // the multishot accept op (owner thread while armed)
};

/// One descriptor's shared state (its handle: include/weft/io/detail/fd_handle.hpp). Allocated from
/// a type-stable pool: the memory is never returned to the system, so a stale epoll event can still
/// lock it and see that its generation moved on.
struct fd_state {
    weft::detail::spin_lock lock;
    int fd = -1;                      // set at adopt; -1 once the descriptor is closed (lock)
    std::atomic<bool> closing{false}; // close() was called (lock-free read for is_open)
    fd_kind kind = fd_kind::stream;
    bool closed = false;             // close() was called (lock)
    bool released = false;           // the handle is gone (lock)
    bool retry_exhaustion = true;    // listeners: listen_options::retry_on_resource_exhaustion
    bool borrowed = false;           // never close the number: released or borrowed (lock)
    bool poll_both = false;          // epoll: a poll op waits for either direction on the read
                                     // side, so a write edge drives that side too (lock)
    std::uint32_t inflight = 0;      // ops between op_start and op_finish, plus internal ops (lock)
    op* ops[2] = {nullptr, nullptr}; // in-flight ops per side, via op::next/prev (lock)
    op* wq_head[2] = {nullptr, nullptr}; // waiting ops per side, FIFO via op::rnext/rprev (lock)
    op* wq_tail[2] = {nullptr, nullptr};
    std::atomic<std::uint32_t> seq[2] = {0, 0}; // epoll: readiness edges seen (written under lock)
    std::atomic<std::int64_t> deadline[2] = {-1, -1}; // absolute ns, < 0 none; any thread
    std::atomic<std::uint32_t> quick{
        0};                        // fd_use_quick users + gate bits (fd_quick_use.cpp); any thread
    io_reactor* home = nullptr;    // epoll: the instance it is registered with (lock)
    std::uint16_t gen = 0;         // epoll: generation, bumped on every reuse (lock)
    fd_state* home_next = nullptr; // epoll: home's registry (home's mutex)
    fd_state* home_prev = nullptr;
    std::unique_ptr<listener_ext> lx; // io_uring listeners
    fd_state* pool_next = nullptr;    // free list (pool mutex)
};

/// What to do after dropping a reference under st->lock (done after unlocking).
struct fd_drop {
    int close_fd = -1;
    bool free = false;
};
/// Under st->lock: one op (or internal user) less; closes/frees when it was the last.
fd_drop fd_unuse_locked(fd_state* st) noexcept;
/// After unlocking: performs a drop.
void fd_apply(fd_state* st, fd_drop d) noexcept;
/// A deadline setter's time point as the absolute ns of fd_set_deadline (-1 for "none").
std::int64_t to_ns(clock::time_point t) noexcept;
/// fd_adopt without the fcntl calls (the caller made fd non-blocking and close-on-exec).
fd_state* fd_adopt_raw(int fd, fd_kind kind) noexcept;
/// Takes a use of the descriptor for a blocking-pool call: -EBADF when closed, else the fd.
int fd_use(fd_state* st) noexcept;
/// Releases a use taken by fd_use.
void fd_unuse(fd_state* st) noexcept;
/// fd_use for a system call that cannot wait (a page-cache read): no lock, one atomic add, so
/// that workers reading one file do not take turns on its lock. -EBADF when closed.
int fd_use_quick(fd_state* st) noexcept;
/// Releases a use taken by fd_use_quick.
void fd_unuse_quick(fd_state* st) noexcept;
/// close()'s side, under st->lock: shuts the quick-use gate; true when quick users are inside
/// (the caller then takes the use that the last of them will drop).
bool quick_close_locked(fd_state* st) noexcept;

} // namespace weft::io::detail

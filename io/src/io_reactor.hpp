// Private: what both reactors share: the reactor base class, the per-descriptor state, the op
// protocol helpers. The protocol itself is described at the top of reactor.cpp.
#pragma once

#include <weft/io/backend.hpp>

#include <weft/io/detail/fd_handle.hpp>
#include <weft/io/detail/op.hpp>
#include <weft/runtime/detail/reactor.hpp>
#include <weft/runtime/detail/scheduler_hooks.hpp>
#include <weft/runtime/detail/spin_lock.hpp>

#include <atomic>
#include <cerrno>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <vector>

namespace weft::io::detail {

// ---------------------------------------------------------------------------------------------
// Small pieces

/// Why an op was cut short; stored in op::state bits 4..7 by the first canceller.
enum op_why : std::uint32_t {
    why_none = 0,
    why_cancel = 1,   // the task was cancelled (cancel_state): its error()
    why_deadline = 2, // the descriptor's deadline or the op's own deadline: timed_out
    why_closed = 3,   // close() on the descriptor: bad_file_descriptor
    why_stopping = 4, // the runtime is shutting down: operation_canceled
};

// op::state bits (reactor.cpp, "The op state word").
inline constexpr std::uint32_t st_posted = 1; // on the owner's cancel inbox (io_uring)
inline constexpr std::uint32_t st_done = 2;   // the final completion arrived (io_uring)
inline constexpr std::uint32_t why_shift = 4;
inline constexpr std::uint32_t why_mask = 0xF0;

inline std::uint32_t why_of(std::uint32_t s) noexcept {
    return (s & why_mask) >> why_shift;
}

// op::flow bits (owner/initiator private marks).
inline constexpr std::uint8_t fl_hook = 1;          // cancel hook armed (disarm in op_finish)
inline constexpr std::uint8_t fl_timer = 2;         // deadline timer registered
inline constexpr std::uint8_t fl_connecting = 0x80; // epoll: connect(2) was issued

/// res value of a read_exact that met end of stream first.
inline constexpr std::int64_t res_unexpected_eof = -(std::int64_t{1} << 20);

class io_reactor;

/// Extra state of a listening socket under io_uring (the multishot accept).
struct listener_ext {
    std::vector<int> ready;      // accepted, not yet handed out (st lock)
    bool armed = false;          // the multishot accept is in flight (st lock)
    io_reactor* owner = nullptr; // its ring (st lock); cleared if that reactor goes away
    bool cancel_sent = false;    // an overflow/close cancel was issued (owner thread)
    std::unique_ptr<op> ms;      // the multishot accept op (owner thread while armed)
};

/// One descriptor's shared state (fd_handle.hpp). Allocated from a type-stable pool: the memory
/// is never returned to the system, so a stale epoll event can still lock it and see that its
/// generation moved on.
struct fd_state {
    weft::detail::spin_lock lock;
    int fd = -1;                      // set at adopt; -1 once the descriptor is closed (lock)
    std::atomic<bool> closing{false}; // close() was called (lock-free read for is_open)
    fd_kind kind = fd_kind::stream;
    bool closed = false;   // close() was called (lock)
    bool released = false; // the handle is gone (lock)
    bool unlink_done = false;
    bool retry_exhaustion = true;    // listeners: listen_options::retry_on_resource_exhaustion
    std::uint32_t inflight = 0;      // ops between op_start and op_finish, plus internal ops (lock)
    op* ops[2] = {nullptr, nullptr}; // in-flight ops per side, via op::next/prev (lock)
    op* wq_head[2] = {nullptr, nullptr}; // waiting ops per side, FIFO via op::rnext/rprev (lock)
    op* wq_tail[2] = {nullptr, nullptr};
    std::atomic<std::uint32_t> seq[2] = {0, 0}; // epoll: readiness edges seen (written under lock)
    std::atomic<std::int64_t> deadline[2] = {-1, -1}; // absolute ns, < 0 none; any thread
    std::atomic<std::uint32_t> quick{0}; // fd_use_quick users + gate bits (reactor.cpp); any thread
    io_reactor* home = nullptr;          // epoll: the instance it is registered with (lock)
    std::uint16_t gen = 0;               // epoll: generation, bumped on every reuse (lock)
    fd_state* home_next = nullptr;       // epoll: home's registry (home's mutex)
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

// Wait queue helpers (st lock held).
void wq_push_back(fd_state* st, op& o) noexcept;
void wq_push_front(fd_state* st, op& o) noexcept;
void wq_remove(fd_state* st, op& o) noexcept;
/// Detaches the whole queue of `side`; returns its head (linked by rnext).
op* wq_take_all(fd_state* st, op_side side) noexcept;

// ---------------------------------------------------------------------------------------------
// The reactor base

class io_reactor : public weft::detail::reactor {
public:
    io_reactor() noexcept;
    virtual backend kind() const noexcept = 0;

    /// Owner thread, from op_start: the op is linked on its descriptor, its deadline resolved, its
    /// hook and timer not yet armed. Returns true when the task must suspend.
    virtual bool start(op& o) noexcept = 0;

    /// Any thread; `o` is alive for the duration (reactor.cpp, "Who may touch an op").
    /// Records `why` (first one wins) and gets the op completed soon.
    virtual void cancel(op& o, std::uint32_t why, bool from_timer) noexcept = 0;

    /// Any thread, with o.st->lock held, for an op that is not on a wait queue: record `why` and,
    /// for a ring op, get it cancelled (without taking st's lock).
    virtual void cancel_locked(op& o, std::uint32_t why) noexcept = 0;

    /// Epoll only: the descriptor's registration. Default: nothing to do.
    virtual void forget(fd_state* st) noexcept { (void)st; }

    /// The runtime this reactor's worker belongs to (resumes woken tasks from foreign threads).
    weft::detail::scheduler* const sched;

    /// Ops this reactor started that wait on a descriptor's queue (epoll ops, io_uring accept
    /// waiters). Any thread, under the descriptor's lock; read by pending().
    std::atomic<std::size_t> queued{0};
    /// Ops waiting on descriptors registered with this (epoll) instance: its poll() has
    /// readiness to collect. Same rules as `queued`.
    std::atomic<std::size_t> home_waiters{0};
};

/// The calling worker's io reactor, or nullptr.
io_reactor* current_io_reactor() noexcept;

/// Arms the cancel hook and the deadline timer of `o` before it waits. False when the task is
/// already cancelled (o.res = -ECANCELED, why_cancel recorded); nothing is armed then.
bool arm_waiting(op& o) noexcept;

/// Stops the deadline timer of an op that completed on the timer's own worker (owner thread of
/// the io_uring ring, or an inline completion). Never waits.
void stop_timer_local(op& o) noexcept;

/// Completes a queue-style op that the caller has just taken off its wait queue (so nobody else
/// can complete it): stops its timer and resumes the task. `from_timer`: called by that timer's
/// own on_fire.
void complete_taken(op& o, bool from_timer) noexcept;

/// Records `why` in o.state if no reason is recorded and the op is not done. Returns the state
/// before (so the caller can tell whether it won).
std::uint32_t record_why(op& o, std::uint32_t why) noexcept;

/// Queue-style cancellation (epoll ops, io_uring accept waiters): takes the op off its queue and
/// completes it, or records `why` for the thread that is running it right now.
void cancel_queued(op& o, std::uint32_t why, bool from_timer) noexcept;

/// The reactor factories (uring_reactor.cpp / epoll_reactor.cpp). Null on failure.
std::unique_ptr<io_reactor> make_uring_reactor(std::size_t index) noexcept;
std::unique_ptr<io_reactor> make_epoll_reactor(std::size_t index) noexcept;
/// Probes io_uring once: 0 if a ring can be created, else the errno.
int uring_probe() noexcept;

/// Nanoseconds on the steady clock.
std::int64_t now_ns() noexcept;

} // namespace weft::io::detail

// Signals delivered to tasks (signal_set) and the grace period of a graceful shutdown (drain).
//
// Vocabulary
//   slot      one open signal_set in the handler's table: the write end of its pipe and the
//             mask of signals it listens for.
//   handler   weft's sigaction handler, installed for a signal while at least one slot wants it.
//
// Invariants
//   1. The handler touches only the table (atomics) and write(2): async-signal-safe.
//   2. A slot's descriptor is closed only after the slot was cleared and no handler is running
//      (g_in_handler is zero): a handler never writes into a number that was closed and reused.
//   3. A signal has weft's handler exactly while some slot's mask has it (g_users, under
//      g_mu); the disposition from before the first slot is restored after the last.
//
// Rejected approaches
//   - signalfd: it receives only signals blocked in every thread, so the mask would have to be
//     set before the runtime and every other thread (the user's, a library's) starts; one thread
//     with the signal unblocked takes it with its default action. The handler works whatever the
//     masks are, from whichever thread the kernel picks.
//   - One pipe shared by every set, drained by whichever set reads: two sets waiting on it race,
//     and the one that drains can leave the other asleep with the signal consumed.
//   - A thread sitting in sigwait: a thread per process for something that happens twice a day.
//
// Current approach
//   open(): a non-blocking pipe; a free slot takes the write end and the mask (seq_cst stores);
//   under g_mu the handler is installed for each signal that had no user yet. The handler: for
//   each slot whose mask has the signal, write one byte (the number) to its pipe; a full pipe
//   drops the byte (64 Ki signals pending: the kernel merges bursts of one signal anyway).
//   next(): read one byte through async_fd (a readiness wait on the worker's reactor).
//   close(): clear the mask and the descriptor of the slot, wait until no handler runs, close
//   the write end; under g_mu restore the old disposition of each signal that lost its last user.
//
// References
//   Go os/signal (signal.Notify: every channel gets every signal), Tokio's signal driver
//   (handler plus self-pipe), signal-safety(7).

#include <weft/io/signal.hpp>
#include <weft/runtime/with_timeout.hpp>

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <mutex>
#include <thread>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

namespace weft::io {

namespace {

constexpr int max_sets = 64;
constexpr int max_signal = 64; // Linux: 1..64 (SIGRTMAX)

struct slot {
    std::atomic<int> fd{-1};            // write end of the set's pipe; -1: free
    std::atomic<std::uint64_t> mask{0}; // bit n-1: signal n
};

std::array<slot, max_sets> g_slots;
std::atomic<int> g_in_handler{0};

std::mutex g_mu;                                      // guards the two below and slot claims
std::array<int, max_signal + 1> g_users{};            // sets listening for each signal
std::array<struct sigaction, max_signal + 1> g_old{}; // disposition before weft's handler

std::uint64_t bit(int sig) noexcept {
    return std::uint64_t{1} << (sig - 1);
}

void on_signal(int sig) {
    const int saved = errno;
    g_in_handler.fetch_add(1, std::memory_order_seq_cst);
    const auto b = static_cast<unsigned char>(sig);
    for (slot& s : g_slots) {
        if ((s.mask.load(std::memory_order_seq_cst) & bit(sig)) == 0) {
            continue;
        }
        const int fd = s.fd.load(std::memory_order_seq_cst);
        if (fd >= 0) {
            ssize_t n = ::write(fd, &b, 1); // EAGAIN (full): dropped, see the essay
            (void)n;
        }
    }
    g_in_handler.fetch_sub(1, std::memory_order_seq_cst);
    errno = saved;
}

bool catchable(int sig) noexcept {
    if (sig < 1 || sig > max_signal) {
        return false;
    }
    switch (sig) {
    case SIGKILL:
    case SIGSTOP:
    case SIGSEGV:
    case SIGBUS:
    case SIGFPE:
    case SIGILL:
        return false;
    default:
        return true;
    }
}

/// Under g_mu: one more set listens for `sig`; installs the handler for the first.
bool add_user(int sig) noexcept {
    if (g_users[sig]++ > 0) {
        return true;
    }
    struct sigaction sa {};
    sa.sa_handler = &on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (::sigaction(sig, &sa, &g_old[sig]) < 0) {
        --g_users[sig];
        return false;
    }
    return true;
}

/// Under g_mu: one set less; restores the old disposition after the last.
void drop_user(int sig) noexcept {
    if (--g_users[sig] == 0) {
        ::sigaction(sig, &g_old[sig], nullptr);
    }
}

void release_slot(int index, std::uint64_t mask) noexcept {
    slot& s = g_slots[static_cast<std::size_t>(index)];
    s.mask.store(0, std::memory_order_seq_cst);
    const int fd = s.fd.exchange(-1, std::memory_order_seq_cst);
    // Invariant 2: a handler that read the old descriptor is still counted here.
    while (g_in_handler.load(std::memory_order_seq_cst) != 0) {
        std::this_thread::yield();
    }
    std::lock_guard lk(g_mu);
    for (int sig = 1; sig <= max_signal; ++sig) {
        if ((mask & bit(sig)) != 0) {
            drop_user(sig);
        }
    }
    if (fd >= 0) {
        ::close(fd);
    }
}

task<> join_children(scope& children) {
    co_await children.join();
}

} // namespace

result<signal_set> signal_set::open(std::initializer_list<int> signals) noexcept {
    std::uint64_t mask = 0;
    for (int sig : signals) {
        if (!catchable(sig)) {
            return std::errc::invalid_argument;
        }
        mask |= bit(sig);
    }
    if (mask == 0) {
        return std::errc::invalid_argument;
    }
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) {
        return std::error_code(errno, std::generic_category());
    }
    auto in = async_fd::adopt(fds[0]);
    if (!in) {
        ::close(fds[1]);
        return in.error();
    }
    std::lock_guard lk(g_mu);
    int index = -1;
    for (int i = 0; i < max_sets; ++i) {
        if (g_slots[static_cast<std::size_t>(i)].fd.load(std::memory_order_relaxed) < 0) {
            index = i;
            break;
        }
    }
    if (index < 0) {
        ::close(fds[1]);
        return std::errc::too_many_files_open; // 64 sets open at once
    }
    slot& s = g_slots[static_cast<std::size_t>(index)];
    s.fd.store(fds[1], std::memory_order_seq_cst);
    s.mask.store(mask, std::memory_order_seq_cst);
    for (int sig = 1; sig <= max_signal; ++sig) {
        if ((mask & bit(sig)) != 0 && !add_user(sig)) {
            const int err = errno;
            for (int undo = 1; undo < sig; ++undo) {
                if ((mask & bit(undo)) != 0) {
                    drop_user(undo);
                }
            }
            s.mask.store(0, std::memory_order_seq_cst);
            s.fd.store(-1, std::memory_order_seq_cst);
            ::close(fds[1]); // no handler wrote: it was never installed for this slot's mask
            return std::error_code(err, std::generic_category());
        }
    }
    signal_set set;
    set.slot_ = index;
    set.mask_ = mask;
    set.in_ = std::move(in).value();
    return set;
}

signal_set::signal_set(signal_set&& o) noexcept
    : slot_(std::exchange(o.slot_, -1))
    , mask_(std::exchange(o.mask_, 0))
    , in_(std::move(o.in_)) {
}

signal_set& signal_set::operator=(signal_set&& o) noexcept {
    if (this != &o) {
        close();
        slot_ = std::exchange(o.slot_, -1);
        mask_ = std::exchange(o.mask_, 0);
        in_ = std::move(o.in_);
    }
    return *this;
}

void signal_set::close() noexcept {
    in_.close(); // ends a pending next() with bad_file_descriptor
    if (slot_ >= 0) {
        // mask_ stays: a next() still running reads it (close() may come from another task).
        release_slot(std::exchange(slot_, -1), mask_);
    }
}

task<result<int>> signal_set::next() {
    for (;;) {
        unsigned char b = 0;
        auto r = co_await in_.read(std::span<char>(reinterpret_cast<char*>(&b), 1));
        if (!r) {
            co_return r.error();
        }
        if (*r == 0) {
            co_return std::errc::bad_file_descriptor; // the write end is gone: closed meanwhile
        }
        // A handler that read a slot's mask just before the slot changed hands may have written
        // a signal this set does not listen for: not ours, skip it.
        if (b >= 1 && b <= max_signal && (mask_ & bit(b)) != 0) {
            co_return static_cast<int>(b);
        }
    }
}

task<bool> drain(scope& children, std::chrono::nanoseconds grace) {
    // with_timeout cancels the joiner when the grace period is over, which cancels the children,
    // and waits for the joiner (so for them) before it returns.
    auto r = co_await with_timeout(grace, join_children(children));
    if (!r && r.error() != std::errc::timed_out) {
        // Our task was cancelled before the joiner ran, so nobody joined: a cancelled join
        // cancels the children and still waits for them.
        co_await children.join();
    }
    co_return r.has_value();
}

} // namespace weft::io

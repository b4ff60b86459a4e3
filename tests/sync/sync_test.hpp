// Helpers for the weft::sync tests: running a test body on a runtime of a given size, death tests
// (fork + waitpid, stderr captured: Catch2 v2 has none), and a per-value ledger that proves every
// value crossed a channel exactly once.
#pragma once

#include <weft/runtime.hpp>

#include "weft_test.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace weft::testing {

/// Runs `main` (a callable returning a task) on a fresh runtime with `workers` workers.
template <class Main>
auto run_on(std::size_t workers, Main&& main) {
    runtime_options opts;
    opts.workers = workers;
    return weft::run(std::forward<Main>(main), std::move(opts));
}

/// How a forked child ended.
struct child_outcome {
    bool exited = false;  ///< exited normally (see status)
    int status = -1;      ///< exit status, or the signal that ended it
    bool aborted = false; ///< ended by SIGABRT
    std::string err;      ///< what it wrote to stderr

    /// Ended abnormally: SIGABRT, or (under ThreadSanitizer, which turns an abort in a child forked
    /// from a multi-threaded process into its own exit code 66) a non-zero exit.
    bool died() const noexcept { return aborted || (exited && status != 0); }
};

/// Runs `fn` in a forked child (fork + waitpid), capturing its stderr. The child exits 0 if `fn`
/// returns. Use it for misuse that must abort with a message: a death test.
inline child_outcome run_in_child(const std::function<void()>& fn) {
    child_outcome out;
    char path[] = "/tmp/weft_sync_death_XXXXXX";
    const int fd = ::mkstemp(path);
    if (fd < 0) {
        out.err = "mkstemp failed";
        return out;
    }
    ::unlink(path);
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        // The child inherits Catch's fatal-signal handlers, which would report the expected
        // abort as a failure on the shared stdout: restore the defaults, silence stdout.
        for (int sig : {SIGABRT, SIGSEGV, SIGILL, SIGFPE, SIGBUS}) {
            std::signal(sig, SIG_DFL);
        }
        const int null = ::open("/dev/null", O_WRONLY);
        if (null >= 0) {
            ::dup2(null, 1);
        }
        ::dup2(fd, 2);
        fn();
        std::fflush(stderr);
        ::_exit(0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (WIFEXITED(status)) {
        out.exited = true;
        out.status = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        out.status = WTERMSIG(status);
        out.aborted = out.status == SIGABRT;
    }
    ::lseek(fd, 0, SEEK_SET);
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) {
            break;
        }
        out.err.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

/// One counter per value 0..n-1: how many times it was received.
class ledger {
public:
    explicit ledger(std::size_t n)
        : n_(n)
        , seen_(std::make_unique<std::atomic<std::uint8_t>[]>(n)) {}

    void received(std::int64_t v) {
        if (v < 0 || static_cast<std::size_t>(v) >= n_) {
            bad_.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        if (seen_[static_cast<std::size_t>(v)].fetch_add(1, std::memory_order_relaxed) != 0) {
            dup_.fetch_add(1, std::memory_order_relaxed);
        }
    }
    std::uint8_t count(std::int64_t v) const {
        return seen_[static_cast<std::size_t>(v)].load(std::memory_order_relaxed);
    }
    std::int64_t duplicates() const { return dup_.load(); }
    std::int64_t out_of_range() const { return bad_.load(); }
    std::size_t size() const { return n_; }

private:
    std::size_t n_;
    std::unique_ptr<std::atomic<std::uint8_t>[]> seen_;
    std::atomic<std::int64_t> dup_{0};
    std::atomic<std::int64_t> bad_{0};
};

/// Stress for the rule that whoever lets a waiter proceed never touches the primitive afterwards:
/// the waiter may free it as soon as its wait returns (Go's `wg.Wait(); return`, the primitive on
/// the waiter's frame or deleted right after the wait). Each round heap-allocates a primitive
/// (`make()`) and hands it to a releaser that calls `release(*p)`: a plain thread on even rounds,
/// a task on odd ones (on another worker: the waiter never yields while it watches); a `release`
/// that returns a task is awaited by a task on every round. The waiter
/// first spins until `ready(*p)` on every other pair of rounds (so that its wait takes the path
/// that does not wait at all, racing the releaser's last instructions), then runs `wait(*p)` (a
/// task<bool>, true if the wait succeeded) and deletes the primitive the moment it returns.
/// Returns how many waits failed. Meaningful under AddressSanitizer, where a late touch is a
/// heap-use-after-free.
template <class Make, class Ready, class Release, class Wait>
int last_touch_stress(int rounds, Make make, Ready ready, Release release, Wait wait) {
    using prim = std::remove_pointer_t<decltype(make())>;
    std::atomic<prim*> slot{nullptr};
    std::atomic<bool> stop{false};
    std::thread releaser([&] {
        while (!stop.load(std::memory_order_acquire)) {
            if constexpr (!std::is_void_v<decltype(release(std::declval<prim&>()))>) {
                break; // only tasks release
            } else if (prim* p = slot.exchange(nullptr, std::memory_order_acq_rel)) {
                release(*p);
            } else {
                std::this_thread::yield();
            }
        }
    });
    int failed = 0;
    run_on(
        // At least two: a releasing task needs a worker other than the spinning waiter's.
        std::max<std::size_t>(2, weft::testing::test_workers(2)),
        [&]() -> task<> {
            for (int round = 0; round < rounds; ++round) {
                prim* p = make();
                if constexpr (std::is_void_v<decltype(release(*p))>) {
                    if (round % 2 == 0) {
                        slot.store(p, std::memory_order_release);
                    } else {
                        weft::go([](Release* r, prim* q) -> task<> {
                            (*r)(*q);
                            co_return;
                        }(&release, p));
                    }
                } else {
                    weft::go([](Release* r, prim* q) -> task<> {
                        (void)co_await (*r)(*q);
                    }(&release, p));
                }
                if ((round / 2) % 2 == 0) {
                    (void)spin_until([&] { return ready(*p); });
                }
                const bool ok = co_await wait(*p);
                delete p; // at once: nothing may touch it after the wait returned
                failed += ok ? 0 : 1;
            }
        });
    stop.store(true, std::memory_order_release);
    releaser.join();
    return failed;
}

} // namespace weft::testing

// Helpers for the weft::sync tests: running a test body on a runtime of a given size, death tests
// (fork + waitpid, stderr captured: Catch2 v2 has none), and a per-value ledger that proves every
// value crossed a channel exactly once.
#pragma once

#include <weft/runtime.hpp>

#include "weft_test.hpp"

#include <atomic>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace weft::testing {

/// Runs `main` (a callable returning a task) on a fresh runtime with `workers` workers.
template <class Main>
auto run_on(std::size_t workers, Main&& main, bool detect_deadlock = true) {
    runtime_options opts;
    opts.workers = workers;
    opts.detect_deadlock = detect_deadlock;
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

/// Stress-test sizes shrink under the sanitizers (they are 5-20 times slower).
inline constexpr bool under_sanitizer =
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
    true;
#else
    false;
#endif
#else
    false;
#endif

} // namespace weft::testing

// Child processes: posix_spawn to start, a pidfd to wait and to signal.
//
// Invariants
//   1. Only our own child is ever signalled or reaped: both go through its pidfd, never through
//      its process id, which can be reused once it is reaped.
//   2. A child is reaped at most once (status_ is set by the wait that reaped it).
//
// Rejected approaches
//   - fork()+exec in a multithreaded process: the child inherits one thread and every lock the
//     others held; only async-signal-safe calls are allowed before exec, and a copied address
//     space costs page tables. glibc's posix_spawn uses clone(CLONE_VM | CLONE_VFORK) and reports
//     exec failures (no such program) back to the parent, which is what a clear error needs.
//   - A SIGCHLD handler or a thread in waitpid: a process-wide resource a library should not
//     take, and waitpid(-1) would reap children that are not ours.
//
// Current approach
//   spawn(): pipes for the piped streams (both ends close-on-exec; the parent's end non-blocking,
//   the child's blocking, since they are separate open files), file actions that put the child's
//   ends (or /dev/null) on 0, 1, 2 and change directory, an empty signal mask for the child
//   (workers block SIGPIPE; the child should not inherit that), then pidfd_open.
//   wait(): waitid(P_PIDFD, WNOHANG) (the pidfd is non-blocking, which makes waitid on it
//   non-blocking anyway); if still running, wait for the pidfd to become readable
//   (it does when the process exits) through async_fd, and try again.
//
// References
//   pidfd_open(2), waitid(2) P_PIDFD, posix_spawn(3); Go os/exec; tokio::process (pidfd reaper).

#include <weft/io/process.hpp>
#include <weft/runtime/spawn.hpp>

#include <array>
#include <cerrno>
#include <cstring>
#include <functional>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace weft::io {

namespace {

constexpr auto p_pidfd = static_cast<idtype_t>(3); // P_PIDFD (linux/wait.h)

std::error_code errno_code(int e) noexcept {
    return {e, std::generic_category()};
}

int pidfd_open(pid_t pid) noexcept {
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

int pidfd_send_signal(int pidfd, int sig) noexcept {
    return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

exit_status decode(const siginfo_t& info) noexcept {
    exit_status st;
    if (info.si_code == CLD_EXITED) {
        st.code = info.si_status;
    } else {
        st.signal = info.si_status;
    }
    return st;
}

/// Closes the descriptors it holds unless released; the spawn's scratch.
struct fd_pair {
    int parent = -1;
    int child = -1;
    ~fd_pair() {
        for (int fd : {parent, child}) {
            if (fd >= 0) {
                ::close(fd);
            }
        }
    }
};

/// A pipe for stream `target` (0, 1, 2): the parent gets the end the child does not use.
std::error_code make_pipe(int target, fd_pair& p) noexcept {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0) {
        return errno_code(errno);
    }
    const bool child_reads = target == 0;
    p.child = child_reads ? fds[0] : fds[1];
    p.parent = child_reads ? fds[1] : fds[0];
    return {};
}

bool has_nul(const std::string& s) noexcept {
    return s.find('\0') != std::string::npos;
}

task<result<std::string>> read_all(async_fd& f) {
    std::string all;
    std::array<char, 16384> buf;
    for (;;) {
        auto n = co_await f.read(buf);
        if (!n) {
            co_return n.error();
        }
        if (*n == 0) {
            co_return all;
        }
        all.append(buf.data(), *n);
    }
}

} // namespace

child::child(child&& o) noexcept
    : pid_(std::exchange(o.pid_, -1))
    , pidfd_(std::move(o.pidfd_))
    , status_(std::exchange(o.status_, std::nullopt))
    , kill_on_destroy_(o.kill_on_destroy_)
    , in_(std::move(o.in_))
    , out_(std::move(o.out_))
    , err_(std::move(o.err_)) {
}

child& child::operator=(child&& o) noexcept {
    if (this != &o) {
        destroy();
        pid_ = std::exchange(o.pid_, -1);
        pidfd_ = std::move(o.pidfd_);
        status_ = std::exchange(o.status_, std::nullopt);
        kill_on_destroy_ = o.kill_on_destroy_;
        in_ = std::move(o.in_);
        out_ = std::move(o.out_);
        err_ = std::move(o.err_);
    }
    return *this;
}

child::~child() {
    destroy();
}

void child::destroy() noexcept {
    if (pid_ > 0 && !status_ && kill_on_destroy_ && pidfd_.is_open()) {
        const int fd = pidfd_.native_handle();
        if (pidfd_send_signal(fd, SIGKILL) == 0 || errno == ESRCH) {
            // The pidfd is non-blocking (async_fd), which makes waitid on it non-blocking too:
            // wait for it to turn readable (at once, after SIGKILL), then reap.
            for (;;) {
                siginfo_t info{};
                if (::waitid(p_pidfd, static_cast<id_t>(fd), &info, WEXITED) == 0 ||
                    (errno != EINTR && errno != EAGAIN)) {
                    break;
                }
                pollfd p{fd, POLLIN, 0};
                (void)::poll(&p, 1, -1);
            }
        }
    }
    pid_ = -1;
}

result<child> child::spawn(const command& cmd) {
    if (cmd.program.empty() || has_nul(cmd.program) || has_nul(cmd.cwd)) {
        return std::errc::invalid_argument;
    }
    for (const auto& a : cmd.args) {
        if (has_nul(a)) {
            return std::errc::invalid_argument;
        }
    }
    if (!cmd.cwd.empty()) {
        // Checked here: a chdir that fails in the child reports ENOENT, the same as a missing
        // program, and the caller could not tell which.
        struct stat sb {};
        if (::stat(cmd.cwd.c_str(), &sb) < 0) {
            return errno_code(errno);
        }
        if (!S_ISDIR(sb.st_mode)) {
            return std::errc::not_a_directory;
        }
    }
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(cmd.program.c_str()));
    for (const auto& a : cmd.args) {
        argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    std::vector<char*> envp;
    if (cmd.env) {
        for (const auto& e : *cmd.env) {
            if (has_nul(e)) {
                return std::errc::invalid_argument;
            }
            envp.push_back(const_cast<char*>(e.c_str()));
        }
        envp.push_back(nullptr);
    }

    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    ::posix_spawn_file_actions_init(&fa);
    ::posix_spawnattr_init(&attr);
    struct cleanup {
        posix_spawn_file_actions_t* fa;
        posix_spawnattr_t* attr;
        ~cleanup() {
            ::posix_spawn_file_actions_destroy(fa);
            ::posix_spawnattr_destroy(attr);
        }
    } done{&fa, &attr};

    std::array<fd_pair, 3> pipes;
    const std::array<stdio, 3> how{cmd.in, cmd.out, cmd.err};
    for (int target = 0; target < 3; ++target) {
        const auto t = static_cast<std::size_t>(target);
        if (how[t] == stdio::pipe) {
            if (auto ec = make_pipe(target, pipes[t])) {
                return ec;
            }
            ::posix_spawn_file_actions_adddup2(&fa, pipes[t].child, target);
        } else if (how[t] == stdio::null) {
            ::posix_spawn_file_actions_addopen(
                &fa, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0);
        }
    }
    if (!cmd.cwd.empty()) {
        ::posix_spawn_file_actions_addchdir_np(&fa, cmd.cwd.c_str());
    }
    sigset_t none;
    sigemptyset(&none);
    ::posix_spawnattr_setsigmask(&attr, &none);
    ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);

    pid_t pid = -1;
    const bool search = cmd.program.find('/') == std::string::npos;
    char** env = cmd.env ? envp.data() : environ;
    const int rc = search ? ::posix_spawnp(&pid, argv[0], &fa, &attr, argv.data(), env)
                          : ::posix_spawn(&pid, argv[0], &fa, &attr, argv.data(), env);
    if (rc != 0) {
        return errno_code(rc);
    }
    child c;
    c.pid_ = pid;
    c.kill_on_destroy_ = cmd.kill_on_destroy;
    const int pfd = pidfd_open(pid);
    if (pfd < 0) {
        // Cannot wait for it without a pidfd: take it down rather than leave it unreaped.
        const int err = errno;
        ::kill(pid, SIGKILL);
        while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
        }
        c.pid_ = -1;
        return errno_code(err);
    }
    auto p = async_fd::adopt(pfd);
    if (!p) {
        ::kill(pid, SIGKILL);
        while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
        }
        c.pid_ = -1;
        return p.error();
    }
    c.pidfd_ = std::move(p).value();
    async_fd* ends[3] = {&c.in_, &c.out_, &c.err_};
    for (std::size_t t = 0; t < 3; ++t) {
        if (how[t] != stdio::pipe) {
            continue;
        }
        auto e = async_fd::adopt(std::exchange(pipes[t].parent, -1));
        if (!e) {
            c.kill_on_destroy_ = true; // the caller gets an error, never this child
            return e.error();
        }
        *ends[t] = std::move(e).value();
    }
    return c;
}

task<result<exit_status>> child::wait() {
    if (status_) {
        co_return *status_;
    }
    if (pid_ <= 0 || !pidfd_.is_open()) {
        co_return std::errc::no_such_process;
    }
    for (;;) {
        siginfo_t info{};
        const int fd = pidfd_.native_handle();
        if (::waitid(p_pidfd, static_cast<id_t>(fd), &info, WEXITED | WNOHANG) < 0) {
            if (errno == EINTR) {
                continue;
            }
            co_return errno_code(errno);
        }
        if (info.si_pid != 0) {
            status_ = decode(info);
            pidfd_.close();
            co_return *status_;
        }
        auto r = co_await pidfd_.readable(); // the pidfd turns readable when the child exits
        if (!r) {
            co_return r.error(); // cancelled or timed out: the child runs on
        }
    }
}

result<void> child::kill(int sig) noexcept {
    if (status_ || pid_ <= 0 || !pidfd_.is_open()) {
        return std::errc::no_such_process;
    }
    if (pidfd_send_signal(pidfd_.native_handle(), sig) < 0) {
        return errno_code(errno);
    }
    return {};
}

task<result<process_output>> output(command cmd) {
    cmd.out = stdio::pipe;
    cmd.err = stdio::pipe;
    cmd.kill_on_destroy = true; // nobody else can wait for it: a cancelled output() kills it
    auto c = child::spawn(cmd);
    if (!c) {
        co_return c.error();
    }
    c->stdin_pipe().close(); // a piped stdin reads end of file at once
    // Both streams at once: a child that fills the one we are not reading would block.
    auto reading_out = weft::spawn(read_all, std::ref(c->stdout_pipe()));
    auto err = co_await read_all(c->stderr_pipe());
    auto out = co_await reading_out;
    if (!out) {
        co_return out.error();
    }
    if (!err) {
        co_return err.error();
    }
    auto st = co_await c->wait();
    if (!st) {
        co_return st.error();
    }
    co_return process_output{*st, std::move(*out), std::move(*err)};
}

} // namespace weft::io

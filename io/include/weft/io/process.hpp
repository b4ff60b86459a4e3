// weft::io::child: start a program and wait for it without a thread per child (Go's os/exec,
// tokio::process).
//
//     weft::io::command cmd{.program = "git", .args = {"rev-parse", "HEAD"}};
//     auto out = co_await weft::io::output(cmd);        // result<process_output>
//     if (out && out->status.success()) use(out->out);
//
//     cmd.in = weft::io::stdio::pipe;                   // talk to it
//     auto c = weft::io::child::spawn(cmd).value();
//     co_await c.stdin_pipe().write_all("data");
//     c.stdin_pipe().close();                           // its end of file
//     auto st = co_await c.wait();                      // result<exit_status>
//
// The program is found as the shell would (a name without '/' is looked up in PATH). Its
// standard streams are inherited, piped (stdin_pipe(), stdout_pipe(), stderr_pipe(): async_fd
// ends, the child's own ends blocking as programs expect) or /dev/null. No descriptor of ours
// leaks into it: weft opens every descriptor close-on-exec.
//
// Errors are clear and immediate: no such program -> no_such_file_or_directory, not executable
// -> permission_denied, an empty program name -> invalid_argument, a missing working directory
// -> no_such_file_or_directory (spawn() returns them; nothing is started).
//
// Waiting: wait() waits on a pidfd through the worker's reactor (no thread, no SIGCHLD handler)
// and reaps the child. A cancelled or timed-out wait() kills nothing: the child runs on, and a
// later wait() still works. kill() signals it (SIGKILL by default) through the pidfd, so a
// reused process id is never hit. Wait for every child you start, as in Go: the destructor of a
// child that was not waited for kills it only if kill_on_destroy is set (then it also reaps
// it); otherwise the process runs on and is reaped by nobody until this process exits.
#pragma once

#include <weft/io/async_fd.hpp>
#include <weft/runtime/result.hpp>
#include <weft/runtime/task.hpp>

#include <csignal>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace weft::io {

/// Where a child's standard stream goes.
enum class stdio { inherit, pipe, null };

/// What to run.
struct command {
    std::string program;           ///< a path, or a name looked up in PATH
    std::vector<std::string> args; ///< argv[1...] (argv[0] is `program`)
    /// The whole environment ("NAME=value" each); unset: this process's environment.
    std::optional<std::vector<std::string>> env;
    std::string cwd; ///< working directory; empty: this process's
    stdio in = stdio::inherit;
    stdio out = stdio::inherit;
    stdio err = stdio::inherit;
    bool kill_on_destroy = false; ///< see the file comment
};

/// How a child ended.
struct exit_status {
    int code = -1;  ///< exit code, or -1 when killed by a signal
    int signal = 0; ///< the signal that killed it, or 0
    bool success() const noexcept { return signal == 0 && code == 0; }
};

class child {
public:
    child() noexcept = default;
    child(child&& o) noexcept;
    child& operator=(child&& o) noexcept;
    child(const child&) = delete;
    child& operator=(const child&) = delete;
    ~child();

    /// Starts `cmd` (see the file comment for the errors).
    static result<child> spawn(const command& cmd);

    /// Waits until the child has ended and reaps it; at once if it already was.
    task<result<exit_status>> wait();
    /// Sends `sig` to the child; no_such_process once it has been reaped.
    result<void> kill(int sig = SIGKILL) noexcept;

    pid_t pid() const noexcept { return pid_; }
    /// The parent's ends of the piped streams (closed objects for streams not piped).
    async_fd& stdin_pipe() noexcept { return in_; }
    async_fd& stdout_pipe() noexcept { return out_; }
    async_fd& stderr_pipe() noexcept { return err_; }

private:
    void destroy() noexcept;

    pid_t pid_ = -1;
    async_fd pidfd_;
    std::optional<exit_status> status_; // once reaped
    bool kill_on_destroy_ = false;
    async_fd in_;
    async_fd out_;
    async_fd err_;
};

/// What output() collected.
struct process_output {
    exit_status status;
    std::string out; ///< everything the child wrote to stdout
    std::string err; ///< everything it wrote to stderr
};

/// Runs `cmd` to its end with stdout and stderr piped and collected (stdin as cmd.in says; a
/// piped stdin is closed at once). Go's cmd.Output.
task<result<process_output>> output(command cmd);

} // namespace weft::io

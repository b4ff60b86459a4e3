// weft::io::child and weft::io::output on both backends: arguments, environment, working
// directory, piped and null streams, exit codes and signals, clear errors for bad programs,
// waits that time out without killing, kill(), and many children at once.

#include <weft/io/process.hpp>

#include "io_test_support.hpp"

#include <csignal>
#include <fstream>
#include <string>

#include <sys/stat.h>
#include <sys/wait.h>

using namespace std::chrono_literals;
using weft::io::child;
using weft::io::command;
using weft::io::stdio;
using namespace weft::io::testing;

namespace {

command sh(std::string script) {
    return command{.program = "sh", .args = {"-c", std::move(script)}};
}

} // namespace

TEST_CASE("output() collects stdout, stderr and the exit code", "[io][process]") {
    WEFT_IO_TEST_PROLOGUE();
    weft::result<weft::io::process_output> out = std::errc::invalid_argument;
    run([&]() -> weft::task<> {
        out = co_await weft::io::output(sh("printf 'to out'; printf 'to err' >&2; exit 3"));
    });
    REQUIRE(out);
    CHECK(out->out == "to out");
    CHECK(out->err == "to err");
    CHECK(out->status.code == 3);
    CHECK(out->status.signal == 0);
    CHECK_FALSE(out->status.success());
}

TEST_CASE("arguments, environment and working directory reach the child", "[io][process]") {
    WEFT_IO_TEST_PROLOGUE();
    weft::result<weft::io::process_output> out = std::errc::invalid_argument;
    run([&]() -> weft::task<> {
        command cmd = sh("printf '%s|%s|%s|' \"$0\" \"$1\" \"$FOO\"; pwd");
        cmd.args.push_back("first arg");
        cmd.args.push_back("second; not split");
        cmd.env = std::vector<std::string>{"FOO=bar baz", "PATH=/usr/bin:/bin"};
        cmd.cwd = "/";
        out = co_await weft::io::output(cmd);
    });
    REQUIRE(out);
    CHECK(out->status.success());
    CHECK(out->out == "first arg|second; not split|bar baz|/\n");
}

TEST_CASE(
    "a piped stdin feeds the child, and a large output is read as it comes", "[io][process]") {
    WEFT_IO_TEST_PROLOGUE();
    // 1 MiB through cat: more than the pipes hold, so writing and reading must overlap.
    const std::string data = [] {
        std::string d(1 << 20, '\0');
        for (std::size_t i = 0; i < d.size(); ++i) {
            d[i] = static_cast<char>('a' + i % 26);
        }
        return d;
    }();
    std::string echoed;
    weft::result<weft::io::exit_status> st = std::errc::invalid_argument;
    run([&]() -> weft::task<> {
        command cmd{.program = "cat", .in = stdio::pipe, .out = stdio::pipe};
        auto c = child::spawn(cmd);
        REQUIRE(c);
        auto writer = weft::spawn(
            [](child& ch, const std::string& d) -> weft::task<bool> {
                auto ok = co_await ch.stdin_pipe().write_all(d);
                ch.stdin_pipe().close(); // cat sees end of file
                co_return ok.has_value();
            },
            std::ref(*c),
            std::cref(data));
        std::array<char, 8192> buf;
        for (;;) {
            auto n = co_await c->stdout_pipe().read(buf);
            REQUIRE(n);
            if (*n == 0) {
                break;
            }
            echoed.append(buf.data(), *n);
        }
        const bool wrote = co_await writer;
        REQUIRE(wrote);
        st = co_await c->wait();
    });
    REQUIRE(st);
    CHECK(st->success());
    CHECK(echoed.size() == data.size());
    CHECK(echoed == data);
}

TEST_CASE("a null stdin reads end of file at once", "[io][process]") {
    WEFT_IO_TEST_PROLOGUE();
    weft::result<weft::io::process_output> out = std::errc::invalid_argument;
    run([&]() -> weft::task<> {
        command cmd{.program = "wc", .args = {"-c"}, .in = stdio::null};
        out = co_await weft::io::output(cmd);
    });
    REQUIRE(out);
    CHECK(out->status.success());
    CHECK(out->out.find('0') != std::string::npos);
}

TEST_CASE("bad programs and directories are clear errors, and start nothing", "[io][process]") {
    WEFT_IO_TEST_PROLOGUE();
    char path[] = "/tmp/weft-process-test-XXXXXX";
    const int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    ::close(fd);
    ::chmod(path, 0600); // exists, not executable
    CHECK(
        child::spawn({.program = "weft-no-such-program-anywhere"}).error() ==
        std::errc::no_such_file_or_directory);
    CHECK(
        child::spawn({.program = "/nonexistent/dir/prog"}).error() ==
        std::errc::no_such_file_or_directory);
    CHECK(child::spawn({.program = path}).error() == std::errc::permission_denied);
    CHECK(child::spawn({.program = ""}).error() == std::errc::invalid_argument);
    CHECK(
        child::spawn({.program = std::string("sh\0x", 4)}).error() == std::errc::invalid_argument);
    CHECK(
        child::spawn({.program = "true", .cwd = "/nonexistent-dir"}).error() ==
        std::errc::no_such_file_or_directory);
    CHECK(child::spawn({.program = "true", .cwd = path}).error() == std::errc::not_a_directory);
    ::unlink(path);
}

TEST_CASE("a wait that times out kills nothing, and kill() then ends the child", "[io][process]") {
    WEFT_IO_TEST_PROLOGUE();
    std::error_code timed;
    bool alive_after_timeout = false;
    weft::result<weft::io::exit_status> st = std::errc::invalid_argument;
    std::error_code kill_after_reap;
    bool wait_again_same = false;
    run([&]() -> weft::task<> {
        auto c = child::spawn({.program = "sleep", .args = {"100"}}); // sleep-ok: the child
        REQUIRE(c);
        auto w = co_await weft::with_timeout(30ms, c->wait());
        REQUIRE(!w);
        timed = w.error();
        alive_after_timeout = c->kill(0).has_value(); // signal 0: "does it exist"
        auto k = c->kill(SIGTERM);
        REQUIRE(k);
        st = co_await c->wait();
        kill_after_reap = c->kill().error();
        auto again = co_await c->wait(); // reaped: the same status again
        wait_again_same = again && st && again->signal == st->signal;
    });
    CHECK(timed == std::errc::timed_out);
    CHECK(alive_after_timeout);
    REQUIRE(st);
    CHECK(st->signal == SIGTERM);
    CHECK(st->code == -1);
    CHECK(kill_after_reap == std::errc::no_such_process);
    CHECK(wait_again_same);
}

TEST_CASE("kill_on_destroy kills and reaps a child nobody waited for", "[io][process]") {
    WEFT_IO_TEST_PROLOGUE();
    pid_t pid = -1;
    run([&]() -> weft::task<> {
        command cmd{.program = "sleep", .args = {"100"}}; // sleep-ok: the child program
        cmd.kill_on_destroy = true;
        auto c = child::spawn(cmd);
        REQUIRE(c);
        pid = c->pid();
        co_return;
    });
    REQUIRE(pid > 0);
    // Reaped: the pid is no longer our child.
    CHECK(::waitpid(pid, nullptr, WNOHANG) == -1);
    CHECK(errno == ECHILD);
}

TEST_CASE("many children at once are all waited for", "[io][process][stress]") {
    WEFT_IO_TEST_PROLOGUE();
    constexpr int n = 64;
    std::atomic<int> ok{0};
    run([&]() -> weft::task<> {
        weft::scope s;
        for (int i = 0; i < n; ++i) {
            s.spawn(
                [&ok](int code) -> weft::task<> {
                    auto out = co_await weft::io::output(sh("exit " + std::to_string(code)));
                    if (out && out->status.code == code) {
                        ok.fetch_add(1);
                    }
                },
                i % 7);
        }
        co_await s.join();
    });
    CHECK(ok.load() == n);
}

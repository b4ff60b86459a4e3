// weft::io with an io_uring that sets up but cannot submit (a seccomp filter that allows
// io_uring_setup and denies io_uring_enter), simulated with the reactor's test hook
// (detail::uring_fail_enter_for_testing, io/src/io_reactor.hpp): the start-up probe must fall back
// to epoll, and a ring whose submits start failing must complete its ops with the error instead of
// leaving them waiting.

#include "io_reactor.hpp"
#include "io_test_support.hpp"

#include <array>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

using namespace std::chrono_literals;
using weft::io::unix_stream;
using namespace weft::io::testing;

namespace {

struct child_result {
    int status = -1;
    std::string err;
};

/// Runs this executable's hidden case "[uring-fault-child]" in a fresh process (the backend is
/// chosen once per process), with WEFT_IO_BACKEND=`backend` (unset when empty); its stderr is
/// returned. Killed after 60 s: a child stuck in I/O is a failure, not a hung suite.
child_result run_child(const std::string& backend) {
    std::vector<std::string> env_s;
    for (char** e = environ; *e != nullptr; ++e) {
        if (std::string_view(*e).substr(0, 16) != "WEFT_IO_BACKEND=") {
            env_s.emplace_back(*e);
        }
    }
    if (!backend.empty()) {
        env_s.push_back("WEFT_IO_BACKEND=" + backend);
    }
    std::vector<char*> envp;
    for (auto& s : env_s) {
        envp.push_back(s.data());
    }
    envp.push_back(nullptr);
    char self[4096] = {};
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    REQUIRE(n > 0);
    const std::string err_path = "/tmp/weft-io-uring-fault-" + std::to_string(::getpid()) + ".err";
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(
        &fa, STDERR_FILENO, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    std::string tag = "[uring-fault-child]";
    char* argv[] = {self, tag.data(), nullptr};
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, self, &fa, nullptr, argv, envp.data());
    posix_spawn_file_actions_destroy(&fa);
    REQUIRE(rc == 0);
    child_result out;
    // Wait for its exit on a pidfd (readable once the child has ended), at most 60 s.
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    REQUIRE(pidfd >= 0);
    pollfd pfd{pidfd, POLLIN, 0};
    int ready = 0;
    do {
        ready = ::poll(&pfd, 1, 60'000);
    } while (ready < 0 && errno == EINTR);
    ::close(pidfd);
    if (ready == 0) {
        ::kill(pid, SIGKILL); // hung: the test fails on its status
    }
    ::waitpid(pid, &out.status, 0);
    std::ifstream f(err_path);
    out.err.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    ::unlink(err_path.c_str());
    return out;
}

int count_lines_with(const std::string& text, std::string_view what) {
    int n = 0;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        n += line.find(what) != std::string::npos;
    }
    return n;
}

} // namespace

// The child: every io_uring_enter fails with EPERM from the start, before the first runtime
// chooses its backend.
TEST_CASE(
    "uring fault child: the probe falls back to epoll and I/O works", "[.][uring-fault-child]") {
    weft::io::detail::uring_fail_enter_for_testing(EPERM);
    weft::io::backend chosen = weft::io::backend::none;
    std::string got;
    std::string from_file;
    const std::string path = "/tmp/weft-io-uring-fault-file-" + std::to_string(::getpid());
    run([&]() -> weft::task<> {
        chosen = weft::io::current_backend();
        auto [a, b] = unix_stream::pair().value();
        auto w = co_await a.write_all(std::string_view("through epoll"));
        REQUIRE(w);
        std::array<char, 13> buf{};
        auto r = co_await b.read_exact(buf);
        REQUIRE(r);
        got.assign(buf.data(), buf.size());
        auto wf = co_await weft::io::write_file(path, std::string_view("file too"));
        REQUIRE(wf);
        from_file = (co_await weft::io::read_file_string(path)).value();
    });
    ::unlink(path.c_str());
    weft::io::detail::uring_fail_enter_for_testing(0);
    CHECK(chosen == weft::io::backend::epoll);
    CHECK(got == "through epoll");
    CHECK(from_file == "file too");
}

TEST_CASE(
    "a ring that sets up but cannot submit is probed at start-up and replaced by epoll",
    "[io][uring]") {
    WEFT_IO_TEST_PROLOGUE();
    if (!weft::io::io_uring_available()) {
        WARN("io_uring unavailable here: nothing to fall back from");
        return;
    }
    // Asked for by name: the fallback says so, once.
    child_result forced = run_child("io_uring");
    INFO(forced.err);
    CHECK(WIFEXITED(forced.status));
    CHECK(WEXITSTATUS(forced.status) == 0);
    CHECK(count_lines_with(forced.err, "io_uring_enter fails") == 1);
    // Chosen by default: the fallback is silent.
    child_result chosen = run_child("");
    INFO(chosen.err);
    CHECK(WIFEXITED(chosen.status));
    CHECK(WEXITSTATUS(chosen.status) == 0);
    CHECK(count_lines_with(chosen.err, "io_uring") == 0);
}

TEST_CASE(
    "ops waiting on a ring whose submit starts failing complete with its error", "[io][uring]") {
    WEFT_IO_TEST_PROLOGUE();
    constexpr int readers = 64;
    bool on_uring = false;
    std::vector<std::error_code> errors;
    std::error_code accept_ec;
    bool works_again = false;
    run(
        [&]() -> weft::task<> {
            on_uring = weft::io::current_backend() == weft::io::backend::io_uring;
            if (!on_uring) {
                co_return; // the epoll twin: no ring to break
            }
            std::vector<std::pair<unix_stream, unix_stream>> pairs;
            for (int i = 0; i < readers; ++i) {
                pairs.push_back(unix_stream::pair().value());
            }
            auto [l, la] = loopback_listener();
            (void)la;
            errors.assign(readers, std::error_code{});
            weft::io::detail::uring_fail_enter_for_testing(EPERM);
            {
                weft::scope s;
                for (int i = 0; i < readers; ++i) {
                    s.spawn(
                        [](unix_stream& c,
                           std::error_code& out) -> weft::task<> {
                            std::array<std::byte, 16> buf{};
                            auto r = co_await c.read(buf);
                            out = r ? std::error_code{} : r.error();
                        }(pairs[static_cast<std::size_t>(i)].first,
                                                 errors[static_cast<std::size_t>(i)]));
                }
                s.spawn([](weft::io::tcp_listener& lis, std::error_code& out) -> weft::task<> {
                    auto c = co_await lis.accept();
                    out = c ? std::error_code{} : c.error();
                }(l, accept_ec));
                co_await s.join();
            }
            weft::io::detail::uring_fail_enter_for_testing(0);
            // The ring itself is fine once its submits go through again.
            auto& [a, b] = pairs[0];
            auto w = co_await b.write_all(std::string_view("again"));
            std::array<std::byte, 16> buf{};
            auto r = co_await a.read(buf);
            works_again = w && r && *r == 5;
            // And a runtime whose submits fail still shuts down (its stopping sweep is handed
            // back too).
            weft::io::detail::uring_fail_enter_for_testing(EPERM);
        },
        weft::testing::one_worker);
    weft::io::detail::uring_fail_enter_for_testing(0);
    if (!on_uring) {
        return;
    }
    for (const std::error_code& e : errors) {
        CHECK(e == std::errc::operation_not_permitted);
    }
    CHECK(accept_ec == std::errc::operation_not_permitted);
    CHECK(works_again);
}

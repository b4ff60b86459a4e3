// weft::io::reopen and the standard streams on both backends: a shared pipe, terminal or socket
// is read without blocking a worker and without making it non-blocking for the others that
// share it; a regular file is read from where it stands.

#include <weft/io/stdio.hpp>

#include "io_test_support.hpp"

#include <array>
#include <string>
#include <thread>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace weft::io::testing;

namespace {

bool blocking(int fd) {
    return (::fcntl(fd, F_GETFL) & O_NONBLOCK) == 0;
}

weft::task<weft::result<std::string>> read_to_end(weft::io::async_fd& f) {
    std::string all;
    std::array<char, 1000> buf;
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

TEST_CASE("a reopened pipe is waited on without changing the shared one", "[io][stdio]") {
    WEFT_IO_TEST_PROLOGUE();
    int fds[2];
    REQUIRE(::pipe(fds) == 0); // blocking, as a shell's pipe is
    weft::result<std::string> got = std::errc::invalid_argument;
    bool writer_ran_first = false;
    // One worker: a read that blocked the worker would keep the writer task from ever running.
    run(
        [&]() -> weft::task<> {
            auto in = weft::io::reopen(fds[0], false);
            REQUIRE(in);
            auto writer = weft::spawn([](int w, bool& flag) -> weft::task<> {
                flag = true;
                const std::string text = "through the shared pipe";
                REQUIRE(::write(w, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
                ::close(w);
                co_return;
            }(fds[1], writer_ran_first));
            got = co_await read_to_end(*in);
            co_await writer;
        },
        1);
    ::close(fds[0]);
    REQUIRE(got);
    CHECK(*got == "through the shared pipe");
    CHECK(writer_ran_first);
}

TEST_CASE("reopen leaves the original descriptor blocking", "[io][stdio]") {
    WEFT_IO_TEST_PROLOGUE();
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    bool read_blocking = false;
    bool write_blocking = false;
    bool ours_nonblocking = false;
    std::string got;
    run([&]() -> weft::task<> {
        auto in = weft::io::reopen(fds[0], false);
        auto out = weft::io::reopen(fds[1], true);
        REQUIRE(in);
        REQUIRE(out);
        ours_nonblocking = !blocking(in->native_handle()) && !blocking(out->native_handle());
        read_blocking = blocking(fds[0]);
        write_blocking = blocking(fds[1]);
        auto w = co_await out->write_all("xyz");
        REQUIRE(w);
        std::array<char, 3> buf{};
        auto r = co_await in->read_exact(buf);
        REQUIRE(r);
        got.assign(buf.data(), 3);
    });
    ::close(fds[0]);
    ::close(fds[1]);
    CHECK(ours_nonblocking);
    CHECK(read_blocking);
    CHECK(write_blocking);
    CHECK(got == "xyz");
}

TEST_CASE("a reopened socket is read without touching its flags", "[io][stdio]") {
    WEFT_IO_TEST_PROLOGUE();
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0); // blocking
    std::string got;
    run(
        [&]() -> weft::task<> {
            auto in = weft::io::reopen(sv[0], false);
            REQUIRE(in);
            auto writer = weft::spawn([](int w) -> weft::task<> {
                REQUIRE(::write(w, "sock", 4) == 4);
                ::shutdown(w, SHUT_WR);
                co_return;
            }(sv[1]));
            auto all = co_await read_to_end(*in);
            REQUIRE(all);
            got = *all;
            co_await writer;
        },
        1);
    CHECK(got == "sock");
    CHECK(blocking(sv[0]));
    ::close(sv[0]);
    ::close(sv[1]);
}

TEST_CASE("a regular file is read from its current offset", "[io][stdio]") {
    WEFT_IO_TEST_PROLOGUE();
    char path[] = "/tmp/weft-stdio-test-XXXXXX";
    const int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    ::unlink(path);
    REQUIRE(::write(fd, "hello world", 11) == 11);
    REQUIRE(::lseek(fd, 6, SEEK_SET) == 6);
    weft::result<std::string> got = std::errc::invalid_argument;
    run([&]() -> weft::task<> {
        auto in = weft::io::reopen(fd, false);
        REQUIRE(in);
        got = co_await read_to_end(*in);
    });
    ::close(fd);
    REQUIRE(got);
    CHECK(*got == "world");
}

TEST_CASE("stdin_stream reads a process's piped input to its end", "[io][stdio]") {
    WEFT_IO_TEST_PROLOGUE();
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::dup2(fds[0], 0);
        ::close(fds[0]);
        ::close(fds[1]);
        const int code = weft::run([]() -> weft::task<int> {
            auto in = weft::io::stdin_stream();
            if (!in) {
                co_return 10;
            }
            auto all = co_await read_to_end(*in);
            if (!all) {
                co_return 11;
            }
            co_return *all == std::string(100'000, 'q') ? 0 : 12;
        });
        std::_Exit(code);
    }
    ::close(fds[0]);
    const std::string data(100'000, 'q'); // more than the pipe holds: the child must keep reading
    std::size_t at = 0;
    while (at < data.size()) {
        ssize_t n = ::write(fds[1], data.data() + at, data.size() - at);
        REQUIRE(n > 0);
        at += static_cast<std::size_t>(n);
    }
    ::close(fds[1]);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("reopen refuses a descriptor that is not open", "[io][stdio]") {
    WEFT_IO_TEST_PROLOGUE();
    CHECK(weft::io::reopen(-1, false).error() == std::errc::bad_file_descriptor);
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    ::close(fds[0]);
    ::close(fds[1]);
    CHECK(weft::io::reopen(fds[0], false).error() == std::errc::bad_file_descriptor);
}

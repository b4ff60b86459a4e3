// weft::io::file and the whole-file helpers on both backends (page-cache reads inline with
// preadv2(RWF_NOWAIT) on both; the rest: io_uring ring ops, or the blocking pool under epoll).

#include "io_test_support.hpp"

#include <array>
#include <span>
#include <string>

#include <fcntl.h>
#include <unistd.h>

using namespace std::chrono_literals;
using weft::io::file;
using namespace weft::io::testing;

namespace {

std::string temp_path(const char* tag) {
    return "/tmp/weft-io-file-test-" + std::to_string(::getpid()) + "-" + tag;
}

constexpr std::size_t block = 4096;

struct unlink_on_exit {
    std::string path;
    ~unlink_on_exit() { ::unlink(path.c_str()); }
};

} // namespace

TEST_CASE("a file is written, synced, read back and sized", "[io][file]") {
    WEFT_IO_TEST_PROLOGUE();
    const std::string path = temp_path("rw");
    unlink_on_exit cleanup{path};
    constexpr std::size_t total = 3u << 20;
    bool content_ok = false;
    std::uint64_t size = 0;
    std::size_t past_end = 1;
    std::size_t straddling = 0;
    run([&]() -> weft::task<> {
        auto f = co_await file::open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
        REQUIRE(f);
        std::vector<std::byte> data(total);
        fill_pattern(data, 11, 0);
        auto w = co_await f->write_all_at(data, 0);
        REQUIRE(w);
        auto s = co_await f->fsync();
        REQUIRE(s);
        auto ds = co_await f->fdatasync();
        REQUIRE(ds);
        size = f->size().value();
        std::vector<std::byte> back(total);
        std::size_t got = 0;
        while (got < total) {
            auto n = co_await f->read_at({back.data() + got, total - got}, got);
            REQUIRE(n);
            REQUIRE(*n > 0);
            got += *n;
        }
        content_ok = check_pattern(back, 11, 0);
        std::array<std::byte, 16> tail{};
        past_end = (co_await f->read_at(tail, total + 100)).value();
        straddling = (co_await f->read_at(tail, total - 5)).value();
    });
    CHECK(size == total);
    CHECK(content_ok);
    CHECK(past_end == 0);
    CHECK(straddling == 5);
}

TEST_CASE("write_at writes at offsets, leaving a hole of zeros", "[io][file]") {
    WEFT_IO_TEST_PROLOGUE();
    const std::string path = temp_path("offsets");
    unlink_on_exit cleanup{path};
    std::string contents;
    run([&]() -> weft::task<> {
        auto f = co_await file::open(path, O_RDWR | O_CREAT | O_TRUNC);
        REQUIRE(f);
        auto w1 = co_await f->write_at(bytes_of("abc"), 0);
        REQUIRE(w1);
        auto w2 = co_await f->write_at(bytes_of("xyz"), 5);
        REQUIRE(w2);
        f->close();
        contents = (co_await weft::io::read_file_string(path)).value();
    });
    CHECK(contents == std::string("abc\0\0xyz", 8));
}

TEST_CASE("whole-file helpers round-trip, and missing files are reported", "[io][file]") {
    WEFT_IO_TEST_PROLOGUE();
    const std::string path = temp_path("whole");
    unlink_on_exit cleanup{path};
    std::vector<std::byte> back;
    std::string text;
    std::error_code missing;
    std::error_code closed_ec;
    run([&]() -> weft::task<> {
        std::vector<std::byte> data(100000);
        fill_pattern(data, 3, 0);
        auto w = co_await weft::io::write_file(path, data);
        REQUIRE(w);
        back = (co_await weft::io::read_file(path)).value();
        auto w2 = co_await weft::io::write_file(path, std::string_view("short now"));
        REQUIRE(w2);
        text = (co_await weft::io::read_file_string(path)).value();
        missing = (co_await weft::io::read_file(path + ".nope")).error();
        auto f = (co_await file::open(path)).value();
        f.close();
        std::array<std::byte, 4> b{};
        closed_ec = (co_await f.read_at(b, 0)).error();
    });
    CHECK(back.size() == 100000);
    CHECK(check_pattern(back, 3, 0));
    CHECK(text == "short now");
    CHECK(missing == std::errc::no_such_file_or_directory);
    CHECK(closed_ec == std::errc::bad_file_descriptor);
}

TEST_CASE("many concurrent file reads at different offsets", "[io][file]") {
    WEFT_IO_TEST_PROLOGUE();
    const std::string path = temp_path("concurrent");
    unlink_on_exit cleanup{path};
    std::atomic<int> good{0};
    constexpr int readers = 64;
    run(
        [&]() -> weft::task<> {
            std::vector<std::byte> data(block * readers);
            fill_pattern(data, 5, 0);
            auto w = co_await weft::io::write_file(path, data);
            REQUIRE(w);
            auto f = (co_await file::open(path)).value();
            weft::scope s;
            for (int i = 0; i < readers; ++i) {
                s.spawn([](file& fl, int idx, std::atomic<int>& ok) -> weft::task<> {
                    std::vector<std::byte> b(block);
                    auto off = static_cast<std::uint64_t>(idx) * block;
                    auto n = co_await fl.read_at(b, off);
                    if (n && *n == block && check_pattern(b, 5, off)) {
                        ++ok;
                    }
                }(f, i, good));
            }
            co_await s.join();
        },
        weft::testing::test_workers(4));
    CHECK(good == readers);
}

TEST_CASE("pages evicted from the page cache are read back through the slow path", "[io][file]") {
    WEFT_IO_TEST_PROLOGUE();
    // preadv2(RWF_NOWAIT) answers EAGAIN for pages not in the cache: read_at then takes its ring
    // op (io_uring) or the blocking pool (epoll). POSIX_FADV_DONTNEED drops the clean pages.
    const std::string path = temp_path("evicted");
    unlink_on_exit cleanup{path};
    constexpr std::size_t total = 1u << 20;
    bool content_ok = false;
    run([&]() -> weft::task<> {
        auto f = co_await file::open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
        REQUIRE(f);
        std::vector<std::byte> data(total);
        fill_pattern(data, 21, 0);
        auto w = co_await f->write_all_at(data, 0);
        REQUIRE(w);
        auto s = co_await f->fdatasync();
        REQUIRE(s);
        REQUIRE(::posix_fadvise(f->native_handle(), 0, 0, POSIX_FADV_DONTNEED) == 0);
        std::vector<std::byte> back(total);
        for (std::size_t off = 0; off < total; off += block) {
            auto n = co_await f->read_at({back.data() + off, block}, off);
            REQUIRE(n);
            REQUIRE(*n == block);
        }
        content_ok = check_pattern(back, 21, 0);
    });
    CHECK(content_ok);
}

TEST_CASE(
    "a task reading cached data in a loop lets others run and sees its cancellation",
    "[io][file]") {
    WEFT_IO_TEST_PROLOGUE();
    // Cached reads complete without suspending; the cooperative budget makes the reader yield.
    // On one worker, the canceller below runs only if it does: without the budget this test
    // hangs (and CTest's timeout fails it).
    const std::string path = temp_path("loop");
    unlink_on_exit cleanup{path};
    std::error_code ec;
    long reads = 0;
    bool others_ran = false;
    run(
        [&]() -> weft::task<> {
            std::vector<std::byte> data(block * 16);
            fill_pattern(data, 9, 0);
            auto w = co_await weft::io::write_file(path, data);
            REQUIRE(w);
            auto f = (co_await file::open(path)).value();
            std::array<std::byte, block> buf{};
            auto reader = weft::spawn(
                [](file& fl, std::span<std::byte> b, long& count) -> weft::task<std::error_code> {
                    for (std::uint64_t i = 0;; ++i) {
                        auto n = co_await fl.read_at(b, (i % 16) * block);
                        if (!n) {
                            co_return n.error();
                        }
                        ++count;
                    }
                }(f, buf, reads));
            // Runs only when the reader yields (one worker).
            co_await weft::yield_now();
            others_ran = true;
            co_await weft::yield_now();
            reader.cancel();
            ec = co_await reader;
        },
        weft::testing::one_worker);
    CHECK(others_ran);
    CHECK(ec == std::errc::operation_canceled);
    CHECK(reads > 0);
}

TEST_CASE("read_at in a cancelled task fails at once, also for cached data", "[io][file]") {
    WEFT_IO_TEST_PROLOGUE();
    // One worker: the reader starts, yields, and the parent cancels it while it waits in that
    // yield; its read of cached data must then not succeed (as every other op fails fast in a
    // cancelled task). It has to start first: a task cancelled before it starts never runs.
    const std::string path = temp_path("cancelled");
    unlink_on_exit cleanup{path};
    std::error_code ec;
    bool ran = false;
    run(
        [&]() -> weft::task<> {
            auto w = co_await weft::io::write_file(path, std::string_view("cached bytes"));
            REQUIRE(w);
            auto f = (co_await file::open(path)).value();
            auto warm = co_await weft::io::read_file_string(path); // in the page cache now
            REQUIRE(warm);
            auto reader = weft::spawn([](file& fl, bool& started) -> weft::task<std::error_code> {
                started = true;
                co_await weft::yield_now(); // the parent cancels us here
                std::array<std::byte, 16> b{};
                auto n = co_await fl.read_at(b, 0);
                co_return n ? std::error_code{} : n.error();
            }(f, ran));
            co_await weft::testing::yield_until([&] { return ran; });
            reader.cancel();
            ec = co_await reader;
        },
        weft::testing::one_worker);
    CHECK(ran);
    CHECK(ec == std::errc::operation_canceled);
}

TEST_CASE(
    "closing a file while tasks on several workers read it: right bytes or bad_file_descriptor, "
    "then the descriptor is closed",
    "[io][file]") {
    WEFT_IO_TEST_PROLOGUE();
    // Page-cache reads take the descriptor without its lock (fd_use_quick): this checks that a
    // close() racing with them never closes the number under a read that is still inside (the
    // bytes would then come from whatever reused it, or the read would fail with another error),
    // and that the last reader out closes it.
    const std::string path = temp_path("close-race");
    const std::string decoy_path = temp_path("close-race-decoy");
    unlink_on_exit cleanup{path};
    unlink_on_exit cleanup_decoy{decoy_path};
    constexpr int rounds = 200;
    constexpr int readers = 6;
    std::atomic<long> right{0}, wrong{0}, ebadf{0}, other{0};
    int leaked_rounds = 0;
    run(
        [&]() -> weft::task<> {
            std::vector<std::byte> data(block * 16);
            fill_pattern(data, 9, 0);
            auto w = co_await weft::io::write_file(path, data);
            REQUIRE(w);
            fill_pattern(data, 3, 0);
            auto wd = co_await weft::io::write_file(decoy_path, data);
            REQUIRE(wd);
            for (int round = 0; round < rounds; ++round) {
                const int fds_before = open_fds();
                {
                    auto f = (co_await file::open(path)).value();
                    weft::scope s;
                    for (int i = 0; i < readers; ++i) {
                        s.spawn(
                            [](file& fl,
                               int seed,
                               std::atomic<long>& ok,
                               std::atomic<long>& bad,
                               std::atomic<long>& closed,
                               std::atomic<long>& odd) -> weft::task<> {
                                std::vector<std::byte> b(block);
                                std::uint64_t x =
                                    static_cast<std::uint64_t>(seed) * 2654435761u + 1;
                                for (int k = 0; k < 100000; ++k) {
                                    x = x * 6364136223846793005u + 1442695040888963407u;
                                    const std::uint64_t off = ((x >> 33) % 16) * block;
                                    auto n = co_await fl.read_at(b, off);
                                    if (!n) {
                                        (n.error() == std::errc::bad_file_descriptor ? closed
                                                                                     : odd)++;
                                        co_return;
                                    }
                                    (*n == block && check_pattern(b, 9, off) ? ok : bad)++;
                                }
                            }(f, round * readers + i, right, wrong, ebadf, other));
                    }
                    // The closer opens a decoy file with other bytes at once: if close() freed
                    // the number while a read was inside, the decoy would likely reuse it and
                    // that read would return the decoy's bytes.
                    int decoy = -1;
                    s.spawn(
                        [](file& fl, int spins, const std::string& decoy_name, int& out)
                            -> weft::task<> {
                            for (int k = 0; k < spins; ++k) {
                                co_await weft::yield_now();
                            }
                            fl.close();
                            out = ::open(decoy_name.c_str(), O_RDONLY | O_CLOEXEC);
                        }(f, round % 13, decoy_path, decoy));
                    co_await s.join();
                    if (decoy >= 0) {
                        ::close(decoy);
                    }
                }
                if (open_fds() != fds_before) {
                    ++leaked_rounds;
                }
            }
        },
        weft::testing::test_workers(4));
    CHECK(wrong == 0);
    CHECK(other == 0);
    CHECK(ebadf == long{rounds} * readers); // every reader ended on the close, none earlier
    CHECK(right > 0);
    CHECK(leaked_rounds == 0);
}

TEST_CASE("file paths with an embedded NUL are refused, not cut short", "[io][file]") {
    WEFT_IO_TEST_PROLOGUE();
    const std::string path = temp_path("nul");
    unlink_on_exit cleanup{path};
    const std::string with_nul = path + std::string("\0.other", 7);
    std::vector<std::error_code> errors;
    bool prefix_created = true;
    run([&]() -> weft::task<> {
        // A path cut at the NUL would create and then open `path`.
        auto w = co_await weft::io::write_file(with_nul, std::string_view("x"));
        errors.push_back(w ? std::error_code{} : w.error());
        prefix_created = ::access(path.c_str(), F_OK) == 0;
        auto w2 = co_await weft::io::write_file(path, std::string_view("real"));
        REQUIRE(w2);
        auto o = co_await file::open(with_nul);
        errors.push_back(o ? std::error_code{} : o.error());
        auto c = co_await file::open(with_nul, O_WRONLY | O_CREAT | O_TRUNC);
        errors.push_back(c ? std::error_code{} : c.error());
        auto r = co_await weft::io::read_file(with_nul);
        errors.push_back(r ? std::error_code{} : r.error());
        auto s = co_await weft::io::read_file_string(with_nul);
        errors.push_back(s ? std::error_code{} : s.error());
        auto wb = co_await weft::io::write_file(with_nul, bytes_of("y"));
        errors.push_back(wb ? std::error_code{} : wb.error());
    });
    CHECK(!prefix_created);
    REQUIRE(errors.size() == 6);
    for (const std::error_code& e : errors) {
        CHECK(e == std::errc::invalid_argument);
    }
}

// weft_bench workloads for weft::io files: file_read and its baseline file_read_pread.
//
// Both read the same thing: `tasks` logical readers (64) each read 4 KiB blocks (`block`) at
// random block-aligned offsets of a `file_mb` MB file that is in the page cache, `reads` reads in
// all. Reader i draws its offsets from its own xorshift generator seeded with i, so both
// workloads read exactly the same blocks. Every block starts with its own index (the file is
// written that way), which each read checks; result = the sum of the indexes read.
//
//   file_read        one weft task per reader, each awaiting weft::io::file::read_at (io_uring
//                    READ; with the epoll backend, preadv2(RWF_NOWAIT) on the worker).
//   file_read_pread  the blocking baseline: a pool of std::threads, one per runtime worker, each
//                    taking the next reader and doing its reads with pread(2). The pool is driven
//                    from weft::spawn_blocking, so no worker blocks.
//
// Setup (not timed): the file is created in $TMPDIR (default /tmp), filled, fdatasync'ed (so
// writeback does not run during the measurement), read once (so it is in the page cache), and
// unlinked while still open, so nothing is left behind. ops = reads.
//
// Weft only (Go and Tokio have no twin): bench/drivers/io_compare.py compares the two workloads.

#include <weft/io/file.hpp>
#include <weft/runtime.hpp>

#include "bench_support.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <latch>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace {

using weft::bench::bench_error;
using weft::bench::measurement;
using weft::bench::params;
using weft::bench::stopwatch;

/// The workloads' parameters, checked.
struct file_read_params {
    std::int64_t tasks;
    std::int64_t file_bytes;
    std::int64_t block;
    std::int64_t reads;
    std::int64_t blocks() const noexcept { return file_bytes / block; }
};

file_read_params get_params(const params& p) {
    file_read_params f{p["tasks"], p["file_mb"] << 20, p["block"], p["reads"]};
    if (f.block < 8 || f.block > (1 << 20)) {
        throw bench_error("block must be in 8..1048576");
    }
    if (f.blocks() < 1) {
        throw bench_error("the file must hold at least one block");
    }
    return f;
}

/// xorshift64*: reader i's offsets.
struct offsets {
    std::uint64_t state;
    explicit offsets(std::int64_t reader) noexcept
        : state(0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(reader + 1)) {}
    std::int64_t next_block(std::int64_t blocks) noexcept {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        return static_cast<std::int64_t>(
            (state * 0x2545F4914F6CDD1Dull) % static_cast<std::uint64_t>(blocks));
    }
};

[[noreturn]] void fail_errno(const std::string& what) {
    throw bench_error(what + ": " + std::error_code(errno, std::system_category()).message());
}

/// A temporary file of `f.blocks()` blocks, each starting with its index; unlinked on destruction.
class test_file {
public:
    explicit test_file(const file_read_params& f) {
        const char* dir = std::getenv("TMPDIR");
        path_ =
            std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/weft_file_read_XXXXXX";
        fd_ = ::mkstemp(path_.data());
        if (fd_ < 0) {
            fail_errno("mkstemp " + path_);
        }
        std::vector<char> chunk(
            static_cast<std::size_t>(std::max<std::int64_t>(f.block, 1 << 20) / f.block * f.block));
        const std::int64_t per_chunk = static_cast<std::int64_t>(chunk.size()) / f.block;
        for (std::int64_t b = 0; b < f.blocks(); b += per_chunk) {
            const std::int64_t n = std::min(per_chunk, f.blocks() - b);
            for (std::int64_t i = 0; i < n; ++i) {
                char* p = chunk.data() + i * f.block;
                std::memset(p, static_cast<int>((b + i) & 0x7f), static_cast<std::size_t>(f.block));
                const std::uint64_t index = static_cast<std::uint64_t>(b + i);
                std::memcpy(p, &index, sizeof index);
            }
            write_all(chunk.data(), static_cast<std::size_t>(n * f.block), b * f.block);
        }
        if (::fdatasync(fd_) != 0) {
            fail_errno("fdatasync");
        }
        // Read it all once: it is in the page cache from here on (it was just written, but this
        // also holds where writes bypass the cache).
        for (std::int64_t off = 0; off < f.blocks() * f.block;
             off += static_cast<std::int64_t>(chunk.size())) {
            if (::pread(fd_, chunk.data(), chunk.size(), off) < 0) {
                fail_errno("pread");
            }
        }
    }
    test_file(const test_file&) = delete;
    test_file& operator=(const test_file&) = delete;
    ~test_file() {
        unlink();
        ::close(fd_);
    }

    const std::string& path() const noexcept { return path_; }
    int fd() const noexcept { return fd_; }
    /// Removes the name; the open descriptors keep the data.
    void unlink() noexcept {
        if (!unlinked_) {
            ::unlink(path_.c_str());
            unlinked_ = true;
        }
    }

private:
    void write_all(const char* p, std::size_t n, std::int64_t off) {
        while (n > 0) {
            const ssize_t w = ::pwrite(fd_, p, n, off);
            if (w < 0) {
                if (errno == EINTR) {
                    continue;
                }
                fail_errno("pwrite " + path_);
            }
            p += w;
            n -= static_cast<std::size_t>(w);
            off += w;
        }
    }

    std::string path_;
    int fd_ = -1;
    bool unlinked_ = false;
};

/// The index at the start of a block that was read, checked against the one asked for.
std::int64_t check_block(const void* data, std::int64_t want) {
    std::uint64_t got = 0;
    std::memcpy(&got, data, sizeof got);
    if (got != static_cast<std::uint64_t>(want)) {
        throw bench_error(
            "file_read: block " + std::to_string(want) + " holds index " + std::to_string(got));
    }
    return want;
}

// ---------------------------------------------------------------------------------------------
// file_read: weft tasks awaiting weft::io::file::read_at.

weft::task<std::int64_t>
weft_reader(weft::io::file& f, const file_read_params& p, std::int64_t reader) {
    const auto [lo, hi] = weft::bench::split(p.reads, p.tasks, reader);
    std::vector<std::byte> buf(static_cast<std::size_t>(p.block));
    offsets rng(reader);
    std::int64_t sum = 0;
    for (std::int64_t i = lo; i < hi; ++i) {
        const std::int64_t b = rng.next_block(p.blocks());
        auto n = co_await f.read_at(buf, static_cast<std::uint64_t>(b * p.block));
        if (!n) {
            throw bench_error("file_read: read_at: " + n.error().message());
        }
        if (static_cast<std::int64_t>(*n) != p.block) {
            throw bench_error("file_read: short read of " + std::to_string(*n) + " bytes");
        }
        sum += check_block(buf.data(), b);
    }
    co_return sum;
}

weft::task<measurement> bench_file_read(params ps) {
    const file_read_params p = get_params(ps);
    test_file tf(p);
    auto f = co_await weft::io::file::open(tf.path(), O_RDONLY);
    if (!f) {
        throw bench_error("file_read: open " + tf.path() + ": " + f.error().message());
    }
    tf.unlink();

    std::vector<weft::task<std::int64_t>> readers;
    readers.reserve(static_cast<std::size_t>(p.tasks));
    stopwatch sw;
    for (std::int64_t r = 0; r < p.tasks; ++r) {
        readers.push_back(weft_reader(*f, p, r));
    }
    const std::vector<std::int64_t> sums = co_await weft::when_all(std::move(readers));
    const auto elapsed = sw.elapsed();
    std::int64_t sum = 0;
    for (std::int64_t s : sums) {
        sum += s;
    }
    co_return measurement{elapsed, p.reads, sum, {}};
}

// ---------------------------------------------------------------------------------------------
// file_read_pread: the same readers, run by a std::thread pool with blocking pread.

std::int64_t
pread_reader(int fd, const file_read_params& p, std::int64_t reader, std::vector<char>& buf) {
    const auto [lo, hi] = weft::bench::split(p.reads, p.tasks, reader);
    offsets rng(reader);
    std::int64_t sum = 0;
    for (std::int64_t i = lo; i < hi; ++i) {
        const std::int64_t b = rng.next_block(p.blocks());
        ssize_t n;
        do {
            n = ::pread(fd, buf.data(), static_cast<std::size_t>(p.block), b * p.block);
        } while (n < 0 && errno == EINTR);
        if (n < 0) {
            fail_errno("file_read_pread: pread");
        }
        if (n != p.block) {
            throw bench_error("file_read_pread: short read of " + std::to_string(n) + " bytes");
        }
        sum += check_block(buf.data(), b);
    }
    return sum;
}

weft::task<measurement> bench_file_read_pread(params ps) {
    const file_read_params p = get_params(ps);
    test_file tf(p);
    tf.unlink();
    const std::size_t threads = std::max<std::size_t>(1, weft::current_workers());

    // Runs on a blocking-pool thread: it blocks in join(), which a worker must never do.
    auto run_pool = [&]() -> measurement {
        std::atomic<std::int64_t> next_reader{0};
        std::atomic<std::int64_t> total{0};
        std::atomic<bool> failed{false};
        std::string error;
        std::latch ready(static_cast<std::ptrdiff_t>(threads) + 1);
        std::vector<std::thread> pool;
        pool.reserve(threads);
        for (std::size_t t = 0; t < threads; ++t) {
            pool.emplace_back([&] {
                std::vector<char> buf(static_cast<std::size_t>(p.block));
                ready.arrive_and_wait();
                std::int64_t sum = 0;
                try {
                    // relaxed: a ticket counter; the join below orders everything.
                    for (std::int64_t r;
                         (r = next_reader.fetch_add(1, std::memory_order_relaxed)) < p.tasks;) {
                        sum += pread_reader(tf.fd(), p, r, buf);
                    }
                } catch (const std::exception& e) {
                    if (!failed.exchange(true)) {
                        error = e.what();
                    }
                }
                total.fetch_add(sum, std::memory_order_relaxed);
            });
        }
        ready.arrive_and_wait();
        stopwatch sw;
        for (auto& th : pool) {
            th.join();
        }
        const auto elapsed = sw.elapsed();
        if (failed.load()) {
            throw bench_error(error);
        }
        return measurement{elapsed, p.reads, total.load(), {}};
    };
    co_return co_await weft::spawn_blocking(run_pool);
}

} // namespace

WEFT_BENCH_WORKLOAD(
    file_read,
    bench_file_read,
    {"tasks", 64, 1},
    {"file_mb", 256, 1},
    {"block", 4096, 8},
    {"reads", 1000000, 1});
WEFT_BENCH_WORKLOAD(
    file_read_pread,
    bench_file_read_pread,
    {"tasks", 64, 1},
    {"file_mb", 256, 1},
    {"block", 4096, 8},
    {"reads", 1000000, 1});

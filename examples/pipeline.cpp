// pipeline: the mixed workload of a typical data job. Read many files, hash their chunks in
// parallel, aggregate the hashes through a channel, with at most L files open at once. It runs
// the same job twice, on weft and as a std::thread program with a mutex-protected queue, checks
// that both produce the same digest, and prints the wall time of each.
//
//     $ ./pipeline                      # 64 files of 1 MiB in a temporary directory
//     $ ./pipeline -n 200 -s 4194304 -l 8 -c 65536 -r 4
//     pipeline files=64 size=1048576 chunk=65536 limit=16 rounds=4 workers=2
//     weft:    wall_ms=41.2 digest=9a0f...
//     threads: wall_ms=47.9 digest=9a0f...
//
// The weft version, step by step:
//   1. weft::for_each over the file names with a limit of L: at most L file tasks at once, each
//      opening its file with weft::io::file (io_uring reads, or the blocking pool under epoll).
//   2. A file task reads chunk after chunk; each chunk is handed to its own hashing task
//      (weft::spawn), so the CPU work of one file spreads over every worker while the file task
//      already reads the next chunk. The file task joins its hashing tasks before it closes.
//   3. Each hashing task sends (file, chunk, hash) into a bounded channel; one aggregator task
//      folds them into the digest, in whatever order they come (the fold is order-independent).
//   4. After for_each returns, the channel is closed; the aggregator drains it and ends.
// The thread version does the same with a reader thread (pread, L files open at a time),
// a std::mutex + std::condition_variable queue of chunks (bounded, like the channel) and one
// hashing thread per worker that folds into the digest under a second mutex.
//
// -r repeats the hash over each chunk (CPU work per byte); workers come from WEFT_WORKERS (the
// thread version uses as many threads). Exit status 0 only when the two digests agree.

#include <weft/io.hpp>
#include <weft/runtime.hpp>
#include <weft/sync.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace {

struct options {
    std::size_t files = 64;
    std::size_t size = 1 << 20;
    std::size_t chunk = 64 << 10;
    std::size_t limit = 16;
    unsigned rounds = 4;
    std::size_t workers = 0; // 0: WEFT_WORKERS or one per core
};

/// FNV-1a over the chunk, `rounds` times (each round seeded by the last): the CPU work.
std::uint64_t hash_chunk(const std::byte* p, std::size_t n, unsigned rounds) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned r = 0; r < rounds; ++r) {
        for (std::size_t i = 0; i < n; ++i) {
            h = (h ^ static_cast<std::uint64_t>(p[i])) * 0x100000001b3ull;
        }
        h ^= r;
    }
    return h;
}

/// Order-independent fold: each (file, chunk, hash) is mixed, then added.
std::uint64_t mix(std::uint64_t file, std::uint64_t chunk, std::uint64_t h) {
    std::uint64_t x = h ^ (file * 0x9e3779b97f4a7c15ull) ^ (chunk * 0xc2b2ae3d27d4eb4full);
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 29;
    return x;
}

struct piece {
    std::uint64_t file;
    std::uint64_t chunk;
    std::uint64_t hash;
};

// --- weft ----------------------------------------------------------------------------------------

weft::task<> hash_and_send(
    std::vector<std::byte> buf,
    std::uint64_t file,
    std::uint64_t chunk,
    unsigned rounds,
    weft::sync::channel<piece>& out) {
    const std::uint64_t h = hash_chunk(buf.data(), buf.size(), rounds);
    (void)co_await out.send(piece{file, chunk, h}); // fails only if closed: never before we end
}

weft::task<weft::result<void>> one_file(
    const std::pair<std::uint64_t, std::string>& item,
    const options& o,
    weft::sync::channel<piece>& out) {
    auto f = co_await weft::io::file::open(item.second, O_RDONLY);
    if (!f) {
        co_return f.error();
    }
    weft::scope hashing;
    weft::result<void> status;
    for (std::uint64_t c = 0;; ++c) {
        std::vector<std::byte> buf(o.chunk);
        auto n = co_await f->read_at(buf, c * o.chunk);
        if (!n) {
            status = n.error();
            break;
        }
        if (*n == 0) {
            break;
        }
        buf.resize(*n);
        hashing.spawn(hash_and_send, std::move(buf), item.first, c, o.rounds, std::ref(out));
    }
    co_await hashing.join();
    co_return status;
}

weft::task<weft::result<std::uint64_t>>
run_weft(const std::vector<std::pair<std::uint64_t, std::string>>& files, const options& o) {
    weft::sync::channel<piece> pieces(256);
    auto aggregator = weft::spawn(
        [](weft::sync::channel<piece>& in) -> weft::task<std::uint64_t> {
            std::uint64_t digest = 0;
            while (auto p = co_await in.recv()) {
                digest += mix(p->file, p->chunk, p->hash);
            }
            co_return digest;
        },
        std::ref(pieces));
    auto r = co_await weft::for_each(
        files, o.limit, [&](const auto& item) { return one_file(item, o, pieces); });
    pieces.close();
    const std::uint64_t digest = co_await aggregator;
    if (!r) {
        co_return r.error();
    }
    co_return digest;
}

// --- std::thread
// -----------------------------------------------------------------------------------

struct job {
    std::vector<std::byte> buf;
    std::uint64_t file;
    std::uint64_t chunk;
};

/// A bounded queue of chunks: the std::mutex + std::condition_variable counterpart of the channel.
class job_queue {
public:
    explicit job_queue(std::size_t cap)
        : cap_(cap) {}
    void push(job j) {
        std::unique_lock lk(mu_);
        not_full_.wait(lk, [&] { return q_.size() < cap_; });
        q_.push_back(std::move(j));
        not_empty_.notify_one();
    }
    std::optional<job> pop() {
        std::unique_lock lk(mu_);
        not_empty_.wait(lk, [&] { return !q_.empty() || closed_; });
        if (q_.empty()) {
            return std::nullopt;
        }
        job j = std::move(q_.front());
        q_.pop_front();
        not_full_.notify_one();
        return j;
    }
    void close() {
        std::lock_guard lk(mu_);
        closed_ = true;
        not_empty_.notify_all();
    }

private:
    std::mutex mu_;
    std::condition_variable not_empty_;
    std::condition_variable not_full_;
    std::deque<job> q_;
    std::size_t cap_;
    bool closed_ = false;
};

std::optional<std::uint64_t> run_threads(
    const std::vector<std::pair<std::uint64_t, std::string>>& files,
    const options& o,
    std::size_t threads) {
    job_queue q(256);
    std::mutex digest_mu;
    std::uint64_t digest = 0;
    std::vector<std::thread> hashers;
    for (std::size_t i = 0; i < threads; ++i) {
        hashers.emplace_back([&] {
            while (auto j = q.pop()) {
                const std::uint64_t h = hash_chunk(j->buf.data(), j->buf.size(), o.rounds);
                std::lock_guard lk(digest_mu);
                digest += mix(j->file, j->chunk, h);
            }
        });
    }
    bool ok = true;
    // The reader: up to `limit` files open at once, read round-robin a chunk at a time.
    std::size_t next = 0;
    std::vector<std::pair<int, std::uint64_t>> open; // (fd, file id)
    std::vector<std::uint64_t> offsets;
    while (ok && (next < files.size() || !open.empty())) {
        while (open.size() < o.limit && next < files.size()) {
            const int fd = ::open(files[next].second.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                ok = false;
                break;
            }
            open.emplace_back(fd, files[next].first);
            offsets.push_back(0);
            ++next;
        }
        for (std::size_t i = 0; i < open.size();) {
            std::vector<std::byte> buf(o.chunk);
            const ssize_t n =
                ::pread(open[i].first, buf.data(), buf.size(), static_cast<off_t>(offsets[i]));
            if (n <= 0) {
                ok = ok && n == 0;
                ::close(open[i].first);
                open.erase(open.begin() + static_cast<std::ptrdiff_t>(i));
                offsets.erase(offsets.begin() + static_cast<std::ptrdiff_t>(i));
                continue;
            }
            buf.resize(static_cast<std::size_t>(n));
            q.push(job{std::move(buf), open[i].second, offsets[i] / o.chunk});
            offsets[i] += static_cast<std::uint64_t>(n);
            ++i;
        }
    }
    q.close();
    for (auto& t : hashers) {
        t.join();
    }
    if (!ok) {
        return std::nullopt;
    }
    return digest;
}

// --- setup
// -----------------------------------------------------------------------------------------

bool parse(const char* s, std::size_t& v) {
    const char* end = s + std::strlen(s);
    auto [p, ec] = std::from_chars(s, end, v);
    return ec == std::errc{} && p == end && p != s;
}

std::vector<std::pair<std::uint64_t, std::string>>
make_files(const std::string& dir, const options& o) {
    std::vector<std::pair<std::uint64_t, std::string>> files;
    std::vector<char> data(o.size);
    std::uint64_t x = 0x243f6a8885a308d3ull;
    for (std::size_t i = 0; i < o.files; ++i) {
        for (auto& c : data) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            c = static_cast<char>(x);
        }
        std::string path = dir + "/f" + std::to_string(i);
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || ::write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size())) {
            std::fprintf(stderr, "pipeline: cannot write %s\n", path.c_str());
            std::exit(1);
        }
        ::close(fd);
        files.emplace_back(i, std::move(path));
    }
    return files;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace

int main(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; i += 2) {
        const std::string_view a = argv[i];
        std::size_t v = 0;
        if (i + 1 >= argc || !parse(argv[i + 1], v) || v == 0) {
            std::fprintf(
                stderr,
                "usage: pipeline [-n files] [-s size] [-c chunk] [-l limit] "
                "[-r rounds] [-w workers]   (all > 0)\n");
            return 2;
        }
        if (a == "-n") {
            o.files = v;
        } else if (a == "-s") {
            o.size = v;
        } else if (a == "-c") {
            o.chunk = v;
        } else if (a == "-l") {
            o.limit = v;
        } else if (a == "-r") {
            o.rounds = static_cast<unsigned>(v);
        } else if (a == "-w") {
            o.workers = v;
        } else {
            std::fprintf(stderr, "pipeline: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    char tmpl[] = "/tmp/weft-pipeline-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
        std::perror("pipeline: mkdtemp");
        return 1;
    }
    const std::string dir = tmpl;
    const auto files = make_files(dir, o);

    weft::runtime_options ro;
    ro.workers = o.workers;
    weft::runtime rt(std::move(ro));
    const std::size_t workers = rt.workers();
    std::printf(
        "pipeline files=%zu size=%zu chunk=%zu limit=%zu rounds=%u workers=%zu\n",
        o.files,
        o.size,
        o.chunk,
        o.limit,
        o.rounds,
        workers);

    auto t0 = std::chrono::steady_clock::now();
    const auto w = rt.block_on(run_weft(files, o));
    const double weft_ms = ms_since(t0);
    t0 = std::chrono::steady_clock::now();
    const auto t = run_threads(files, o, workers);
    const double threads_ms = ms_since(t0);
    std::filesystem::remove_all(dir);

    if (!w || !t) {
        std::fprintf(
            stderr,
            "pipeline: a file could not be read%s%s\n",
            w ? "" : ": ",
            w ? "" : w.error().message().c_str());
        return 1;
    }
    std::printf(
        "weft:    wall_ms=%.1f digest=%016llx\n", weft_ms, static_cast<unsigned long long>(*w));
    std::printf(
        "threads: wall_ms=%.1f digest=%016llx\n", threads_ms, static_cast<unsigned long long>(*t));
    if (*w != *t) {
        std::fprintf(stderr, "pipeline: the digests differ\n");
        return 1;
    }
    return 0;
}

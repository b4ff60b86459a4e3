// Helpers for weft::io's tests: the io_uring-or-skip prologue, a runtime to run a test body on,
// descriptor counting, byte patterns, and raw loopback sockets for the peer side of a test.
//
// Every test case starts with WEFT_IO_TEST_PROLOGUE(): under WEFT_IO_BACKEND=io_uring (the io_uring
// registration of each test), it exits 77 (CTest: skipped) when this process cannot set up a ring.
#pragma once

#include <weft/io.hpp>
#include <weft/runtime.hpp>

#include "weft_test.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <dirent.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace weft::io::testing {

/// Exits 77 when io_uring was asked for (WEFT_IO_BACKEND=io_uring, or unset) and is unavailable.
inline void prologue() {
    const char* env = std::getenv("WEFT_IO_BACKEND");
    std::string_view want = env != nullptr ? env : "";
    if (want != "epoll" && !weft::io::io_uring_available()) {
        std::fprintf(stderr, "weft io test: io_uring unavailable here; skipping (exit 77)\n");
        std::exit(77);
    }
}

#define WEFT_IO_TEST_PROLOGUE() ::weft::io::testing::prologue()

/// Runs `body` (a callable returning a task) on a fresh runtime with `workers` workers.
template <class F>
auto run(F&& body, std::size_t workers = weft::testing::test_workers(2)) {
    weft::runtime_options o;
    o.workers = workers;
    return weft::run(std::forward<F>(body), std::move(o));
}

/// Number of open descriptors of this process, pipes excepted (/proc/self/fd, minus the
/// directory's own). Pipes are left out because ThreadSanitizer starts an external symbolizer
/// (llvm-symbolizer) during the run and keeps a pipe pair to it open; weft::io creates none.
inline int open_fds() {
    int n = 0;
    DIR* d = ::opendir("/proc/self/fd");
    if (d == nullptr) {
        return -1;
    }
    const int self = ::dirfd(d);
    while (dirent* e = ::readdir(d)) {
        if (e->d_name[0] == '.' || std::atoi(e->d_name) == self) {
            continue;
        }
        char link[64] = {};
        std::string path = std::string("/proc/self/fd/") + e->d_name;
        ssize_t len = ::readlink(path.c_str(), link, sizeof link - 1);
        if (len > 0 &&
            std::string_view(link, static_cast<std::size_t>(len)).substr(0, 5) == "pipe:") {
            continue;
        }
        ++n;
    }
    ::closedir(d);
    return n;
}

/// The RLIMIT_NOFILE soft limit that leaves exactly `room` descriptor numbers free (the limit
/// bounds numbers, not counts: holes below the highest open descriptor are free slots too).
inline rlim_t nofile_limit_leaving(int room) {
    std::vector<int> fds;
    DIR* d = ::opendir("/proc/self/fd");
    REQUIRE(d != nullptr);
    const int self = ::dirfd(d);
    while (dirent* e = ::readdir(d)) {
        if (e->d_name[0] >= '0' && e->d_name[0] <= '9') {
            int n = std::atoi(e->d_name);
            if (n != self) {
                fds.push_back(n);
            }
        }
    }
    ::closedir(d);
    std::sort(fds.begin(), fds.end());
    std::size_t idx = 0;
    int free_slots = 0;
    for (int n = 0;; ++n) {
        if (idx < fds.size() && fds[idx] == n) {
            ++idx;
            continue;
        }
        if (free_slots == room) {
            return static_cast<rlim_t>(n);
        }
        ++free_slots;
    }
}

/// Byte streams the reader can check cheaply (memcpy/memcmp against a 64 KiB table, so that a
/// 64 MB transfer costs little even under the sanitizers). Stream `seed` at position i is
/// table[(seed * 7919 + i) % 65536].
inline const std::byte* pattern_table() {
    static const std::vector<std::byte> table = [] {
        std::vector<std::byte> t(65536);
        std::uint64_t x = 0x243F6A8885A308D3ull;
        for (auto& b : t) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b = static_cast<std::byte>(x >> 56);
        }
        return t;
    }();
    return table.data();
}

inline std::byte pattern(std::uint64_t seed, std::uint64_t i) {
    return pattern_table()[(seed * 7919 + i) % 65536];
}

inline void fill_pattern(std::span<std::byte> b, std::uint64_t seed, std::uint64_t start) {
    std::size_t done = 0;
    while (done < b.size()) {
        std::size_t pos = (seed * 7919 + start + done) % 65536;
        std::size_t n = std::min(b.size() - done, std::size_t{65536} - pos);
        std::memcpy(b.data() + done, pattern_table() + pos, n);
        done += n;
    }
}

inline bool check_pattern(std::span<const std::byte> b, std::uint64_t seed, std::uint64_t start) {
    std::size_t done = 0;
    while (done < b.size()) {
        std::size_t pos = (seed * 7919 + start + done) % 65536;
        std::size_t n = std::min(b.size() - done, std::size_t{65536} - pos);
        if (std::memcmp(b.data() + done, pattern_table() + pos, n) != 0) {
            return false;
        }
        done += n;
    }
    return true;
}

inline std::span<const std::byte> bytes_of(std::string_view s) {
    return std::as_bytes(std::span(s.data(), s.size()));
}

inline std::string_view text_of(std::span<const std::byte> b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

/// A listener on 127.0.0.1 with an ephemeral port, and its address.
inline std::pair<weft::io::tcp_listener, weft::io::address>
loopback_listener(weft::io::listen_options o = {}) {
    auto l = weft::io::tcp_listener::bind("127.0.0.1:0", o);
    REQUIRE(l);
    auto a = l->local_address();
    REQUIRE(a);
    return {std::move(*l), *a};
}

} // namespace weft::io::testing

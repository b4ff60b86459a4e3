// loadgen: a closed-loop load generator for echo servers, built on weft.
//
//     $ ./loadgen -c 50 -s 64 -d 5 127.0.0.1:7000
//     loadgen mode=echo addr=127.0.0.1:7000 conns=50 size=64 workers=2 warmup_s=1.000
//       duration_s=5.000 requests=612345 errors=0 rps=122469.0 p50_us=398.2 p90_us=452.0
//       p99_us=610.3 p999_us=901.7 max_us=2048.5                        (one line, wrapped here)
//
// Closed loop: each of the C connections sends one message, waits until all of it has come back,
// then sends the next. The request rate is therefore what the server sustains with C requests in
// flight, and the latency is what each of them waited.
//
// Timeline: connect the C connections one after the other (a burst of C connects at once could
// overflow a small listen backlog and stall in SYN retries), run -w seconds of warm-up (answered
// but not counted), then measure for -d seconds. A request counts when it started inside the
// measured window; its latency runs from just before its write to the last byte of its echo;
// rps = counted requests / window. Every echo is checked byte for byte. Latencies go into one
// weft::histogram shared by every connection: percentiles to within 1%, max exact.
//
// A connection that fails, receives a wrong echo, or hangs 10 s past the end (its read and write
// deadlines) stops and is counted in errors=; the first error is printed on stderr.
// Exit status: 0 when requests were measured, 1 when none were, 2 on bad usage.
//
// Options: -c connections (50), -s message bytes (64), -d seconds measured (5), -w warm-up seconds
// (1), -t worker threads (default: WEFT_WORKERS, else one per core), -m mode (echo: the only one).
// A connection writes its whole message before it reads the echo, so a message must fit in the
// sockets' buffers (a few hundred KB on loopback), or client and server would both wait to write.

#include <weft/io.hpp>
#include <weft/runtime.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

struct options {
    std::string mode = "echo";
    std::string addr;
    std::size_t conns = 50;
    std::size_t size = 64;
    double duration_s = 5;
    double warmup_s = 1;
    std::size_t workers = 0; // 0: the runtime's default
};

/// What one connection measured.
struct conn_stats {
    std::string error; // empty: none
};

// One connection's closed loop: until `stop`, send a message, read its echo, check it.
weft::task<conn_stats> drive(
    weft::io::tcp_stream conn,
    weft::histogram& latency,
    std::size_t size,
    weft::clock::time_point start,
    weft::clock::time_point stop) {
    conn_stats st;
    std::vector<char> msg(size);
    std::vector<char> echo(size);
    for (std::size_t i = 0; i < size; ++i) {
        msg[i] = static_cast<char>('a' + i % 26);
    }
    // A server that stops answering must not hang the run: every op fails after this.
    conn.set_deadline(stop + 10s);

    for (std::uint64_t seq = 0;; ++seq) {
        const auto t0 = weft::clock::now();
        if (t0 >= stop) {
            break;
        }
        // A different prefix each time, so that a stale or misplaced echo does not match.
        std::memcpy(msg.data(), &seq, std::min(size, sizeof seq));
        if (auto w = co_await conn.write_all(std::string_view(msg.data(), size)); !w) {
            st.error = "write: " + w.error().message();
            break;
        }
        if (auto r = co_await conn.read_exact(std::span(echo)); !r) {
            st.error = "read: " + r.error().message();
            break;
        }
        const auto t1 = weft::clock::now();
        if (std::memcmp(msg.data(), echo.data(), size) != 0) {
            st.error = "the echo differs from the message sent";
            break;
        }
        if (t0 >= start) {
            latency.record(t1 - t0); // one histogram for every connection: lock-free
        }
    }
    co_return st;
}

/// The p-th percentile of `h` in microseconds (to within 1%, weft::histogram's precision).
double percentile_us(const weft::histogram& h, double p) {
    return static_cast<double>(h.percentile(p)) / 1e3;
}

weft::task<int> run_load(options o) {
    auto addr = weft::io::address::parse(o.addr);
    if (!addr) {
        std::fprintf(
            stderr, "loadgen: bad address '%s' (want a numeric host:port)\n", o.addr.c_str());
        co_return 2;
    }

    // 1. Connect, one at a time.
    std::vector<weft::io::tcp_stream> conns;
    conns.reserve(o.conns);
    for (std::size_t i = 0; i < o.conns; ++i) {
        auto c = co_await weft::io::tcp_stream::connect(*addr, 5s);
        if (!c) {
            std::fprintf(
                stderr,
                "loadgen: connection %zu to %s: %s\n",
                i,
                o.addr.c_str(),
                c.error().message().c_str());
            co_return 1;
        }
        (void)c->set_nodelay(true);
        conns.push_back(std::move(*c));
    }

    // 2. Run every connection's loop concurrently: warm-up, then the measured window.
    const auto window = std::chrono::duration_cast<weft::clock::duration>(
        std::chrono::duration<double>(o.duration_s));
    const auto start = weft::clock::now() + std::chrono::duration_cast<weft::clock::duration>(
                                                std::chrono::duration<double>(o.warmup_s));
    const auto stop = start + window;
    weft::histogram latency;
    std::vector<weft::task<conn_stats>> loops;
    loops.reserve(conns.size());
    for (auto& c : conns) {
        loops.push_back(drive(std::move(c), latency, o.size, start, stop));
    }
    std::vector<conn_stats> stats = co_await weft::when_all(std::move(loops));

    // 3. Merge and report.
    std::size_t errors = 0;
    for (auto& s : stats) {
        if (!s.error.empty()) {
            if (errors++ == 0) {
                std::fprintf(stderr, "loadgen: %s\n", s.error.c_str());
            }
        }
    }
    const double secs = std::chrono::duration<double>(window).count();
    std::printf(
        "loadgen mode=%s addr=%s conns=%zu size=%zu workers=%zu warmup_s=%.3f "
        "duration_s=%.3f requests=%zu errors=%zu rps=%.1f p50_us=%.1f p90_us=%.1f "
        "p99_us=%.1f p999_us=%.1f max_us=%.1f\n",
        o.mode.c_str(),
        o.addr.c_str(),
        o.conns,
        o.size,
        weft::current_workers(),
        o.warmup_s,
        secs,
        static_cast<std::size_t>(latency.count()),
        errors,
        static_cast<double>(latency.count()) / secs,
        percentile_us(latency, 50),
        percentile_us(latency, 90),
        percentile_us(latency, 99),
        percentile_us(latency, 99.9),
        static_cast<double>(latency.max()) / 1e3);
    std::fflush(stdout);
    co_return latency.count() == 0 ? 1 : 0;
}

[[noreturn]] void usage() {
    std::fputs(
        "usage: loadgen [-m echo] [-c conns] [-s bytes] [-d seconds] [-w seconds] "
        "[-t workers] host:port\n",
        stderr);
    std::exit(2);
}

std::optional<double> parse_number(const char* s, double min) {
    char* end = nullptr;
    const double v = std::strtod(s, &end);
    if (end == s || *end != '\0' || !std::isfinite(v) || v < min) {
        return std::nullopt;
    }
    return v;
}

options parse_args(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a.size() != 2 || a[0] != '-') {
            if (!o.addr.empty()) {
                usage();
            }
            o.addr = a;
            continue;
        }
        if (i + 1 >= argc) {
            usage();
        }
        const char* v = argv[++i];
        std::optional<double> n;
        switch (a[1]) {
        case 'm':
            o.mode = v;
            if (o.mode != "echo") {
                std::fprintf(stderr, "loadgen: unknown mode '%s' (known: echo)\n", v);
                usage();
            }
            continue;
        case 'c':
            n = parse_number(v, 1);
            o.conns = n ? static_cast<std::size_t>(*n) : 0;
            break;
        case 's':
            n = parse_number(v, 1);
            o.size = n ? static_cast<std::size_t>(*n) : 0;
            break;
        case 'd':
            n = parse_number(v, 0.001);
            o.duration_s = n.value_or(0);
            break;
        case 'w':
            n = parse_number(v, 0);
            o.warmup_s = n.value_or(0);
            break;
        case 't':
            n = parse_number(v, 1);
            o.workers = n ? static_cast<std::size_t>(*n) : 0;
            break;
        default:
            usage();
        }
        if (!n) {
            std::fprintf(stderr, "loadgen: bad value '%s' for %s\n", v, argv[i - 1]);
            usage();
        }
    }
    if (o.addr.empty()) {
        usage();
    }
    return o;
}

} // namespace

int main(int argc, char** argv) {
    options o = parse_args(argc, argv);
    weft::runtime_options ro;
    ro.workers = o.workers;
    return weft::run(run_load(std::move(o)), std::move(ro));
}

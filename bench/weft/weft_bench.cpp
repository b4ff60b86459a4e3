// weft_bench: weft's scheduler/sync/io benchmarks, the twin of bench/twins/workloads/go/main.go and
// bench/twins/workloads/tokio/src/main.rs.
//
// Usage: weft_bench <name> [key=value ...] [workers=N]
//        weft_bench list
//
// Each run prints exactly one line:
//
//     <name> key=value ... workers=N seconds=S ops_per_sec=O ns_per_op=N [result=R]
//
// (weft-only workloads may add fields of their own, e.g. sleep_memory's rss_mb_delta=...).
// workers=N sets runtime_options::workers (default: WEFT_WORKERS, else the number of hardware
// threads; the line shows the count the runtime really used). Timing is wall clock, taken inside
// the workload, which runs as the runtime's main task, i.e. after the runtime has started. The
// program exits 2 on an unknown workload or key or a bad value, and 1 on a wrong result or another
// failure. `list` prints the workload names, one a line. Workloads live in
// bench/weft/*_workloads.cpp (see bench_support.hpp). WEFT_BENCH_METRICS=1 prints the runtime's
// metrics (per worker: tasks run, steals, parks...) to stderr after the workload.

#include <weft/runtime.hpp>

#include "bench_support.hpp"

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using weft::bench::measurement;
using weft::bench::params;
using weft::bench::workload;

void usage() {
    std::fputs(
        "usage: weft_bench <name> [key=value ...] [workers=N]\n"
        "       weft_bench list\n",
        stderr);
    for (const workload* w : weft::bench::sorted_workloads()) {
        std::string keys;
        for (const auto& p : w->parameters) {
            keys += ' ';
            keys += p.key;
            keys += '=';
            keys += std::to_string(p.def);
        }
        std::fprintf(stderr, "  %-16s%s\n", w->name, keys.c_str());
    }
}

[[noreturn]] void fail(int code, const std::string& msg) {
    std::fprintf(stderr, "weft_bench: %s\n", msg.c_str());
    std::exit(code);
}

bool parse_int(std::string_view s, std::int64_t& out) {
    if (s.empty()) {
        return false;
    }
    std::string str(s);
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(str.c_str(), &end, 10);
    if (errno != 0 || end != str.c_str() + str.size() || str[0] == ' ' || str[0] == '\t') {
        return false;
    }
    out = static_cast<std::int64_t>(v);
    return true;
}

weft::task<measurement> main_task(const workload* w, params p, std::size_t* workers_used) {
    *workers_used = weft::current_workers();
    measurement m = co_await w->fn(std::move(p));
    const char* env = std::getenv("WEFT_BENCH_METRICS");
    if (env != nullptr && std::string_view(env) != "" && std::string_view(env) != "0") {
        std::cerr << weft::current_metrics();
    }
    co_return m;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2 || std::string_view(argv[1]) == "-h" || std::string_view(argv[1]) == "--help") {
        usage();
        return 2;
    }
    const std::string_view name = argv[1];
    if (name == "list") {
        for (const workload* w : weft::bench::sorted_workloads()) {
            std::printf("%s\n", w->name);
        }
        return 0;
    }
    const workload* w = weft::bench::find_workload(name);
    if (w == nullptr) {
        usage();
        fail(2, "unknown workload \"" + std::string(name) + "\"");
    }

    params::values_type values;
    for (const auto& p : w->parameters) {
        values.emplace_back(p.key, p.def);
    }
    std::size_t workers = 0; // 0: the runtime's default (WEFT_WORKERS, else hardware threads)
    for (int i = 2; i < argc; ++i) {
        const std::string_view arg = argv[i];
        const auto eq = arg.find('=');
        if (eq == std::string_view::npos) {
            fail(2, "argument \"" + std::string(arg) + "\" is not key=value");
        }
        const std::string key(arg.substr(0, eq));
        const std::string_view text = arg.substr(eq + 1);
        std::int64_t v = 0;
        if (!parse_int(text, v)) {
            fail(2, key + ": value \"" + std::string(text) + "\" is not an integer");
        }
        if (key == "workers") {
            if (v < 1 || v > 4096) {
                fail(2, "workers must be in 1..4096");
            }
            workers = static_cast<std::size_t>(v);
            continue;
        }
        bool known = false;
        for (std::size_t k = 0; k < w->parameters.size(); ++k) {
            if (key == w->parameters[k].key) {
                known = true;
                if (v < w->parameters[k].min) {
                    fail(
                        2,
                        std::string(name) + ": " + key +
                            " must be >= " + std::to_string(w->parameters[k].min));
                }
                values[k].second = v;
            }
        }
        if (!known) {
            fail(2, std::string(name) + ": unknown key \"" + key + "\"");
        }
    }

    params p(values);
    measurement m;
    std::size_t workers_used = 0;
    try {
        weft::runtime_options opts;
        opts.workers = workers;
        m = weft::run(main_task(w, p, &workers_used), std::move(opts));
    } catch (const std::exception& e) {
        fail(1, e.what());
    } catch (...) {
        fail(1, "unknown exception");
    }
    if (m.ops <= 0) {
        fail(1, std::string(name) + ": the workload reported no operations");
    }

    std::string line(name);
    for (const auto& [k, v] : p.values()) {
        line += ' ' + k + '=' + std::to_string(v);
    }
    const double secs = static_cast<double>(m.elapsed.count()) / 1e9;
    char buf[256];
    std::snprintf(
        buf,
        sizeof buf,
        " workers=%zu seconds=%.6f ops_per_sec=%.0f ns_per_op=%.2f",
        workers_used,
        secs,
        static_cast<double>(m.ops) / secs,
        static_cast<double>(m.elapsed.count()) / static_cast<double>(m.ops));
    line += buf;
    for (const auto& [k, v] : m.extra) {
        line += ' ' + k + '=' + v;
    }
    if (m.result) {
        line += " result=" + std::to_string(*m.result);
    }
    std::printf("%s\n", line.c_str());
    return 0;
}

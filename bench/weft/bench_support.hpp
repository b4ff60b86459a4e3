// The workload registry and helpers of weft_bench (bench/weft/weft_bench.cpp).
//
// A workload is a coroutine that runs as the program's main task, inside a started runtime, and
// measures itself:
//
//     weft::task<weft::bench::measurement> bench_spawn_join(weft::bench::params p) {
//         const std::int64_t n = p["n"];
//         weft::bench::stopwatch sw;                       // starts now
//         ... spawn, join ...
//         co_return weft::bench::measurement{sw.elapsed(), n, sum};  // elapsed, ops, result
//     }
//     WEFT_BENCH_WORKLOAD(spawn_join, bench_spawn_join, {"n", 1000000, 1});
//
// The macro registers the workload under its name with its parameters, each {key, default,
// smallest legal value}; `weft_bench spawn_join n=10 workers=2` then runs it. Every
// bench/weft/*_workloads.cpp is compiled into the weft_bench executable itself
// (bench/CMakeLists.txt), never into a static library, so that the linker keeps the static
// registrars.
//
// The output line, the argument rules and the exit codes are those of the Go and Tokio twins
// (bench/twins/workloads/go/main.go, bench/twins/workloads/tokio/src/main.rs): keep the names,
// keys, defaults and ops counting in step with them, so that bench/drivers/compare.py compares like
// with like.
//
// A workload reports a wrong result, or any other failure, by throwing (check() does): weft_bench
// then prints the message and exits 1.
#pragma once

#include <weft/runtime.hpp>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weft::bench {

/// One workload parameter: its key, default and smallest legal value.
struct param {
    const char* key;
    std::int64_t def;
    std::int64_t min;
};

/// The parameter values of one run (defaults, overridden by key=value arguments).
class params {
public:
    using values_type = std::vector<std::pair<std::string, std::int64_t>>;

    params() = default;
    explicit params(values_type values)
        : values_(std::move(values)) {}

    /// The value of `key`; throws std::logic_error for a key the workload did not declare.
    std::int64_t operator[](std::string_view key) const;

    /// key=value pairs in declaration order.
    const values_type& values() const noexcept { return values_; }

private:
    values_type values_;
};

/// What a workload reports back: the timed span, how many operations it covered, and optionally a
/// result that the twins print too (it must be the same in all three programs) and extra
/// key=value fields for the line (weft-only workloads, e.g. rss_mb_delta).
struct measurement {
    std::chrono::nanoseconds elapsed{0};
    std::int64_t ops = 0;
    std::optional<std::int64_t> result;
    std::vector<std::pair<std::string, std::string>> extra;
};

/// A workload: runs as the main task of a runtime with the requested workers.
using workload_fn = weft::task<measurement> (*)(params);

struct workload {
    const char* name;
    std::vector<param> parameters;
    workload_fn fn;
};

/// Every registered workload, in registration order (use sorted_workloads() to list them).
std::vector<workload>& registry();

/// The registered workloads sorted by name.
std::vector<const workload*> sorted_workloads();

/// The workload called `name`, or nullptr.
const workload* find_workload(std::string_view name);

/// Registers a workload at static-initialisation time; see WEFT_BENCH_WORKLOAD.
struct registrar {
    registrar(const char* name, workload_fn fn, std::initializer_list<param> ps);
};

/// Wall-clock timer, started on construction (std::chrono::steady_clock, as the twins' clocks).
class stopwatch {
public:
    stopwatch() noexcept
        : start_(std::chrono::steady_clock::now()) {}
    void restart() noexcept { start_ = std::chrono::steady_clock::now(); }
    std::chrono::nanoseconds elapsed() const noexcept {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
            std::chrono::steady_clock::now() - start_);
    }

private:
    std::chrono::steady_clock::time_point start_;
};

/// Thrown by workloads on a wrong result or another failure; weft_bench exits 1 with the message.
class bench_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Throws bench_error("wrong result for <what>: got G, want W") unless got == want (the twins'
/// message).
void check(const char* what, std::int64_t got, std::int64_t want);

/// Resident set size of this process (VmRSS in /proc/self/status), in bytes; 0 if unknown.
std::uint64_t rss_bytes();

/// Half-open range [lo, hi) of 0..total owned by part i of parts (as the twins' split()).
std::pair<std::int64_t, std::int64_t>
split(std::int64_t total, std::int64_t parts, std::int64_t i) noexcept;

} // namespace weft::bench

#define WEFT_BENCH_CONCAT_IMPL(a, b) a##b
#define WEFT_BENCH_CONCAT(a, b) WEFT_BENCH_CONCAT_IMPL(a, b)

/// WEFT_BENCH_WORKLOAD(name, fn, {"key", default, min}, ...): registers workload `name` (an
/// identifier; it is also the command-line name) run by `fn` (a workload_fn), with its parameters
/// in the order they are printed. Use at namespace scope in a bench/weft/*_workloads.cpp file.
// clang-format off
#define WEFT_BENCH_WORKLOAD(name, fn, ...)                                                         \
    static const ::weft::bench::registrar WEFT_BENCH_CONCAT(weft_bench_registrar_, name){          \
        #name, (fn), {__VA_ARGS__}}
// clang-format on

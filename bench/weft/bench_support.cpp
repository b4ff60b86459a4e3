// The workload registry and helpers of weft_bench; see bench_support.hpp.

#include "bench_support.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace weft::bench {

std::int64_t params::operator[](std::string_view key) const {
    for (const auto& [k, v] : values_) {
        if (k == key) {
            return v;
        }
    }
    throw std::logic_error(
        "weft_bench: the workload asked for undeclared parameter '" + std::string(key) + "'");
}

std::vector<workload>& registry() {
    // Function-local: registrars in other translation units may run before any global here.
    static std::vector<workload> all;
    return all;
}

std::vector<const workload*> sorted_workloads() {
    std::vector<const workload*> out;
    for (const workload& w : registry()) {
        out.push_back(&w);
    }
    std::sort(out.begin(), out.end(), [](const workload* a, const workload* b) {
        return std::strcmp(a->name, b->name) < 0;
    });
    return out;
}

const workload* find_workload(std::string_view name) {
    for (const workload& w : registry()) {
        if (name == w.name) {
            return &w;
        }
    }
    return nullptr;
}

registrar::registrar(const char* name, workload_fn fn, std::initializer_list<param> ps) {
    if (find_workload(name) != nullptr) {
        std::fprintf(stderr, "weft_bench: workload '%s' is registered twice\n", name);
        std::abort();
    }
    registry().push_back(workload{name, std::vector<param>(ps), fn});
}

void check(const char* what, std::int64_t got, std::int64_t want) {
    if (got != want) {
        throw bench_error(
            "wrong result for " + std::string(what) + ": got " + std::to_string(got) + ", want " +
            std::to_string(want));
    }
}

std::uint64_t rss_bytes() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) {
            // "VmRSS:     12345 kB"
            return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
        }
    }
    return 0;
}

std::pair<std::int64_t, std::int64_t>
split(std::int64_t total, std::int64_t parts, std::int64_t i) noexcept {
    const std::int64_t base = total / parts;
    const std::int64_t rem = total % parts;
    const std::int64_t lo = i * base + std::min(i, rem);
    return {lo, lo + base + (i < rem ? 1 : 0)};
}

} // namespace weft::bench

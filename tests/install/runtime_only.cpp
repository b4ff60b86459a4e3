// The runtime component alone: find_package(weft) + weft::runtime + <weft/runtime.hpp>.
#include <weft/runtime.hpp>

#include <cstdio>
#include <utility>

int main() {
    weft::runtime_options opts;
    opts.workers = 1;
    weft::runtime rt(std::move(opts));
    int v = rt.block_on([]() -> weft::task<int> {
        co_await weft::yield_now();
        co_return co_await weft::spawn_blocking([] { return 42; });
    }());
    std::printf("weft_install_runtime_test: %s\n", v == 42 ? "ok" : "FAILED");
    return v == 42 ? 0 : 1;
}

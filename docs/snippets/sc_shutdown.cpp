// Detached tasks and shutdown: a detached task's exception goes to on_detached_exception; when
// run's main task returns, the sleeps of the tasks still alive complete with operation_canceled.
#include <weft/weft.hpp>

#include <atomic>
#include <stdexcept>
#include <string_view>
#include <system_error>

using namespace std::chrono_literals;

weft::task<> doomed() {
    throw std::runtime_error("nobody joins me");
    co_return;
}

weft::task<> sleeper(std::error_code& seen) {
    auto r = co_await weft::sleep_for(1h);
    seen = r.error();
}

int main() {
    std::atomic<int> reported{0};
    std::error_code seen;
    weft::runtime_options opts;
    opts.on_detached_exception = [&](const char* name, std::exception_ptr) {
        if (name != nullptr && std::string_view(name) == "doomed") {
            reported.fetch_add(1);
        }
    };
    weft::run(
        [&]() -> weft::task<> {
            weft::go(doomed(), "doomed");
            auto h = weft::spawn(sleeper(seen), "sleeper");
            h.detach(); // the same as dropping the handle
            co_await weft::sleep_for(5ms);
        },
        opts);
    // run has returned: the shutdown cut the sleeper's hour short, and it has finished.
    return reported.load() == 1 && seen == std::errc::operation_canceled ? 0 : 1;
}

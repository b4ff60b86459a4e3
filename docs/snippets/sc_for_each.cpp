// weft::for_each: one child per element, at most `limit` running at a time; the first failure
// cancels the children in flight, starts no more, and is reported once the started ones ended.
#include <weft/weft.hpp>

#include <atomic>
#include <numeric>
#include <system_error>
#include <vector>

using namespace std::chrono_literals;

int main() {
    return weft::run([]() -> weft::task<int> {
        std::vector<int> ids(100);
        std::iota(ids.begin(), ids.end(), 0);

        std::atomic<int> running{0}, peak{0}, done{0};
        auto r = co_await weft::for_each(ids, 8, [&](int&) -> weft::task<> {
            int now = running.fetch_add(1) + 1;
            for (int p = peak.load(); now > p && !peak.compare_exchange_weak(p, now);) {
            }
            co_await weft::sleep_for(1ms);
            running.fetch_sub(1);
            done.fetch_add(1);
        });
        if (!r || done.load() != 100 || peak.load() > 8) {
            co_return 1;
        }

        // A child returning an error result fails the call like an exception would.
        std::atomic<int> started{0};
        auto failed =
            co_await weft::for_each(ids, 4, [&](int& id) -> weft::task<weft::result<void>> {
                started.fetch_add(1);
                if (id == 10) {
                    co_return std::errc::io_error;
                }
                co_return co_await weft::sleep_for(1ms);
            });
        co_return !failed && failed.error() == std::errc::io_error && started.load() < 100 ? 0 : 2;
    });
}

// when_all: results in argument order; the first failure cancels the others, waits for them, and
// is rethrown.
#include <weft/weft.hpp>

#include <stdexcept>
#include <system_error>

using namespace std::chrono_literals;

weft::task<int> twice(int x) {
    co_await weft::sleep_for(1ms);
    co_return 2 * x;
}

weft::task<> nothing() {
    co_return;
}

weft::task<int> fails() {
    co_await weft::sleep_for(1ms);
    throw std::runtime_error("boom");
}

weft::task<int> sleeps(std::error_code& seen) {
    auto r = co_await weft::sleep_for(1h);
    seen = r.error(); // written before when_all returns
    co_return 0;
}

int main() {
    return weft::run([]() -> weft::task<int> {
        auto [a, b, none] = co_await weft::when_all(twice(1), twice(2), nothing());
        static_assert(std::is_same_v<decltype(none), std::monostate>); // a void task's slot
        if (a != 2 || b != 4) {
            co_return 1;
        }

        std::error_code seen;
        try {
            co_await weft::when_all(fails(), sleeps(seen));
            co_return 2;
        } catch (const std::runtime_error&) {
            // The sleeper was cancelled and has finished: nothing outlives the await.
        }
        co_return seen == std::errc::operation_canceled ? 0 : 3;
    });
}

// Go: golang.org/x/sync/errgroup. A fixed set of tasks: weft::when_all; a dynamic one: weft::scope.
#include <weft/weft.hpp>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

weft::task<int> fetch(int id) {
    if (id == 3) {
        throw std::runtime_error("fetch 3 failed");
    }
    co_await weft::sleep_for(std::chrono::milliseconds(id));
    co_return id * 100;
}

weft::task<> fetch_into(int id, std::vector<int>& out) {
    out[static_cast<std::size_t>(id)] = co_await fetch(id);
}

int main() {
    return weft::run([]() -> weft::task<int> {
        // g.Go(...) three times, then g.Wait(), collecting the values in order.
        std::vector<weft::task<int>> tasks;
        for (int id = 0; id < 3; ++id) {
            tasks.push_back(fetch(id));
        }
        std::vector<int> got = co_await weft::when_all(std::move(tasks));
        if (got != std::vector<int>{0, 100, 200}) {
            co_return 1;
        }

        // errgroup.WithContext: the first failure cancels the others; join() rethrows it once
        // every child has finished.
        std::vector<int> out(5);
        weft::scope g;
        for (int id = 0; id < 5; ++id) {
            g.spawn(fetch_into(id, out));
        }
        try {
            co_await g.join();
        } catch (const std::runtime_error& e) {
            co_return std::string(e.what()) == "fetch 3 failed" ? 0 : 2;
        }
        co_return 3;
    });
}

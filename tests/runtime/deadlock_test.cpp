// The deadlock report of weft::run / runtime::block_on (runtime/src/scheduler.cpp,
// check_deadlock): every task waits on a weft primitive and nothing can wake one, so run() throws
// std::system_error(weft::errc::deadlock) instead of hanging. (The sync tests cover each kind of
// wait; these check the runtime's side of it.)
#include <weft/runtime.hpp>
#include <weft/sync.hpp>

#include <catch2/catch.hpp>

#include <system_error>

namespace {

weft::task<> recv_forever() {
    weft::sync::channel<int> ch; // nobody else can send on it
    (void)co_await ch.recv();
}

} // namespace

TEST_CASE(
    "a main task that deadlocks at once is reported every time (the waiter registers late)",
    "[runtime][deadlock]") {
    // run() queues the main task, then registers the waiter the report releases: the workers
    // can all be asleep, their last check done, before it registers. 200 rounds on 2 workers;
    // a miss hangs (the CTest timeout fails it).
    for (int round = 0; round < 200; ++round) {
        INFO("round " << round);
        weft::runtime_options opts;
        opts.workers = 2;
        bool reported = false;
        try {
            weft::run([]() -> weft::task<> { co_await recv_forever(); }, std::move(opts));
        } catch (const std::system_error& e) {
            reported = e.code() == weft::errc::deadlock;
        }
        REQUIRE(reported);
    }
}

TEST_CASE("a deadlock behind a join is reported with the joiner counted", "[runtime][deadlock]") {
    weft::runtime_options opts;
    opts.workers = 2;
    CHECK_THROWS_MATCHES(
        weft::run(
            []() -> weft::task<> {
                auto h = weft::spawn(recv_forever());
                co_await h;
            },
            std::move(opts)),
        std::system_error,
        Catch::Predicate<std::system_error>(
            [](const std::system_error& e) { return e.code() == weft::errc::deadlock; }));
}

// The open-file soft limit is raised to the hard limit when weft::io starts (as Go does), on both
// backends. Its own executable with one test case: the raise happens once per process, when the
// first runtime creates its reactors, so the test must be the first thing in its process to start
// a runtime.

#include "io_test_support.hpp"

#include <weft_test.hpp>

#include <sys/resource.h>

using namespace weft::io::testing;

TEST_CASE(
    "starting the runtime raises the open-file soft limit to the hard limit", "[io][nofile]") {
    WEFT_IO_TEST_PROLOGUE();
    rlimit before{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &before) == 0);
    if (before.rlim_max < 128) {
        WARN("hard RLIMIT_NOFILE " << before.rlim_max << " leaves no room to lower the soft one");
        return;
    }
    // Lower the soft limit so that there is something to raise (a shell may already have set
    // soft == hard, and then the check below could not fail).
    rlimit low = before;
    low.rlim_cur = 64;
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
    REQUIRE(weft::io::current_backend() == weft::io::backend::none); // nothing started io yet
    rlimit during{};
    weft::io::backend used = weft::io::backend::none;
    run([&]() -> weft::task<> {
        ::getrlimit(RLIMIT_NOFILE, &during);
        used = weft::io::current_backend();
        co_return;
    });
    CHECK(used != weft::io::backend::none);
    CHECK(during.rlim_cur == before.rlim_max);
    CHECK(during.rlim_max == before.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &before);
}

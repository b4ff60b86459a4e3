// The one Catch2 main shared by every weft test executable (compiled once, as an OBJECT library;
// see tests/CMakeLists.txt).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

// Under ThreadSanitizer every test executable carries its default options: stop at the first
// report, and the known races listed in tests/support/tsan.supp (path compiled in as
// WEFT_TSAN_SUPPRESSIONS) are suppressed. TSAN_OPTIONS in the environment still overrides any of
// these (suppressions=/dev/null turns the list off), however the tests are started.
#if defined(__SANITIZE_THREAD__)
#define WEFT_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WEFT_TEST_TSAN 1
#endif
#endif

#if defined(WEFT_TEST_TSAN) && defined(WEFT_TSAN_SUPPRESSIONS)
extern "C" const char* __tsan_default_options();
extern "C" const char* __tsan_default_options() {
    return "halt_on_error=1:second_deadlock_stack=1:suppressions=" WEFT_TSAN_SUPPRESSIONS;
}
#endif

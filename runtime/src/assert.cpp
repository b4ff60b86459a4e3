// WEFT_ASSERT's failure path (detail/assert.hpp): print the message and where, then abort.

#include <weft/runtime/detail/assert.hpp>

#include <cstdio>
#include <cstdlib>

namespace weft::detail {

[[noreturn]] void
assert_fail(const char* expr, const char* msg, const char* file, int line) noexcept {
    std::fprintf(stderr, "weft: fatal: %s\n  (%s failed at %s:%d)\n", msg, expr, file, line);
    std::fflush(stderr);
    std::abort();
}

} // namespace weft::detail

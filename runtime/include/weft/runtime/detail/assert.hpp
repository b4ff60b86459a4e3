// WEFT_ASSERT: programming errors (unlocking a mutex you do not hold, awaiting a join handle twice)
// abort with a message naming the broken rule, as Go's runtime `throw` does. Always on: these
// checks guard rules whose violation would corrupt memory later, far from the cause.
#pragma once

namespace weft::detail {
[[noreturn]] void
assert_fail(const char* expr, const char* msg, const char* file, int line) noexcept;
} // namespace weft::detail

#define WEFT_ASSERT(expr, msg)                                                                     \
    do {                                                                                           \
        if (!(expr)) [[unlikely]] {                                                                \
            ::weft::detail::assert_fail(#expr, msg, __FILE__, __LINE__);                           \
        }                                                                                          \
    } while (0)

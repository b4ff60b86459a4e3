// WEFT_NODISCARD(msg): `[[nodiscard(msg)]]` spelled as a macro for class declarations.
//
// clang-format 14 mis-parses `class [[nodiscard("msg")]] name`: it takes the attribute for the
// start of an expression and folds the class body into garbage (namespace comments inside the
// class, `task(task && o)`). Listed under AttributeMacros in .clang-format, the macro is formatted
// as the attribute it is. Functions keep the plain attribute, which clang-format parses.
//
// Ignored awaits: `co_await ch.send(x);` with its result<void> ignored. [[nodiscard]] on the
// awaiter type does not reach the value of the co_await expression; [[nodiscard]] on
// await_resume does, in clang 14, as does a [[nodiscard]] value type (result<T>, T not void).
// So every awaiter whose value reports an error marks await_resume [[nodiscard]], and
// is_result_v lets task and join_handle do so for a task<result<U>>. g++ 12 warns for none of
// these: not for [[nodiscard]] anywhere, and not for gnu::warn_unused_result on await_resume
// either when the value is a class (it warns for a scalar only). The clang builds (the asan and
// tsan presets) are what catch an ignored await; tests/compile checks that they do.
#pragma once

#define WEFT_NODISCARD(msg) [[nodiscard(msg)]]

namespace weft {
template <class T>
class result; // result.hpp

namespace detail {
/// True for weft::result<U>: the value of an await yielding one is an error to look at.
template <class T>
inline constexpr bool is_result_v = false;
template <class T>
inline constexpr bool is_result_v<result<T>> = true;
} // namespace detail
} // namespace weft

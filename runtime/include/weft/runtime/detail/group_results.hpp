// What when_all and when_any do with their children once the group's await is over: take each
// child's result (a void task's as std::monostate), rethrow the failure that counts, and free the
// children's frames however the await ends. The group itself is detail/group.hpp. Not public: a
// user sees only the results, the tuple, vector or when_any_result these build.
#pragma once

#include <weft/runtime/detail/promise.hpp>
#include <weft/runtime/detail/task_promise.hpp>

#include <coroutine>
#include <cstddef>
#include <exception>
#include <span>
#include <type_traits>
#include <variant>

namespace weft::detail {

/// A child's result type as it appears in a tuple, vector or when_any_result: void is monostate.
template <class T>
using non_void_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

/// A finished child's result (rethrows its exception).
template <class T>
non_void_t<T> take_non_void(std::coroutine_handle<task_promise<T>> h) {
    if constexpr (std::is_void_v<T>) {
        h.promise().take();
        return {};
    } else {
        return h.promise().take();
    }
}

/// Destroys the children's frames however the await ends. `ps[i]` is the promise of `hs[i]`.
template <class Handles, class Promises>
struct frames_guard {
    Handles& hs;
    Promises& ps;
    ~frames_guard() {
        for (std::size_t i = 0; i < hs.size(); ++i) {
            if (hs[i]) {
                destroy_frame(hs[i], *ps[i]);
            }
        }
    }
};

/// Rethrows the exception of child `first` (the group's first failure), else of the first child
/// that has one; returns when none failed.
inline void rethrow_first_failure(std::span<promise_base*> ps, std::ptrdiff_t first) {
    if (first >= 0 && ps[static_cast<std::size_t>(first)]->exception_) {
        std::rethrow_exception(ps[static_cast<std::size_t>(first)]->exception_);
    }
    for (promise_base* p : ps) {
        if (p->exception_) {
            std::rethrow_exception(p->exception_);
        }
    }
}

} // namespace weft::detail

// task_promise<T>, the promise type of weft::task<T> (what the compiler puts in a task's
// coroutine frame), and result_slot<T>, where the task's value waits for its awaiter. What every
// promise shares (the continuation, the cancellation state, the join word) is promise_base in
// detail/promise.hpp. Not public: a user names task<T>, never its promise.
#pragma once

#include <weft/runtime/detail/promise.hpp>

#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace weft {

template <class T>
class task; // task.hpp

namespace detail {

/// Where a task's result waits for its awaiter. A result type that needs no destructor (int,
/// pointers, small structs) is stored without std::optional's engaged flag: nothing has to know
/// whether it was ever written, and the frame is 8 bytes smaller (skynet, fib and spawn_join
/// return int64: 104-byte frames become 96, one size class down).
template <class T>
struct result_slot {
    std::optional<T> v;
    template <class U>
    void set(U&& u) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
        v.emplace(std::forward<U>(u));
    }
    T take() { return std::move(*v); }
};

template <class T>
requires std::is_trivially_destructible_v<T>
struct result_slot<T> {
    result_slot() noexcept {}
    union {
        char none_ = 0;
        T v;
    };
    template <class U>
    void set(U&& u) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
        std::construct_at(&v, std::forward<U>(u));
    }
    T take() { return std::move(v); }
};

template <class T>
class task_promise : public promise_base {
public:
    task<T> get_return_object() noexcept; // task.hpp, after task<T>
    final_awaiter final_suspend() const noexcept { return {}; }

    template <class U>
    void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
        value_.set(std::forward<U>(v));
    }

    /// A task returning a weft::result returns a cancellation that ended its body (a
    /// cancelled_error from its start or from a join) as the error, instead of throwing it.
    void unhandled_exception() noexcept {
        if constexpr (is_result<T>::value) {
            std::error_code ec;
            if (current_is_cancellation(ec)) {
                value_.set(T(ec));
                return;
            }
        }
        exception_ = std::current_exception();
    }

    /// The result: the value, or the exception rethrown.
    T take() {
        if (exception_) {
            std::rethrow_exception(exception_);
        }
        return value_.take();
    }
    bool has_exception() const noexcept { return exception_ != nullptr; }

private:
    result_slot<T> value_;
};

template <>
class task_promise<void> : public promise_base {
public:
    task<void> get_return_object() noexcept; // task.hpp, after task<T>
    final_awaiter final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    bool has_exception() const noexcept { return exception_ != nullptr; }
    void take() {
        if (exception_) {
            std::rethrow_exception(exception_);
        }
    }
};

} // namespace detail
} // namespace weft

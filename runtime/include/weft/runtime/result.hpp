// weft::result<T>: a value or a std::error_code.
//
// Expected failures (timeouts, cancellation, closed channels, I/O errors) are values of this type;
// programming errors abort through WEFT_ASSERT. The API is the subset of std::expected<T,
// std::error_code> that C++20 allows (has_value, value, error, *, ->, explicit bool), so the type
// can become std::expected once weft builds as C++23.
//
//     weft::result<std::size_t> n = co_await conn.read(buf);
//     if (!n) return n.error();          // std::errc::operation_canceled, ECONNRESET, ...
//     use(*n);
//
// weft::errc adds the conditions std lacks (channel_closed, deadlock, ...), in its own category.
#pragma once

#include <new>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

namespace weft {

/// Error conditions that std::errc has no name for. Compare with `ec ==
/// weft::errc::channel_closed`.
enum class errc {
    channel_closed = 1, ///< send on a closed channel, or an operation on a closed primitive
    deadlock,           ///< every task is blocked and nothing can wake one (see sync)
    runtime_stopped,    ///< the runtime was shut down before the operation could run
    timed_out,          ///< a weft deadline passed; equal to std::errc::timed_out
    canceled,           ///< the task was cancelled; equal to std::errc::operation_canceled
};

/// The category of weft::errc codes; its name() is "weft".
const std::error_category& weft_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), weft_category()};
}

/// Thrown by result::value() when the result holds an error (std::bad_expected_access's stand-in).
class bad_result_access : public std::system_error {
public:
    explicit bad_result_access(std::error_code ec)
        : std::system_error(ec, "weft::result") {}
};

/// Thrown where a cancellation cannot be returned as an error: the join of a task that was
/// cancelled before it ran (its body never ran), or of one whose body a cancellation ended, when
/// the task's type is not a weft::result. code() is weft::errc::canceled or weft::errc::timed_out
/// (equal to std::errc::operation_canceled and std::errc::timed_out). A task returning a
/// weft::result<U> returns that code instead of throwing.
class cancelled_error : public std::system_error {
public:
    explicit cancelled_error(std::error_code ec)
        : std::system_error(ec, "weft: task cancelled") {}
};

/// Shorthand for a std::error_code built from a std::errc.
inline std::error_code make_error(std::errc e) noexcept {
    return std::make_error_code(e);
}

/// A T or a std::error_code. [[nodiscard]]: an ignored error is almost always a bug.
template <class T>
class [[nodiscard]] result {
public:
    using value_type = T;

    result() requires std::is_default_constructible_v<T> : has_(true) { new (&value_) T(); }
    result(const T& v)
        : has_(true) {
        new (&value_) T(v);
    }
    result(T&& v)
        : has_(true) {
        new (&value_) T(std::move(v));
    }
    template <class... Args>
    explicit result(std::in_place_t, Args&&... args)
        : has_(true) {
        new (&value_) T(std::forward<Args>(args)...);
    }
    result(std::error_code ec)
        : has_(false) {
        new (&error_) std::error_code(ec);
    }
    result(std::errc e)
        : result(std::make_error_code(e)) {}
    result(errc e)
        : result(make_error_code(e)) {}

    result(const result& o)
        : has_(o.has_) {
        if (has_) {
            new (&value_) T(o.value_);
        } else {
            new (&error_) std::error_code(o.error_);
        }
    }
    result(result&& o) noexcept(std::is_nothrow_move_constructible_v<T>)
        : has_(o.has_) {
        if (has_) {
            new (&value_) T(std::move(o.value_));
        } else {
            new (&error_) std::error_code(o.error_);
        }
    }
    result& operator=(result o) {
        this->~result();
        new (this) result(std::move(o));
        return *this;
    }
    ~result() {
        if (has_) {
            value_.~T();
        }
    }

    bool has_value() const noexcept { return has_; }
    explicit operator bool() const noexcept { return has_; }

    /// The value; throws bad_result_access (carrying the error) when there is none.
    T& value() & {
        check();
        return value_;
    }
    const T& value() const& {
        check();
        return value_;
    }
    T&& value() && {
        check();
        return std::move(value_);
    }
    /// The error; std::error_code{} (no error) when a value is held.
    std::error_code error() const noexcept { return has_ ? std::error_code{} : error_; }

    T& operator*() & noexcept { return value_; }
    const T& operator*() const& noexcept { return value_; }
    T&& operator*() && noexcept { return std::move(value_); }
    T* operator->() noexcept { return &value_; }
    const T* operator->() const noexcept { return &value_; }

    template <class U>
    T value_or(U&& fallback) const& {
        return has_ ? value_ : static_cast<T>(std::forward<U>(fallback));
    }

private:
    void check() const {
        if (!has_) {
            throw bad_result_access(error_);
        }
    }

    bool has_;
    union {
        T value_;
        std::error_code error_;
    };
};

/// result<void>: success or an error. Not [[nodiscard]] as a type, so that
/// `co_await weft::sleep_for(1ms);` reads like Go. Discarding the awaitable itself warns (the
/// awaitable types are nodiscard). The awaits whose result<void> reports a failure (send,
/// acquire, wait, write_all, a task<result<void>>...) mark their await_resume [[nodiscard]]: an
/// ignored `co_await ch.send(x);` warns with clang; g++ 12 cannot be made to warn for it
/// (detail/nodiscard.hpp). `(void)co_await x;` drops one on purpose.
template <>
class result<void> {
public:
    using value_type = void;

    result() noexcept = default;
    result(std::error_code ec) noexcept
        : error_(ec) {}
    result(std::errc e) noexcept
        : error_(std::make_error_code(e)) {}
    result(errc e) noexcept
        : error_(make_error_code(e)) {}

    bool has_value() const noexcept { return !error_; }
    explicit operator bool() const noexcept { return !error_; }
    void value() const {
        if (error_) {
            throw bad_result_access(error_);
        }
    }
    void operator*() const noexcept {}
    std::error_code error() const noexcept { return error_; }

private:
    std::error_code error_{};
};

namespace detail {
/// Tells a weft::result<U> apart from other types (with_timeout, task promises).
template <class T>
struct is_result : std::false_type {};
template <class U>
struct is_result<result<U>> : std::true_type {};
} // namespace detail

} // namespace weft

template <>
struct std::is_error_code_enum<weft::errc> : std::true_type {};

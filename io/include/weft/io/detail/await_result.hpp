// await_result_t<A> (and await_result(a), for concepts): the type `co_await a` yields for an
// expression of type A, found the way the compiler finds it (a member operator co_await, else a
// free one, else A's own await_resume).
//
// Not API. buffered.hpp's stream concepts use it to check what a stream's read() and write_all()
// give when awaited, whatever awaitable type (an io op, a weft::task, a user's own) they return.
#pragma once

#include <concepts>
#include <type_traits>
#include <utility>

namespace weft::io::detail {

template <class A>
struct awaiter_of {
    using type = A;
};

template <class A>
concept has_member_co_await = requires(A&& a) {
    static_cast<A&&>(a).operator co_await();
};

template <class A>
concept has_free_co_await = requires(A&& a) {
    operator co_await(static_cast<A&&>(a));
};

template <has_member_co_await A>
struct awaiter_of<A> {
    using type = decltype(std::declval<A>().operator co_await());
};

template <class A>
concept has_only_free_co_await = !has_member_co_await<A> && has_free_co_await<A>;

template <has_only_free_co_await A>
struct awaiter_of<A> {
    using type = decltype(operator co_await(std::declval<A>()));
};

template <class A>
using await_result_t = decltype(std::declval<typename awaiter_of<A>::type&>().await_resume());

/// Declared only, for requires-expressions: `{ await_result(expr) }` has the type co_await gives.
template <class A>
await_result_t<A> await_result(A&& a);

/// T is R, give or take const and reference (not merely convertible: an int is not a result).
template <class T, class R>
concept is_exactly = std::same_as<std::remove_cvref_t<T>, R>;

} // namespace weft::io::detail

// weft::result<T> and weft::errc: the std::expected-like subset, and the "weft" error category.
#include <weft/runtime.hpp>

#include "weft_test.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

using weft::result;
using weft::testing::counted;
using weft::testing::lifetime_counts;

namespace {

struct no_default {
    explicit no_default(int a, int b)
        : sum(a + b) {}
    int sum;
};

} // namespace

TEST_CASE("a result holding a value gives it back", "[runtime][result]") {
    result<int> r = 5;
    CHECK(r.has_value());
    CHECK(static_cast<bool>(r));
    CHECK(r.value() == 5);
    CHECK(*r == 5);
    CHECK_FALSE(r.error());
    CHECK(r.value_or(9) == 5);
    *r = 6;
    CHECK(r.value() == 6);
}

TEST_CASE("a default-constructed result holds a value-initialised T", "[runtime][result]") {
    result<int> r;
    CHECK(r.has_value());
    CHECK(*r == 0);
    STATIC_REQUIRE_FALSE(std::is_default_constructible_v<result<no_default>>);
}

TEST_CASE(
    "a result holding an error reports it and value() throws bad_result_access",
    "[runtime][result]") {
    result<int> r = std::errc::timed_out;
    CHECK_FALSE(r.has_value());
    CHECK_FALSE(static_cast<bool>(r));
    CHECK(r.error() == std::errc::timed_out);
    CHECK(r.value_or(9) == 9);
    CHECK_THROWS_AS(r.value(), weft::bad_result_access);
    try {
        (void)r.value();
    } catch (const weft::bad_result_access& e) {
        CHECK(e.code() == std::errc::timed_out);
    }
    const result<int>& cr = r;
    CHECK_THROWS_AS(cr.value(), weft::bad_result_access);
    CHECK_THROWS_AS(std::move(r).value(), weft::bad_result_access);
}

TEST_CASE(
    "a result can be built from std::error_code, std::errc and weft::errc", "[runtime][result]") {
    result<int> a = std::make_error_code(std::errc::connection_reset);
    result<int> b = std::errc::connection_reset;
    result<int> c = weft::errc::channel_closed;
    CHECK(a.error() == b.error());
    CHECK(c.error() == weft::errc::channel_closed);
    CHECK(weft::make_error(std::errc::io_error) == std::errc::io_error);
}

TEST_CASE("a result constructs its value in place", "[runtime][result]") {
    result<no_default> r(std::in_place, 2, 3);
    REQUIRE(r.has_value());
    CHECK(r->sum == 5);
}

TEST_CASE("a result of a move-only type moves its value out", "[runtime][result]") {
    result<std::unique_ptr<int>> r = std::make_unique<int>(4);
    std::unique_ptr<int> p = std::move(r).value();
    REQUIRE(p);
    CHECK(*p == 4);
    result<std::unique_ptr<int>> s = std::make_unique<int>(5);
    std::unique_ptr<int> q = *std::move(s);
    CHECK(*q == 5);
}

TEST_CASE("copying, moving and assigning results keeps values and errors", "[runtime][result]") {
    result<std::string> v = std::string("hello");
    result<std::string> e = std::errc::timed_out;

    result<std::string> v2 = v;
    CHECK(*v2 == "hello");
    result<std::string> e2 = e;
    CHECK(e2.error() == std::errc::timed_out);

    result<std::string> v3 = std::move(v2);
    CHECK(*v3 == "hello");

    v3 = e; // value -> error
    CHECK(v3.error() == std::errc::timed_out);
    e2 = v; // error -> value
    CHECK(*e2 == "hello");
    e2 = std::string("bye"); // value -> value
    CHECK(*e2 == "bye");
}

TEST_CASE("a result destroys its value exactly once", "[runtime][result]") {
    lifetime_counts counts;
    {
        result<counted> a(std::in_place, counts, 1);
        result<counted> b = a;
        result<counted> c = std::move(b);
        result<counted> d = std::errc::timed_out;
        d = c;
        c = std::errc::io_error;
        CHECK(counts.alive() == 3); // a, b (moved from, still alive), d
        CHECK(d->value == 1);
    }
    CHECK(counts.alive() == 0);
}

TEST_CASE("result<void> is success or an error", "[runtime][result]") {
    result<void> ok;
    CHECK(ok.has_value());
    CHECK(static_cast<bool>(ok));
    CHECK_FALSE(ok.error());
    CHECK_NOTHROW(ok.value());

    result<void> bad = std::errc::operation_canceled;
    CHECK_FALSE(bad.has_value());
    CHECK(bad.error() == std::errc::operation_canceled);
    CHECK_THROWS_AS(bad.value(), weft::bad_result_access);

    result<void> closed = weft::errc::channel_closed;
    CHECK(closed.error() == weft::errc::channel_closed);
    result<void> from_code = std::make_error_code(std::errc::timed_out);
    CHECK(from_code.error() == std::errc::timed_out);
}

TEST_CASE("weft::errc codes belong to the weft category and have messages", "[runtime][result]") {
    std::error_code ec = weft::errc::deadlock; // is_error_code_enum
    CHECK(&ec.category() == &weft::weft_category());
    CHECK(std::string(weft::weft_category().name()) == "weft");
    CHECK(weft::make_error_code(weft::errc::channel_closed).message() == "channel closed");
    CHECK(weft::make_error_code(weft::errc::runtime_stopped).message() == "runtime stopped");
    CHECK_FALSE(ec.message().empty());
    CHECK(ec != std::errc::operation_canceled);
    CHECK(weft::make_error_code(static_cast<weft::errc>(99)).message() == "unknown weft error");
}

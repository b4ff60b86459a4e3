// Fuzzes the HTTP/1.1 request parser of examples/http_hello.cpp (examples/http_request.hpp).
// The first two bytes pick a split point; the rest is what a client sent.
//
// Invariants, beyond "no crash, no read outside the buffer" (ASan: the parser gets a heap copy
// of exactly the input, so one byte too far is reported):
//   - a complete request takes at least one byte and at most the buffer (`length` <= size), and
//     at most max_request when the buffer is no larger than the server's (max_request);
//   - the answer never depends on bytes after the request: parsing the first `length` bytes alone
//     gives the same request; one byte fewer is incomplete (a request is recognised only once its
//     last byte is there);
//   - more bytes never change an answer already given: if a prefix parses complete, the whole
//     input parses to the same request; if a prefix is bad, so is the whole input;
//   - pipelining: parsing request after request, as http_hello's serve() does, always advances and
//     stays inside the buffer.

#include "fuzz_check.hpp"
#include "http_request.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

namespace {

using http_hello::max_request;
using http_hello::parse_request;
using http_hello::parse_status;
using http_hello::parsed_request;

bool same(const parsed_request& a, const parsed_request& b) {
    return a.status == b.status && a.length == b.length && a.keep_alive == b.keep_alive &&
           a.http10 == b.http10;
}

/// parse_request over a heap copy of exactly `s`, so that ASan sees a read past its end.
parsed_request parse_exact(std::string_view s) {
    auto copy = std::make_unique<char[]>(s.size());
    std::memcpy(copy.get(), s.data(), s.size());
    return parse_request({copy.get(), s.size()});
}

parsed_request check_one(std::string_view buf) {
    const parsed_request r = parse_exact(buf);
    if (r.status != parse_status::complete) {
        FUZZ_CHECK(r.length == 0, "only a complete request has a length");
        return r;
    }
    FUZZ_CHECK(r.length >= 1 && r.length <= buf.size(), "a request lies inside the buffer");
    FUZZ_CHECK(buf.size() > max_request || r.length <= max_request, "a request fits max_request");
    FUZZ_CHECK(same(parse_exact(buf.substr(0, r.length)), r), "bytes after a request don't count");
    FUZZ_CHECK(
        parse_exact(buf.substr(0, r.length - 1)).status == parse_status::incomplete,
        "a request is not complete before its last byte");
    return r;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    const std::size_t split_at = static_cast<std::size_t>(data[0] << 8 | data[1]);
    const std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

    const parsed_request whole = check_one(input);
    const parsed_request prefix = check_one(input.substr(0, std::min(split_at, input.size())));
    if (prefix.status == parse_status::complete) {
        FUZZ_CHECK(same(whole, prefix), "more bytes don't change a complete request");
    } else if (prefix.status == parse_status::bad) {
        FUZZ_CHECK(whole.status == parse_status::bad, "more bytes don't mend a bad request");
    }

    // Pipelining, as serve() does it: request after request from one buffer.
    std::size_t pos = 0;
    while (pos < input.size()) {
        const parsed_request r = check_one(input.substr(pos));
        if (r.status != parse_status::complete) {
            break;
        }
        pos += r.length; // check_one: 1 <= length <= what is left
        if (!r.keep_alive) {
            break;
        }
    }
    FUZZ_CHECK(pos <= input.size(), "pipelining stays inside the buffer");
    return 0;
}

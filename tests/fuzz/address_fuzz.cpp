// Fuzzes weft::io::address::parse, both overloads: parse("host:port") over the whole input, and
// parse(host, port) with the port taken from the first two bytes and the rest as the host.
//
// Invariants, beyond "no crash, no out-of-bounds read" (ASan) and "no undefined behaviour" (UBSan):
//   - an input holding a NUL never parses (a NUL would cut the host short in inet_pton);
//   - a parsed address is IPv4 or IPv6, and carries the port that was given;
//   - it round-trips: parse(a.to_string()) == a, and parse(a.host(), a.port()) == a;
//   - to_string() is stable: printing the re-parsed address gives the same text.

#include <weft/io/address.hpp>

#include "fuzz_check.hpp"

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

using weft::io::address;

namespace {

void check_parsed(const address& a, std::uint16_t port) {
    FUZZ_CHECK(a.is_ipv4() || a.is_ipv6(), "parse gives an IP address");
    FUZZ_CHECK(a.port() == port, "the port given is the port kept");
    const std::string text = a.to_string();
    auto again = address::parse(text);
    FUZZ_CHECK(again.has_value(), "to_string() parses back");
    FUZZ_CHECK(*again == a, "to_string() parses back to the same address");
    FUZZ_CHECK(again->to_string() == text, "to_string() is stable");
    auto split = address::parse(a.host(), a.port());
    FUZZ_CHECK(split.has_value() && *split == a, "parse(host(), port()) gives the same address");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const bool has_nul = input.find('\0') != std::string_view::npos;

    // parse("host:port"): the port is what follows the last ':' (after "]:" for brackets).
    if (auto a = address::parse(input)) {
        FUZZ_CHECK(!has_nul, "an input with a NUL never parses");
        const auto colon = input.rfind(':');
        FUZZ_CHECK(colon != std::string_view::npos, "a parsed host:port has a ':'");
        check_parsed(*a, a->port());
        const std::string_view port_text = input.substr(colon + 1);
        unsigned port = 0;
        const auto [end, ec] =
            std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        FUZZ_CHECK(
            ec == std::errc{} && end == port_text.data() + port_text.size() && port == a->port(),
            "the port is the decimal number after the last ':'");
    }

    // parse(host, port).
    if (size >= 2) {
        const auto port = static_cast<std::uint16_t>(data[0] << 8 | data[1]);
        const std::string_view host = input.substr(2);
        if (auto a = address::parse(host, port)) {
            FUZZ_CHECK(host.find('\0') == std::string_view::npos, "a host with a NUL never parses");
            check_parsed(*a, port);
        }
    }
    return 0;
}

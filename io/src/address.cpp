// weft::io::address: parsing and printing socket addresses (numeric only; resolve.cpp does DNS).
//
// Names reach C string calls here (inet_pton) and in the kernel (a pathname sun_path ends at its
// first NUL), so a string_view with an embedded NUL would silently mean its prefix: "10.0.0.1\0x"
// would parse as 10.0.0.1 and "/run/a\0b" would name /run/a. Such input is invalid_argument.
// Abstract Unix names are the exception: they are bytes whose length the address carries, NULs
// included, so nothing is cut off and they are kept whole.

#include <weft/io/address.hpp>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ostream>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

namespace weft::io {

namespace {

result<std::uint16_t> parse_port(std::string_view s) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc{} || p != s.data() + s.size() || v > 65535) {
        return std::errc::invalid_argument;
    }
    return static_cast<std::uint16_t>(v);
}

} // namespace

address::address() noexcept
    : storage_{}
    , size_(0) {
    storage_.ss_family = AF_UNSPEC;
}

address address::ipv4(std::array<std::uint8_t, 4> bytes, std::uint16_t port) noexcept {
    address a;
    auto* sin = reinterpret_cast<sockaddr_in*>(&a.storage_);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, bytes.data(), 4);
    a.size_ = sizeof(sockaddr_in);
    return a;
}

address address::ipv6(
    std::array<std::uint8_t, 16> bytes, std::uint16_t port, std::uint32_t scope_id) noexcept {
    address a;
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    std::memcpy(&sin6->sin6_addr, bytes.data(), 16);
    sin6->sin6_scope_id = scope_id;
    a.size_ = sizeof(sockaddr_in6);
    return a;
}

address address::ipv4_loopback(std::uint16_t port) noexcept {
    return ipv4({127, 0, 0, 1}, port);
}
address address::ipv4_any(std::uint16_t port) noexcept {
    return ipv4({0, 0, 0, 0}, port);
}
address address::ipv6_loopback(std::uint16_t port) noexcept {
    std::array<std::uint8_t, 16> b{};
    b[15] = 1;
    return ipv6(b, port);
}
address address::ipv6_any(std::uint16_t port) noexcept {
    return ipv6({}, port);
}

result<address> address::parse(std::string_view host, std::uint16_t port) {
    if (host.find('\0') != std::string_view::npos) {
        return std::errc::invalid_argument; // inet_pton would read only the part before it
    }
    if (host.empty() || host == "*" || host == "0.0.0.0") {
        return ipv4_any(port);
    }
    if (host == "localhost") {
        return ipv4_loopback(port);
    }
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    char buf[INET6_ADDRSTRLEN + 16];
    if (host.size() >= sizeof buf) {
        return std::errc::invalid_argument;
    }
    std::memcpy(buf, host.data(), host.size());
    buf[host.size()] = '\0';
    std::array<std::uint8_t, 4> v4{};
    if (::inet_pton(AF_INET, buf, v4.data()) == 1) {
        return ipv4(v4, port);
    }
    // IPv6, with an optional %scope (numeric or an interface name is not resolved here).
    std::uint32_t scope = 0;
    if (char* pct = std::strchr(buf, '%')) {
        *pct = '\0';
        unsigned v = 0;
        std::string_view sc(pct + 1);
        auto [p, ec] = std::from_chars(sc.data(), sc.data() + sc.size(), v);
        if (ec != std::errc{} || p != sc.data() + sc.size()) {
            return std::errc::invalid_argument;
        }
        scope = v;
    }
    std::array<std::uint8_t, 16> v6{};
    if (::inet_pton(AF_INET6, buf, v6.data()) == 1) {
        return ipv6(v6, port, scope);
    }
    return std::errc::invalid_argument;
}

result<address> address::parse(std::string_view host_port) {
    std::string_view host;
    std::string_view port;
    if (!host_port.empty() && host_port.front() == '[') {
        auto close = host_port.find(']');
        if (close == std::string_view::npos || close + 1 >= host_port.size() ||
            host_port[close + 1] != ':') {
            return std::errc::invalid_argument;
        }
        host = host_port.substr(0, close + 1);
        port = host_port.substr(close + 2);
    } else {
        auto colon = host_port.rfind(':');
        if (colon == std::string_view::npos) {
            return std::errc::invalid_argument;
        }
        host = host_port.substr(0, colon);
        port = host_port.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) {
            return std::errc::invalid_argument; // bare IPv6 needs brackets
        }
    }
    auto p = parse_port(port);
    if (!p) {
        return p.error();
    }
    return parse(host, *p);
}

result<address> address::unix_path(std::string_view path) {
    address a;
    auto* sun = reinterpret_cast<sockaddr_un*>(&a.storage_);
    sun->sun_family = AF_UNIX;
    if (path.empty()) {
        return std::errc::invalid_argument;
    }
    if (path.front() != '@' && path.find('\0') != std::string_view::npos) {
        return std::errc::invalid_argument; // the kernel would use only the part before it
    }
    if (path.size() >= sizeof sun->sun_path) {
        return std::errc::filename_too_long;
    }
    std::memcpy(sun->sun_path, path.data(), path.size());
    if (path.front() == '@') {
        sun->sun_path[0] = '\0'; // abstract: no terminating NUL, the length says where it ends
        a.size_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
    } else {
        sun->sun_path[path.size()] = '\0';
        a.size_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
    }
    return a;
}

address address::from_sockaddr(const sockaddr* sa, socklen_t len) noexcept {
    address a;
    if (sa == nullptr || len == 0) {
        return a;
    }
    len = std::min<socklen_t>(len, capacity());
    std::memcpy(&a.storage_, sa, len);
    a.size_ = len;
    return a;
}

int address::family() const noexcept {
    return size_ == 0 ? AF_UNSPEC : storage_.ss_family;
}

bool address::is_loopback() const noexcept {
    if (is_ipv4()) {
        auto* sin = reinterpret_cast<const sockaddr_in*>(&storage_);
        return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
    }
    if (is_ipv6()) {
        auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&storage_);
        const auto* b = sin6->sin6_addr.s6_addr;
        static const std::uint8_t loop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        static const std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        return std::memcmp(b, loop, 16) == 0 || (std::memcmp(b, mapped, 12) == 0 && b[12] == 127);
    }
    return false;
}

std::uint16_t address::port() const noexcept {
    if (is_ipv4()) {
        return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
    }
    if (is_ipv6()) {
        return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
    }
    return 0;
}

void address::set_port(std::uint16_t port) noexcept {
    if (is_ipv4()) {
        reinterpret_cast<sockaddr_in*>(&storage_)->sin_port = htons(port);
    } else if (is_ipv6()) {
        reinterpret_cast<sockaddr_in6*>(&storage_)->sin6_port = htons(port);
    }
}

std::string address::host() const {
    char buf[INET6_ADDRSTRLEN + 16] = {};
    if (is_ipv4()) {
        ::inet_ntop(
            AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf, sizeof buf);
        return buf;
    }
    if (is_ipv6()) {
        auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&storage_);
        ::inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof buf);
        std::string s = buf;
        if (sin6->sin6_scope_id != 0) {
            s += '%' + std::to_string(sin6->sin6_scope_id);
        }
        return s;
    }
    if (is_unix()) {
        auto* sun = reinterpret_cast<const sockaddr_un*>(&storage_);
        const auto off = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path));
        if (size_ <= off) {
            return {}; // unnamed (the client end of a connection)
        }
        std::size_t n = size_ - off;
        if (sun->sun_path[0] == '\0') {
            return "@" + std::string(sun->sun_path + 1, n - 1);
        }
        return std::string(sun->sun_path, strnlen(sun->sun_path, n));
    }
    return {};
}

std::string address::to_string() const {
    if (is_ipv4()) {
        return host() + ':' + std::to_string(port());
    }
    if (is_ipv6()) {
        return '[' + host() + "]:" + std::to_string(port());
    }
    return host();
}

bool operator==(const address& a, const address& b) noexcept {
    return a.size_ == b.size_ && std::memcmp(&a.storage_, &b.storage_, a.size_) == 0;
}

std::ostream& operator<<(std::ostream& os, const address& a) {
    return os << a.to_string();
}

} // namespace weft::io

// weft::io::resolve: numeric hosts at once, names through getaddrinfo on the blocking pool.

#include <weft/io/error.hpp>
#include <weft/io/resolve.hpp>
#include <weft/runtime/spawn_blocking.hpp>

#include <charconv>
#include <cstring>

#include <netdb.h>

namespace weft::io {

namespace {

std::error_code gai_error(int rc, int saved_errno) noexcept {
    switch (rc) {
    case EAI_NONAME:
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
        return make_error_code(errc::host_not_found);
    case EAI_AGAIN:
        return make_error_code(errc::resolve_again);
    case EAI_MEMORY:
        return std::make_error_code(std::errc::not_enough_memory);
    case EAI_SYSTEM:
        return {saved_errno, std::system_category()};
    default:
        return make_error_code(errc::resolve_failed);
    }
}

result<std::vector<address>> lookup(const std::string& host, std::uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    addrinfo* res = nullptr;
    int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
    if (rc != 0) {
        return gai_error(rc, errno);
    }
    std::vector<address> out;
    for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) {
            continue;
        }
        address a = address::from_sockaddr(ai->ai_addr, ai->ai_addrlen);
        a.set_port(port);
        bool dup = false;
        for (const address& b : out) {
            dup = dup || b == a;
        }
        if (!dup) {
            out.push_back(a);
        }
    }
    ::freeaddrinfo(res);
    if (out.empty()) {
        return make_error_code(errc::host_not_found);
    }
    return out;
}

} // namespace

task<result<std::vector<address>>> resolve(std::string host, std::uint16_t port) {
    if (host.find('\0') != std::string::npos) {
        // getaddrinfo reads a C string: "evil.example\0.trusted.example" would look up
        // evil.example.
        co_return std::errc::invalid_argument;
    }
    if (auto a = address::parse(host, port)) {
        co_return std::vector<address>{*a};
    }
    if (host.size() > 2 && host.front() == '[') {
        co_return std::errc::invalid_argument; // brackets hold numeric IPv6 only
    }
    co_return co_await weft::spawn_blocking([&host, port] { return lookup(host, port); });
}

task<result<std::vector<address>>> resolve(std::string host_port) {
    std::string host;
    std::string_view port_text;
    std::string_view hp = host_port;
    if (!hp.empty() && hp.front() == '[') {
        auto close = hp.find(']');
        if (close == std::string_view::npos || close + 1 >= hp.size() || hp[close + 1] != ':') {
            co_return std::errc::invalid_argument;
        }
        host.assign(hp.substr(0, close + 1));
        port_text = hp.substr(close + 2);
    } else {
        auto colon = hp.rfind(':');
        if (colon == std::string_view::npos) {
            co_return std::errc::invalid_argument;
        }
        host.assign(hp.substr(0, colon));
        port_text = hp.substr(colon + 1);
    }
    unsigned port = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec != std::errc{} || p != port_text.data() + port_text.size() ||
        port > 65535) {
        co_return std::errc::invalid_argument;
    }
    co_return co_await resolve(std::move(host), static_cast<std::uint16_t>(port));
}

} // namespace weft::io

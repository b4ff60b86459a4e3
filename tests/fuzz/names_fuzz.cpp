// Fuzzes what weft::io checks in a name before it reaches getaddrinfo or the kernel:
// weft::io::resolve (both overloads) and weft::io::address::unix_path. The first byte picks one
// of the three; the rest is the name (for resolve(host, port), two bytes of port first).
//
// No DNS, ever: this executable defines getaddrinfo and freeaddrinfo itself, and the linker binds
// resolve.cpp's calls to these definitions instead of the C library's. The stand-in never touches
// the network; it records the name it was asked for and answers a fixed list (TEST-NET and
// documentation addresses, a duplicate, and a Unix-domain entry that resolve must skip). So every
// input can go through the real resolve, lookup path included, and the target checks that a name
// reaches getaddrinfo only when it should, and then whole. Filtering inputs instead ("call resolve
// only for names that would not be looked up") would need a model of resolve's own checks, and a
// mistake in that model would send fuzz input to the real resolver.
//
// Invariants:
//   resolve(host, port):
//     - a host with a NUL is invalid_argument and is never looked up;
//     - a host that address::parse accepts is answered with exactly that address, no lookup;
//     - a bracketed host that is not a numeric address is invalid_argument, no lookup;
//     - any other host is looked up once, with getaddrinfo seeing exactly `host` (not a prefix),
//       and the answer is the stand-in's addresses, deduplicated, IP only, with `port`;
//   resolve("host:port"):
//     - when address::parse("host:port") accepts it, the answer is exactly that address;
//     - a string with no ':' after the host, or a port that is not 0..65535, is invalid_argument
//       and never looked up; otherwise it answers as resolve(host, port) does;
//   address::unix_path(path):
//     - empty: invalid_argument; a pathname (not '@') with a NUL: invalid_argument; too long for
//       sun_path: filename_too_long; otherwise a Unix address whose host() and to_string() are
//       `path` again (abstract names keep their NULs), and which from_sockaddr copies unchanged.
//
// resolve is a task, so the target keeps one weft runtime (one worker) for the whole run and
// block_on's each call from the fuzzer's thread.

#include <weft/io/address.hpp>
#include <weft/io/resolve.hpp>
#include <weft/runtime/runtime.hpp>

#include "fuzz_check.hpp"

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/un.h>

using weft::io::address;

namespace {

// What the getaddrinfo stand-in saw. Written on a blocking-pool thread, read by the fuzzer's
// thread after block_on returns (the task's completion orders the two).
int lookups = 0;
std::string looked_up;

const address answer_v4 = address::ipv4({192, 0, 2, 1}, 0);
const address answer_v6 =
    address::ipv6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 0);

std::vector<address> expected_answer(std::uint16_t port) {
    address a = answer_v4;
    address b = answer_v6;
    a.set_port(port);
    b.set_port(port);
    return {a, b};
}

addrinfo* make_entry(const address& a, addrinfo* next) {
    auto* ai = new addrinfo{};
    auto* sa = new sockaddr_storage{};
    std::memcpy(sa, a.data(), a.size());
    ai->ai_family = a.family();
    ai->ai_socktype = SOCK_STREAM;
    ai->ai_addr = reinterpret_cast<sockaddr*>(sa);
    ai->ai_addrlen = a.size();
    ai->ai_next = next;
    return ai;
}

weft::runtime& fuzz_runtime() {
    static weft::runtime rt(weft::runtime_options{.workers = 1});
    return rt;
}

weft::result<std::vector<address>> run_resolve(std::string host, std::uint16_t port) {
    return fuzz_runtime().block_on(weft::io::resolve(std::move(host), port));
}

weft::result<std::vector<address>> run_resolve(std::string host_port) {
    return fuzz_runtime().block_on(weft::io::resolve(std::move(host_port)));
}

bool is_invalid(const weft::result<std::vector<address>>& r) {
    return !r && r.error() == std::errc::invalid_argument;
}

void fuzz_resolve_host(std::string_view host, std::uint16_t port) {
    lookups = 0;
    const auto r = run_resolve(std::string(host), port);
    if (host.find('\0') != std::string_view::npos) {
        FUZZ_CHECK(is_invalid(r) && lookups == 0, "a host with a NUL is rejected, not looked up");
        return;
    }
    if (auto numeric = address::parse(host, port)) {
        FUZZ_CHECK(lookups == 0, "a numeric host is never looked up");
        FUZZ_CHECK(r && r->size() == 1 && (*r)[0] == *numeric, "a numeric host answers itself");
        return;
    }
    if (host.size() > 2 && host.front() == '[') {
        FUZZ_CHECK(is_invalid(r) && lookups == 0, "brackets hold numeric IPv6 only");
        return;
    }
    FUZZ_CHECK(lookups == 1, "a name is looked up exactly once");
    FUZZ_CHECK(looked_up == host, "getaddrinfo sees the whole host, no more, no less");
    FUZZ_CHECK(
        r && *r == expected_answer(port), "the answer is getaddrinfo's, IP only, deduplicated");
}

void fuzz_resolve_host_port(std::string_view input) {
    lookups = 0;
    const auto r = run_resolve(std::string(input));
    const int joined_lookups = lookups;
    if (auto numeric = address::parse(input)) {
        FUZZ_CHECK(joined_lookups == 0, "a numeric host:port is never looked up");
        FUZZ_CHECK(r && r->size() == 1 && (*r)[0] == *numeric, "resolve agrees with parse");
    }
    // The split resolve documents: "[v6]:port", else the port follows the last ':'.
    std::string_view host;
    std::string_view port_text;
    if (!input.empty() && input.front() == '[') {
        const auto close = input.find(']');
        if (close == std::string_view::npos || close + 1 >= input.size() ||
            input[close + 1] != ':') {
            FUZZ_CHECK(is_invalid(r) && joined_lookups == 0, "unclosed brackets are rejected");
            return;
        }
        host = input.substr(0, close + 1);
        port_text = input.substr(close + 2);
    } else {
        const auto colon = input.rfind(':');
        if (colon == std::string_view::npos) {
            FUZZ_CHECK(is_invalid(r) && joined_lookups == 0, "no port: rejected");
            return;
        }
        host = input.substr(0, colon);
        port_text = input.substr(colon + 1);
    }
    unsigned port = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() ||
        port > 65535) {
        FUZZ_CHECK(is_invalid(r) && joined_lookups == 0, "a bad port is rejected, not looked up");
        return;
    }
    const std::string joined_name = looked_up;
    lookups = 0;
    const auto split = run_resolve(std::string(host), static_cast<std::uint16_t>(port));
    FUZZ_CHECK(lookups == joined_lookups, "host:port is looked up as host and port are");
    FUZZ_CHECK(lookups == 0 || looked_up == joined_name, "...and under the same name");
    FUZZ_CHECK(
        r.has_value() == split.has_value() && (r ? *r == *split : r.error() == split.error()),
        "resolve(\"host:port\") answers as resolve(host, port)");
}

void fuzz_unix_path(std::string_view path) {
    const auto a = address::unix_path(path);
    constexpr std::size_t capacity = sizeof(sockaddr_un::sun_path);
    if (path.empty()) {
        FUZZ_CHECK(!a && a.error() == std::errc::invalid_argument, "an empty path is rejected");
        return;
    }
    if (path.front() != '@' && path.find('\0') != std::string_view::npos) {
        FUZZ_CHECK(!a && a.error() == std::errc::invalid_argument, "a pathname with a NUL");
        return;
    }
    if (path.size() >= capacity) {
        FUZZ_CHECK(!a && a.error() == std::errc::filename_too_long, "a path too long");
        return;
    }
    FUZZ_CHECK(a.has_value(), "a path that fits is accepted");
    FUZZ_CHECK(a->is_unix() && a->port() == 0, "a Unix address, no port");
    FUZZ_CHECK(a->host() == path, "host() gives the path back, NULs of abstract names included");
    FUZZ_CHECK(a->to_string() == path, "to_string() gives the path back");
    FUZZ_CHECK(a->size() <= address::capacity(), "the size fits the storage");
    FUZZ_CHECK(address::from_sockaddr(a->data(), a->size()) == *a, "from_sockaddr copies it");
}

} // namespace

// The stand-ins for the C library's resolver (see the file comment). The answer: 192.0.2.1, the
// same again, a Unix-domain entry, 2001:db8::1.
extern "C" int
getaddrinfo(const char* node, const char* service, const addrinfo* hints, addrinfo** res) {
    ++lookups;
    looked_up = node != nullptr ? node : "";
    FUZZ_CHECK(service == nullptr, "resolve asks for no service");
    FUZZ_CHECK(hints != nullptr && hints->ai_socktype == SOCK_STREAM, "stream sockets");
    *res = make_entry(
        answer_v4,
        make_entry(
            answer_v4,
            make_entry(address::unix_path("/x").value(), make_entry(answer_v6, nullptr))));
    return 0;
}

extern "C" void freeaddrinfo(addrinfo* ai) noexcept {
    while (ai != nullptr) {
        addrinfo* next = ai->ai_next;
        delete reinterpret_cast<sockaddr_storage*>(ai->ai_addr);
        delete ai;
        ai = next;
    }
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 3) {
    case 0:
        if (rest.size() >= 2) {
            const auto port = static_cast<std::uint16_t>(
                static_cast<unsigned char>(rest[0]) << 8 | static_cast<unsigned char>(rest[1]));
            fuzz_resolve_host(rest.substr(2), port);
        }
        break;
    case 1:
        fuzz_resolve_host_port(rest);
        break;
    default:
        fuzz_unix_path(rest);
        break;
    }
    return 0;
}

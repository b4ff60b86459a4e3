// weft::io::address: an IPv4, IPv6 or Unix-domain socket address (a sockaddr_storage by value).
//
//     auto a = weft::io::address::parse("127.0.0.1:8080").value();   // numeric only, no DNS
//     auto b = weft::io::address::parse("[::1]:0").value();           // port 0: pick one
//     auto c = weft::io::address::ipv4_loopback(9000);
//     auto u = weft::io::address::unix_path("/tmp/app.sock").value(); // "@name": abstract
//     std::string s = a.to_string();                                  // "127.0.0.1:8080"
//
// parse() understands "ipv4:port", "[ipv6]:port", "ipv6" forms inside brackets only, ":port" and
// "*:port" (any IPv4 address), and "localhost:port" (127.0.0.1). Names that need DNS go through
// weft::io::resolve (resolve.hpp), which does not block a worker. A host or pathname with an
// embedded NUL ('\0' inside the string_view) is invalid_argument: it is never cut short at the
// NUL. Abstract Unix names ("@...") are bytes and keep their NULs.
//
// Thread-safety: a value type; distinct objects may be used from different threads freely.
#pragma once

#include <weft/runtime/result.hpp>

#include <array>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

#include <sys/socket.h>

namespace weft::io {

class address {
public:
    /// An empty address (family AF_UNSPEC, size 0).
    address() noexcept;

    /// IPv4 `a.b.c.d:port`.
    static address ipv4(std::array<std::uint8_t, 4> bytes, std::uint16_t port) noexcept;
    /// IPv6 address (16 bytes, network order), port and scope id.
    static address ipv6(
        std::array<std::uint8_t, 16> bytes,
        std::uint16_t port,
        std::uint32_t scope_id = 0) noexcept;
    /// 127.0.0.1:port
    static address ipv4_loopback(std::uint16_t port = 0) noexcept;
    /// 0.0.0.0:port
    static address ipv4_any(std::uint16_t port = 0) noexcept;
    /// [::1]:port
    static address ipv6_loopback(std::uint16_t port = 0) noexcept;
    /// [::]:port
    static address ipv6_any(std::uint16_t port = 0) noexcept;

    /// A numeric "host:port" (see the file comment). invalid_argument when it is not one.
    static result<address> parse(std::string_view host_port);
    /// A numeric host and a port: "10.0.0.1", "::1", "localhost", "" or "*" (any IPv4).
    static result<address> parse(std::string_view host, std::uint16_t port);
    /// A Unix-domain path; a leading '@' means Linux's abstract namespace. filename_too_long when
    /// the path does not fit in sockaddr_un; invalid_argument when it is empty or a pathname
    /// (not '@') holds a NUL.
    static result<address> unix_path(std::string_view path);
    /// Copies a raw sockaddr (at most sizeof(sockaddr_storage) bytes).
    static address from_sockaddr(const sockaddr* sa, socklen_t len) noexcept;

    /// AF_INET, AF_INET6, AF_UNIX, or AF_UNSPEC when empty.
    int family() const noexcept;
    bool is_ipv4() const noexcept { return family() == AF_INET; }
    bool is_ipv6() const noexcept { return family() == AF_INET6; }
    bool is_unix() const noexcept { return family() == AF_UNIX; }
    bool empty() const noexcept { return size_ == 0; }
    /// 127.0.0.0/8, ::1, or ::ffff:127.x.y.z.
    bool is_loopback() const noexcept;

    /// The port (host order); 0 for Unix addresses.
    std::uint16_t port() const noexcept;
    /// Sets the port of an IPv4/IPv6 address; no effect on others.
    void set_port(std::uint16_t port) noexcept;

    /// The host alone: "127.0.0.1", "::1", a Unix path ("@name" for abstract ones).
    std::string host() const;
    /// "127.0.0.1:80", "[::1]:80", a Unix path, "" when empty.
    std::string to_string() const;

    /// The raw sockaddr, for system calls.
    const sockaddr* data() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
    sockaddr* data() noexcept { return reinterpret_cast<sockaddr*>(&storage_); }
    socklen_t size() const noexcept { return size_; }
    /// Storage capacity, for calls that fill the address in (recvfrom, accept, getsockname).
    static constexpr socklen_t capacity() noexcept { return sizeof(sockaddr_storage); }
    /// Sets the size after a call filled data() in.
    void resize(socklen_t n) noexcept { size_ = n <= capacity() ? n : capacity(); }

    friend bool operator==(const address& a, const address& b) noexcept;

private:
    sockaddr_storage storage_;
    socklen_t size_;
};

/// Writes to_string().
std::ostream& operator<<(std::ostream& os, const address& a);

} // namespace weft::io

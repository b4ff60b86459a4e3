// weft::io::resolve: host names to addresses, without blocking a worker.
//
//     auto addrs = co_await weft::io::resolve("example.com", 443);   // result<vector<address>>
//     auto same  = co_await weft::io::resolve("example.com:443");
//
// Numeric hosts ("127.0.0.1", "::1", "[::1]:80", "localhost") are answered at once, on the
// calling worker. Other names go through getaddrinfo(AI_ADDRCONFIG) on the blocking pool
// (weft::spawn_blocking), as Tokio does. Errors: weft::io::errc::host_not_found, resolve_again,
// resolve_failed, or invalid_argument for a malformed "host:port" or a host with an embedded NUL
// (never looked up as the part before the NUL).
//
// Thread-safety: any task, any number at once. Cancellation: getaddrinfo cannot be interrupted;
// the await completes when it returns (spawn_blocking.hpp). Which thread resumes the awaiter: a
// worker of the runtime, after the pool thread finishes.
#pragma once

#include <weft/io/address.hpp>
#include <weft/runtime/result.hpp>
#include <weft/runtime/task.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace weft::io {

/// Addresses of `host` with `port`, in getaddrinfo's order (IPv4 and IPv6, stream sockets).
task<result<std::vector<address>>> resolve(std::string host, std::uint16_t port);
/// Same for "host:port" ("[v6]:port" for bracketed IPv6).
task<result<std::vector<address>>> resolve(std::string host_port);

} // namespace weft::io

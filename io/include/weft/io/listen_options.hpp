// weft::io::listen_options: how tcp_listener::bind and unix_listener::bind set their socket up.
//
//     auto l = weft::io::tcp_listener::bind("0.0.0.0:8080", {.backlog = 1024, .reuse_port = true});
#pragma once

namespace weft::io {

struct listen_options {
    /// listen() backlog; the kernel caps it at net.core.somaxconn.
    int backlog = 4096;
    /// SO_REUSEADDR (TCP only): rebind a port with connections in TIME_WAIT, as Go and Tokio do.
    bool reuse_address = true;
    /// SO_REUSEPORT (TCP only): several listeners on one port, the kernel balances connections.
    bool reuse_port = false;
    /// IPV6_V6ONLY for IPv6 listeners (false: "[::]:port" also accepts IPv4).
    bool v6_only = false;
    /// accept() meets EMFILE / ENFILE / ENOBUFS / ENOMEM (out of descriptors or memory): when
    /// true (default) it backs off (5 ms doubling to 1 s) and retries, so an accept loop keeps
    /// running and the connections already open keep being served; the task stays cancellable
    /// while it waits. When false, accept() returns the error.
    bool retry_on_resource_exhaustion = true;
};

} // namespace weft::io

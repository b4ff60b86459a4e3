// graceful.hpp: the graceful shutdown every example server uses, written once.
//
//     return weft::run(examples::listen_and_serve("echo_server", port, serve, 2s));
//
// The pattern (Go's http.Server.Shutdown, with the listener as the only shared state):
//   1. accept connections, each served by serve(conn) as a child of one weft::scope;
//   2. on SIGINT or SIGTERM, stop accepting: close the listener (new connections are refused);
//   3. give the connections in flight `grace` to finish (weft::io::drain);
//   4. cancel the ones still running (their pending reads end with an error, their tasks return
//      and their sockets close), wait for them, and return 0.
// Every descriptor is closed by its owner on the way out: no connection outlives the scope.
#pragma once

#include <weft/io.hpp>
#include <weft/runtime.hpp>

#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <system_error>

namespace examples {

/// Accepts until the listener is closed; each connection becomes a child of `conns`. If accepting
/// fails for another reason, closes `sigs`, which wakes the shutdown below with an error.
template <class Serve>
weft::task<> accept_into(
    const char* name,
    weft::io::tcp_listener& l,
    weft::scope& conns,
    Serve serve,
    weft::io::signal_set& sigs) {
    for (;;) {
        auto conn = co_await l.accept(); // running out of descriptors is retried inside accept()
        if (!conn) {
            if (conn.error() == std::errc::connection_aborted) {
                continue; // the client gave up before we accepted it
            }
            if (conn.error() != std::errc::bad_file_descriptor) { // not our own close()
                std::fprintf(stderr, "%s: accept: %s\n", name, conn.error().message().c_str());
                sigs.close();
            }
            co_return;
        }
        conns.spawn(serve, std::move(*conn));
    }
}

/// Serves `l` until a signal of `sigs` arrives, then shuts down gracefully (see the file comment).
/// Returns the process's exit status: 0 after a signal, 1 if accepting failed.
template <class Serve>
weft::task<int> serve_until_signal(
    const char* name,
    weft::io::tcp_listener& l,
    weft::io::signal_set& sigs,
    Serve serve,
    std::chrono::nanoseconds grace) {
    weft::scope conns;
    auto accepting =
        weft::spawn(accept_into<Serve>, name, std::ref(l), std::ref(conns), serve, std::ref(sigs));
    const auto sig = co_await sigs.next();
    l.close(); // stop accepting: new connections are refused, the accept loop ends
    if (sig) {
        // Only now: whoever reads this line may rely on new connections being refused.
        std::fprintf(stderr, "%s: %s, shutting down\n", name, ::strsignal(*sig));
    }
    co_await accepting;
    const bool clean = co_await weft::io::drain(conns, grace);
    std::fprintf(
        stderr,
        "%s: %s\n",
        name,
        clean ? "every connection finished"
              : "cancelled the connections left after the grace period");
    co_return sig ? 0 : 1;
}

/// Listens on 127.0.0.1:port, prints "<name> listening on ADDR (io backend: B)" (a script waits
/// for that line to learn the port), and serves until SIGINT or SIGTERM (serve_until_signal).
/// The signals are listened for before the line is printed: a script that signals as soon as it
/// reads it must find the handler in place.
template <class Serve>
weft::task<int> listen_and_serve(
    const char* name, std::uint16_t port, Serve serve, std::chrono::nanoseconds grace) {
    auto sigs = weft::io::signal_set::open({SIGINT, SIGTERM});
    auto listener = weft::io::tcp_listener::bind(weft::io::address::ipv4_loopback(port));
    if (!sigs || !listener) {
        std::fprintf(
            stderr,
            "%s: cannot listen on 127.0.0.1:%u: %s\n",
            name,
            port,
            (sigs ? listener.error() : sigs.error()).message().c_str());
        co_return 1;
    }
    const auto bound = listener->local_address();
    std::printf(
        "%s listening on %s (io backend: %s)\n",
        name,
        bound ? bound->to_string().c_str() : "?",
        weft::io::to_string(weft::io::current_backend()));
    std::fflush(stdout);
    co_return co_await serve_until_signal(name, *listener, *sigs, std::move(serve), grace);
}

/// A decimal number that fits T, digits only; nullopt otherwise.
template <class T>
std::optional<T> parse_number(const char* s) {
    T v{};
    const char* end = s + std::strlen(s);
    const auto [p, ec] = std::from_chars(s, end, v);
    if (ec != std::errc{} || p != end || p == s) {
        return std::nullopt;
    }
    return v;
}

} // namespace examples

// <weft/io.hpp>: weft's networking and file I/O (namespace weft::io).
//
//     weft::task<int> server() {
//         auto listener = weft::io::tcp_listener::bind("127.0.0.1:7000").value();
//         for (;;) weft::go(serve((co_await listener.accept()).value()));
//     }
//
// Each worker owns an io_uring ring (or, where io_uring is unavailable or WEFT_IO_BACKEND=epoll,
// an epoll instance); I/O waits suspend the task, never the worker. See backend.hpp.
#pragma once

#include <weft/io/address.hpp>
#include <weft/io/async_fd.hpp>
#include <weft/io/backend.hpp>
#include <weft/io/buffered.hpp>
#include <weft/io/error.hpp>
#include <weft/io/file.hpp>
#include <weft/io/listen_options.hpp>
#include <weft/io/process.hpp>
#include <weft/io/resolve.hpp>
#include <weft/io/signal.hpp>
#include <weft/io/stdio.hpp>
#include <weft/io/stream_socket.hpp>
#include <weft/io/tcp_listener.hpp>
#include <weft/io/tcp_stream.hpp>
#include <weft/io/udp_socket.hpp>
#include <weft/io/unix_listener.hpp>
#include <weft/io/unix_stream.hpp>

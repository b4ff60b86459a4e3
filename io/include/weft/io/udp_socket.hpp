// weft::io::udp_socket: a UDP socket.
//
//     auto sock = weft::io::udp_socket::bind("127.0.0.1:0").value();
//     std::array<std::byte, 1500> buf;
//     auto d = co_await sock.recv_from(buf);                       // result<datagram>
//     if (d) co_await sock.send_to({buf.data(), d->size}, d->from);
//
// A datagram longer than the buffer is truncated (the rest is dropped, as recvfrom does).
// connect() fixes the peer: send()/recv() then go to/come from it only, and ICMP errors (a closed
// port) surface as connection_refused on a later recv.
//
// Thread-safety: any number of tasks may send and receive at once (each datagram is atomic);
// close() from any task or thread cancels the ops in flight (bad_file_descriptor).
// Memory ordering: the bytes of a received datagram happen-before its co_await returns.
// Cancellation: every await honours cancellation and with_timeout; the kernel op is cancelled and
// its completion awaited, so buffers are not touched after the co_await returns.
// Lifetime: move-only; the destructor closes. The object must outlive its ops' co_awaits.
// Which thread resumes the awaiter: the worker that completed the op (see tcp_stream.hpp).
#pragma once

#include <weft/io/address.hpp>
#include <weft/runtime/result.hpp>
#include <weft/runtime/timer.hpp>

#include <weft/io/detail/fd_handle.hpp>
#include <weft/io/detail/op.hpp>
#include <weft/runtime/detail/nodiscard.hpp>

#include <cstddef>
#include <span>
#include <string_view>

#include <sys/socket.h>
#include <sys/uio.h>

namespace weft::io {

/// A received datagram: its size (after truncation to the buffer) and its sender.
struct datagram {
    std::size_t size = 0;
    address from;
};

namespace detail {

class WEFT_NODISCARD("recv_from does nothing unless co_awaited") recv_from_awaiter
    : public op_awaiter_base {
public:
    recv_from_awaiter(fd_state* s, std::span<std::byte> b) noexcept
        : op_awaiter_base(op_code::recvmsg, s, op_side::read) {
        iov_.iov_base = b.data();
        iov_.iov_len = b.size();
        hdr_.msg_name = from_.data();
        hdr_.msg_namelen = address::capacity();
        hdr_.msg_iov = &iov_;
        hdr_.msg_iovlen = 1;
        msg = &hdr_;
    }
    [[nodiscard]] result<datagram> await_resume() noexcept {
        op_outcome r = op_finish(*this);
        if (r.error) {
            return r.error;
        }
        from_.resize(hdr_.msg_namelen);
        return datagram{static_cast<std::size_t>(r.value), from_};
    }

private:
    address from_;
    iovec iov_{};
    msghdr hdr_{};
};

class WEFT_NODISCARD("send_to does nothing unless co_awaited") send_to_awaiter
    : public op_awaiter_base {
public:
    send_to_awaiter(fd_state* s, std::span<const std::byte> b, const address& to) noexcept
        : op_awaiter_base(op_code::sendmsg, s, op_side::write)
        , to_(to) {
        iov_.iov_base = const_cast<std::byte*>(b.data());
        iov_.iov_len = b.size();
        hdr_.msg_name = to_.data();
        hdr_.msg_namelen = to_.size();
        hdr_.msg_iov = &iov_;
        hdr_.msg_iovlen = 1;
        msg = &hdr_;
    }
    [[nodiscard]] result<std::size_t> await_resume() noexcept {
        op_outcome r = op_finish(*this);
        if (r.error) {
            return r.error;
        }
        return static_cast<std::size_t>(r.value);
    }

private:
    address to_;
    iovec iov_{};
    msghdr hdr_{};
};

} // namespace detail

class udp_socket : public detail::fd_handle {
public:
    udp_socket() noexcept = default;

    /// A socket bound to a numeric "host:port" or an address (port 0: ephemeral).
    static result<udp_socket> bind(std::string_view host_port) noexcept;
    static result<udp_socket> bind(const address& addr) noexcept;
    /// An unbound socket of the given family (AF_INET or AF_INET6); the kernel binds it on the
    /// first send.
    static result<udp_socket> open(int family = AF_INET) noexcept;
    /// Adopts a UDP socket.
    static result<udp_socket> from_fd(int fd) noexcept;

    /// Fixes the peer (synchronous: UDP connect exchanges no packets).
    result<void> connect(const address& peer) noexcept;
    result<void> connect(std::string_view host_port) noexcept;

    /// Sends one datagram to `to`; result: bytes sent (the whole datagram, or an error such as
    /// message_size when it is too large).
    detail::send_to_awaiter send_to(std::span<const std::byte> data, const address& to) noexcept {
        return {st_, data, to};
    }
    /// Receives one datagram and its sender.
    detail::recv_from_awaiter recv_from(std::span<std::byte> buf) noexcept { return {st_, buf}; }
    /// Sends to / receives from the connected peer.
    detail::size_awaiter send(std::span<const std::byte> data) noexcept {
        return {
            detail::op_code::send,
            st_,
            detail::op_side::write,
            const_cast<std::byte*>(data.data()),
            data.size(),
            false};
    }
    detail::size_awaiter recv(std::span<std::byte> buf) noexcept {
        return {detail::op_code::recv, st_, detail::op_side::read, buf.data(), buf.size(), false};
    }

    result<address> local_address() const noexcept;
    result<address> peer_address() const noexcept;
    /// SO_BROADCAST.
    result<void> set_broadcast(bool on) noexcept;
    /// Deadlines, as on tcp_stream (stream_socket.hpp).
    void set_read_deadline(clock::time_point t) noexcept;
    void set_write_deadline(clock::time_point t) noexcept;

private:
    explicit udp_socket(detail::fd_state* s) noexcept
        : fd_handle(s) {}
};

} // namespace weft::io

// floor_echo: the cheapest echo server we know how to write for each kernel interface, with no
// runtime at all. It is not a competitor: it measures the floor, the server CPU per request that
// the kernel's TCP path costs by itself, so that a target like "1.3x Tokio" can be checked
// against what is possible on the machine before anyone optimises towards it.
//
//     floor_echo MODE [port]     (prints "floor_echo listening on 127.0.0.1:PORT (MODE)")
//
// Modes, all one thread, one loop, 4 KiB per connection, TCP_NODELAY, MSG_NOSIGNAL:
//   epoll      edge-triggered epoll: on readiness, recv until EAGAIN, echo each chunk with send
//              (what a minimal Tokio or Go would do, minus everything else they do).
//   uring      io_uring one-shot recv then send per request, SQEs batched per io_uring_enter,
//              SINGLE_ISSUER | DEFER_TASKRUN, registered ring fd (what weft's reactor does, minus
//              the scheduler, the coroutines and the op protocol).
//   multishot  io_uring multishot recv into a provided-buffer ring, the send straight from the
//              provided buffer, which goes back to the ring when the send completes; registered
//              ring fd. The io_uring path with the fewest kernel steps per request we know of.
//              (A client that pipelined could get two sends in flight on one connection, which
//              io_uring may reorder; the closed-loop load generator never pipelines, and a real
//              server would chain them. This is a measuring tool, not a server to copy.)
//
// Used by bench/drivers/io_compare.py as the "floor" rows of the echo table. Linux and liburing
// only. Exits on SIGTERM/SIGINT.

#include <liburing.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

volatile std::sig_atomic_t g_stop = 0;

void on_signal(int) {
    g_stop = 1;
}

[[noreturn]] void die(const char* what, int err) {
    std::fprintf(stderr, "floor_echo: %s: %s\n", what, std::strerror(err));
    std::exit(1);
}

int listen_on(std::uint16_t port, bool nonblocking) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0) {
        die("socket", errno);
    }
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
        die("bind", errno);
    }
    if (::listen(fd, 4096) < 0) {
        die("listen", errno);
    }
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    return fd;
}

std::uint16_t port_of(int fd) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(a.sin_port);
}

void nodelay(int fd) {
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// --- epoll ---------------------------------------------------------------------------------------

int run_epoll(int lfd) {
    int ep = ::epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = -1; // the listener
    ::epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    std::vector<char> buf(4096);
    epoll_event evs[256];
    while (g_stop == 0) {
        int n = ::epoll_wait(ep, evs, 256, 200);
        for (int i = 0; i < n; ++i) {
            int fd = evs[i].data.fd;
            if (fd < 0) {
                for (;;) {
                    int c = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (c < 0) {
                        break;
                    }
                    nodelay(c);
                    epoll_event cev{};
                    cev.events = EPOLLIN | EPOLLET;
                    cev.data.fd = c;
                    ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                }
                continue;
            }
            for (;;) {
                ssize_t r = ::recv(fd, buf.data(), buf.size(), 0);
                if (r > 0) {
                    // Echo messages are small and the socket buffer is empty: one send suffices;
                    // a short send would be a bug in this floor measurement, so it just closes.
                    if (::send(fd, buf.data(), static_cast<std::size_t>(r), MSG_NOSIGNAL) != r) {
                        ::close(fd);
                        break;
                    }
                    continue;
                }
                if (r < 0 && errno == EAGAIN) {
                    break;
                }
                ::close(fd); // EOF or error (the close removes it from the epoll set)
                break;
            }
        }
    }
    return 0;
}

// --- io_uring ------------------------------------------------------------------------------------

constexpr unsigned buf_size = 4096;
constexpr unsigned buf_count = 4096; // provided buffers (power of two)
constexpr std::uint16_t buf_group = 1;

// user_data: kind in the top byte, connection fd and buffer id below.
enum kind : std::uint64_t { k_accept = 1, k_recv = 2, k_send = 3 };

std::uint64_t tag(kind k, int fd, unsigned bid = 0) {
    return (static_cast<std::uint64_t>(k) << 56) | (static_cast<std::uint64_t>(bid) << 32) |
           static_cast<std::uint32_t>(fd);
}

struct uring_server {
    io_uring ring{};
    bool multishot = false;
    std::vector<std::vector<char>> conn_buf; // one-shot mode: per connection, by fd
    io_uring_buf_ring* br = nullptr;         // multishot mode
    char* bufs = nullptr;

    io_uring_sqe* sqe() {
        io_uring_sqe* s = io_uring_get_sqe(&ring);
        while (s == nullptr) {
            io_uring_submit(&ring);
            s = io_uring_get_sqe(&ring);
        }
        return s;
    }

    void setup() {
        io_uring_params p{};
        p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE |
                  IORING_SETUP_SUBMIT_ALL;
        p.cq_entries = 16384;
        int err = io_uring_queue_init_params(1024, &ring, &p);
        if (err < 0) {
            die("io_uring_queue_init_params", -err);
        }
        (void)io_uring_register_ring_fd(&ring);
        if (!multishot) {
            return;
        }
        // liburing 2.3 has no io_uring_setup_buf_ring: allocate and register the ring by hand.
        const std::size_t ring_bytes = buf_count * sizeof(io_uring_buf);
        void* mem = nullptr;
        if (posix_memalign(&mem, 4096, ring_bytes) != 0) {
            die("posix_memalign", ENOMEM);
        }
        std::memset(mem, 0, ring_bytes);
        br = static_cast<io_uring_buf_ring*>(mem);
        io_uring_buf_reg reg{};
        reg.ring_addr = reinterpret_cast<std::uint64_t>(br);
        reg.ring_entries = buf_count;
        reg.bgid = buf_group;
        err = io_uring_register_buf_ring(&ring, &reg, 0);
        if (err < 0) {
            die("io_uring_register_buf_ring", -err);
        }
        io_uring_buf_ring_init(br);
        bufs = static_cast<char*>(std::aligned_alloc(4096, std::size_t{buf_size} * buf_count));
        for (unsigned i = 0; i < buf_count; ++i) {
            io_uring_buf_ring_add(
                br,
                bufs + std::size_t{i} * buf_size,
                buf_size,
                static_cast<unsigned short>(i),
                io_uring_buf_ring_mask(buf_count),
                static_cast<int>(i));
        }
        io_uring_buf_ring_advance(br, static_cast<int>(buf_count));
    }

    void give_back(unsigned bid) {
        io_uring_buf_ring_add(
            br,
            bufs + std::size_t{bid} * buf_size,
            buf_size,
            static_cast<unsigned short>(bid),
            io_uring_buf_ring_mask(buf_count),
            0);
        io_uring_buf_ring_advance(br, 1);
    }

    void arm_recv(int fd) {
        io_uring_sqe* s = sqe();
        if (multishot) {
            io_uring_prep_recv_multishot(s, fd, nullptr, 0, 0);
            s->flags |= IOSQE_BUFFER_SELECT;
            s->buf_group = buf_group;
        } else {
            if (conn_buf.size() <= static_cast<std::size_t>(fd)) {
                conn_buf.resize(static_cast<std::size_t>(fd) + 1);
            }
            conn_buf[static_cast<std::size_t>(fd)].resize(buf_size);
            io_uring_prep_recv(s, fd, conn_buf[static_cast<std::size_t>(fd)].data(), buf_size, 0);
        }
        io_uring_sqe_set_data64(s, tag(k_recv, fd));
    }

    void send(int fd, const char* p, unsigned n, unsigned bid) {
        io_uring_sqe* s = sqe();
        io_uring_prep_send(s, fd, p, n, MSG_NOSIGNAL);
        io_uring_sqe_set_data64(s, tag(k_send, fd, bid));
    }

    int run(int lfd) {
        setup();
        io_uring_sqe* s = sqe();
        io_uring_prep_multishot_accept(s, lfd, nullptr, nullptr, SOCK_CLOEXEC);
        io_uring_sqe_set_data64(s, tag(k_accept, lfd));
        while (g_stop == 0) {
            __kernel_timespec ts{0, 200'000'000};
            io_uring_cqe* c = nullptr;
            io_uring_submit_and_wait_timeout(&ring, &c, 1, &ts, nullptr);
            unsigned head;
            unsigned seen = 0;
            io_uring_for_each_cqe(&ring, head, c) {
                ++seen;
                on_cqe(c->user_data, c->res, c->flags);
            }
            io_uring_cq_advance(&ring, seen);
        }
        return 0;
    }

    void on_cqe(std::uint64_t ud, int res, unsigned flags) {
        auto k = static_cast<kind>(ud >> 56);
        int fd = static_cast<int>(ud & 0xffffffffu);
        unsigned bid = static_cast<unsigned>((ud >> 32) & 0xffffffu);
        switch (k) {
        case k_accept:
            if (res >= 0) {
                nodelay(res);
                arm_recv(res);
            }
            break;
        case k_recv:
            if (res <= 0) {
                if (multishot && res == -ENOBUFS) {
                    arm_recv(fd); // ran out of provided buffers: they come back with the sends
                } else if (!(multishot && (flags & IORING_CQE_F_MORE) != 0)) {
                    ::close(fd);
                }
                break;
            }
            if (multishot) {
                unsigned b = flags >> IORING_CQE_BUFFER_SHIFT;
                send(fd, bufs + std::size_t{b} * buf_size, static_cast<unsigned>(res), b);
                if ((flags & IORING_CQE_F_MORE) == 0) {
                    arm_recv(fd);
                }
            } else {
                send(
                    fd,
                    conn_buf[static_cast<std::size_t>(fd)].data(),
                    static_cast<unsigned>(res),
                    0);
            }
            break;
        case k_send:
            if (multishot) {
                give_back(bid);
            } else if (res > 0) {
                arm_recv(fd);
            }
            // A failed send: the recv side sees the error or EOF and closes.
            break;
        }
    }
};

} // namespace

int main(int argc, char** argv) {
    std::string_view mode = argc > 1 ? argv[1] : "";
    std::uint16_t port = argc > 2 ? static_cast<std::uint16_t>(std::atoi(argv[2])) : 0;
    if (mode != "epoll" && mode != "uring" && mode != "multishot") {
        std::fprintf(stderr, "usage: floor_echo epoll|uring|multishot [port]\n");
        return 2;
    }
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    std::signal(SIGPIPE, SIG_IGN);
    int lfd = listen_on(port, mode == "epoll");
    std::printf(
        "floor_echo listening on 127.0.0.1:%u (%.*s)\n",
        port_of(lfd),
        static_cast<int>(mode.size()),
        mode.data());
    std::fflush(stdout);
    if (mode == "epoll") {
        return run_epoll(lfd);
    }
    uring_server s;
    s.multishot = mode == "multishot";
    return s.run(lfd);
}

// wake_bench: how should one thread wake another that is parked in io_uring_submit_and_wait?
// The measurement behind the choice in io/src/uring_reactor.cpp (unpark): eventfd with a read or a
// multishot poll, or IORING_OP_MSG_RING.
//
// Two threads, each owning a ring created on its own thread with the reactor's flags
// (SINGLE_ISSUER | DEFER_TASKRUN | TASKRUN_FLAG, falling back like the reactor), play ping-pong:
// each parks in io_uring_submit_and_wait(1), and on waking wakes the other. Half a round trip is
// one wake-up's latency (waker's call -> parked thread running). Also reported: the cost of the
// wake call itself on the waker's side. Variants:
//   eventfd+read      write(2) to the peer's eventfd; the peer keeps an IORING_OP_READ armed on it
//                     (re-armed after each completion, submitted with its next wait). [weft]
//   eventfd+poll_ms   write(2) to the peer's eventfd; the peer keeps a multishot IORING_OP_POLL_ADD
//                     on it (never read; a CQE per write).
//   msg_ring          the waker queues IORING_OP_MSG_RING on its own ring, targeting the peer's
//                     ring, and submits it (io_uring_submit): a CQE lands in the peer's ring.
//
// Build and run: the bench build makes it (target weft_wake_bench, bench/CMakeLists.txt; it needs
// only liburing, not weft), or by hand:
//   cmake --build build/<dir> --target weft_wake_bench
//   build/<dir>/bench/weft_wake_bench [round_trips=100000]
//   g++ -std=c++20 -O2 bench/kernel/wake_bench.cpp -luring -lpthread -o build/wake_bench
//
// The figures and the choice they led to are in io/HACKING.md ("The wake-up choice") and next to
// uring_reactor::unpark.

#include <liburing.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace {

enum class mode { eventfd_read, eventfd_poll, msg_ring };

const char* name(mode m) {
    switch (m) {
    case mode::eventfd_read:
        return "eventfd+read";
    case mode::eventfd_poll:
        return "eventfd+poll_ms";
    case mode::msg_ring:
        return "msg_ring";
    }
    return "?";
}

constexpr std::uint64_t wake_tag = 0x77616b65; // CQE user_data of a wake-up

int init_ring(io_uring& ring) {
    const unsigned attempts[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
        IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
        0,
    };
    for (unsigned f : attempts) {
        io_uring_params p{};
        p.flags = f;
        int r = io_uring_queue_init_params(64, &ring, &p);
        if (r != -EINVAL) {
            return r;
        }
    }
    return -EINVAL;
}

struct side {
    io_uring ring{};
    int efd = -1;
    std::uint64_t buf = 0;
    std::atomic<bool> ready{false};
    double wake_call_ns = 0; // total time spent in wake() calls
};

void arm(side& s, mode m) {
    io_uring_sqe* sqe = io_uring_get_sqe(&s.ring);
    if (m == mode::eventfd_read) {
        io_uring_prep_read(sqe, s.efd, &s.buf, sizeof s.buf, 0);
    } else {
        io_uring_prep_poll_multishot(sqe, s.efd, POLLIN);
    }
    io_uring_sqe_set_data64(sqe, wake_tag);
}

void wake(side& self, side& peer, mode m) {
    auto t0 = std::chrono::steady_clock::now();
    if (m == mode::msg_ring) {
        io_uring_sqe* sqe = io_uring_get_sqe(&self.ring);
        io_uring_prep_msg_ring(sqe, peer.ring.ring_fd, 0, wake_tag, 0);
        sqe->flags |= IOSQE_CQE_SKIP_SUCCESS; // no completion on the waker's own ring
        io_uring_sqe_set_data64(sqe, 0);
        io_uring_submit(&self.ring);
    } else {
        std::uint64_t one = 1;
        ssize_t n = ::write(peer.efd, &one, sizeof one);
        (void)n;
    }
    self.wake_call_ns +=
        std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
}

/// Parks until a wake-up CQE arrives; re-arms what needs re-arming.
void wait_for_wake(side& s, mode m) {
    for (;;) {
        io_uring_cqe* cqe = nullptr;
        io_uring_submit_and_wait(&s.ring, 1);
        bool woke = false;
        unsigned head;
        unsigned n = 0;
        io_uring_for_each_cqe(&s.ring, head, cqe) {
            ++n;
            if (cqe->user_data == wake_tag) {
                woke = true;
                bool more = (cqe->flags & IORING_CQE_F_MORE) != 0;
                if (m == mode::eventfd_read || (m == mode::eventfd_poll && !more)) {
                    arm(s, m); // submitted with the next wait
                }
            } else if (cqe->res < 0 && cqe->user_data != 0) {
                std::fprintf(stderr, "unexpected cqe res=%d\n", cqe->res);
            }
        }
        io_uring_cq_advance(&s.ring, n);
        if (woke) {
            return;
        }
    }
}

void player(side& self, side& peer, mode m, long rounds, bool starts) {
    if (init_ring(self.ring) < 0) {
        std::fprintf(stderr, "io_uring unavailable\n");
        std::exit(77);
    }
    self.efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (m != mode::msg_ring) {
        arm(self, m);
    }
    io_uring_submit(&self.ring);
    self.ready.store(true);
    while (!peer.ready.load()) {
        std::this_thread::yield();
    }
    for (long i = 0; i < rounds; ++i) {
        if (starts) {
            wake(self, peer, m);
            wait_for_wake(self, m);
        } else {
            wait_for_wake(self, m);
            wake(self, peer, m);
        }
    }
}

void run(mode m, long rounds) {
    side a;
    side b;
    auto t0 = std::chrono::steady_clock::now();
    std::thread tb([&] { player(b, a, m, rounds, false); });
    std::thread ta([&] { player(a, b, m, rounds, true); });
    ta.join();
    tb.join();
    double ns =
        std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    std::printf(
        "%-16s  wake latency %7.0f ns   waker's call %6.0f ns   (%ld round trips)\n",
        name(m),
        ns / (2.0 * static_cast<double>(rounds)),
        (a.wake_call_ns + b.wake_call_ns) / (2.0 * static_cast<double>(rounds)),
        rounds);
    io_uring_queue_exit(&a.ring);
    io_uring_queue_exit(&b.ring);
    ::close(a.efd);
    ::close(b.efd);
}

} // namespace

int main(int argc, char** argv) {
    long rounds = argc > 1 ? std::atol(argv[1]) : 100000;
    for (int rep = 0; rep < 2; ++rep) {
        for (mode m : {mode::eventfd_read, mode::eventfd_poll, mode::msg_ring}) {
            run(m, rounds);
        }
    }
    return 0;
}

// Go: signal.Notify(ch, syscall.SIGTERM). weft has no signal API: a plain thread takes the signal
// with sigwait and hands it to the tasks through a channel.
#include <weft/weft.hpp>

#include <csignal>
#include <thread>

#include <pthread.h>
#include <unistd.h>

namespace ws = weft::sync;

int main() {
    // Block SIGTERM before any thread starts: the runtime's workers inherit the mask, so the
    // signal is only ever taken by sigwait below.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);

    ws::channel<int> signals(1);
    std::thread taker([set, signals]() mutable {
        int sig = 0;
        if (sigwait(&set, &sig) == 0) {
            (void)signals.blocking_send(sig); // a plain thread may block; a worker may not
        }
    });

    // Every task may wait for `taker`: while a plain thread lives, the deadlock detector stands
    // back (it cannot know what the thread will do).
    int got = weft::run([&]() -> weft::task<int> {
        kill(getpid(), SIGTERM); // stands in for `kill -TERM <pid>` from outside
        auto sig = co_await signals.recv();
        co_return sig ? *sig : -1;
    });
    taker.join();
    return got == SIGTERM ? 0 : 1;
}

// Go: signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM); sig := <-ch
#include <weft/weft.hpp>

#include <csignal>

#include <unistd.h>

int main() {
    int got = weft::run([]() -> weft::task<int> {
        // From here until `sigs` closes, SIGINT and SIGTERM come to this set instead of
        // killing the process; any number of sets may listen, and each gets every signal.
        auto sigs = weft::io::signal_set::open({SIGINT, SIGTERM});
        if (!sigs) {
            co_return -1;
        }
        ::kill(::getpid(), SIGTERM);      // stands in for `kill -TERM <pid>` from outside
        auto sig = co_await sigs->next(); // result<int>: the signal's number
        co_return sig ? *sig : -1;
    });
    return got == SIGTERM ? 0 : 1;
}

// Private: the signal mask of the threads the runtime starts (workers, the blocking pool).
#pragma once

#include <csignal>

#include <pthread.h>

namespace weft::detail {

/// Blocks SIGPIPE in the calling thread, so that a write to a pipe or socket whose reader is gone
/// fails with EPIPE instead of killing the process (Go ignores SIGPIPE for the same reason). A
/// task may call ::write on a worker, and spawn_blocking jobs do so on the pool's threads. The
/// signal a blocked write raises stays pending on that thread and is never delivered.
inline void block_sigpipe_in_this_thread() noexcept {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

} // namespace weft::detail

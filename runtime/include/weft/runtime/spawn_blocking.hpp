// weft::spawn_blocking: run a blocking call (a C library, a slow syscall, heavy CPU work) on the
// runtime's elastic thread pool, without blocking a worker.
//
//     std::string text = co_await weft::spawn_blocking([&] { return read_whole_file(path); });
//
// The callable runs on a pool thread (started on demand, up to runtime_options::
// max_blocking_threads; idle ones exit after blocking_keep_alive). The awaiting task suspends and
// is resumed on a worker of its runtime with the callable's value, or its exception rethrown.
// Cancellation: a call that has started cannot be interrupted; the await completes when it does.
// The callable is moved into the awaitable and lives until the await completes, so capturing
// locals by reference is safe. Memory ordering: the callable's effects happen-before the await
// returns.
#pragma once

#include <weft/runtime/detail/blocking_awaiter.hpp>
#include <weft/runtime/detail/blocking_job.hpp>
#include <weft/runtime/detail/nodiscard.hpp>
#include <weft/runtime/detail/scheduler_hooks.hpp>

#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace weft {

/// Runs `fn()` on the blocking pool; co_await yields its result (see the file comment).
template <class F>
detail::blocking_awaiter<std::decay_t<F>> spawn_blocking(F&& fn) {
    return detail::blocking_awaiter<std::decay_t<F>>(std::forward<F>(fn));
}

} // namespace weft

// <weft/sync.hpp>: weft::sync — Go's channels and select, and the mutex family, for weft tasks.
//
//     weft::sync::channel<int> ch(16);
//     weft::sync::mutex m;
//     auto g = co_await m.lock();
//
// None of them blocks a worker thread: a task that has to wait is suspended, and resumed by the
// task (or plain thread) that lets it proceed. sync/HACKING.md has the map.
#pragma once

#include <weft/sync/barrier.hpp>
#include <weft/sync/channel.hpp>
#include <weft/sync/condition_variable.hpp>
#include <weft/sync/event.hpp>
#include <weft/sync/guard.hpp>
#include <weft/sync/latch.hpp>
#include <weft/sync/mutex.hpp>
#include <weft/sync/once.hpp>
#include <weft/sync/pool.hpp>
#include <weft/sync/select.hpp>
#include <weft/sync/semaphore.hpp>
#include <weft/sync/shared_mutex.hpp>
#include <weft/sync/wait_group.hpp>

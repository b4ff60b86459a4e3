// <weft/runtime.hpp>: the runtime core — tasks, spawning, the scheduler, timers, cancellation,
// structured concurrency, the blocking pool and metrics.
#pragma once

#include <weft/runtime/deadline.hpp>
#include <weft/runtime/for_each.hpp>
#include <weft/runtime/histogram.hpp>
#include <weft/runtime/metrics.hpp>
#include <weft/runtime/result.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/scope.hpp>
#include <weft/runtime/shield.hpp>
#include <weft/runtime/spawn.hpp>
#include <weft/runtime/spawn_blocking.hpp>
#include <weft/runtime/spawn_many.hpp>
#include <weft/runtime/task.hpp>
#include <weft/runtime/ticker.hpp>
#include <weft/runtime/timer.hpp>
#include <weft/runtime/when_all.hpp>
#include <weft/runtime/when_any.hpp>
#include <weft/runtime/with_timeout.hpp>
#include <weft/runtime/yield.hpp>

// select: wait on several channel operations, perform exactly one (Go's selectgo).
//
// Vocabulary
//   case        one argument of select: a receive or a send on a channel (a chan_waiter in the
//               awaiter, with a pointer to typed storage), a timer (after / deadline), or default.
//   poll order  a uniformly random permutation of the cases (Go's pollorder): the first ready
//               case in this order is a uniform choice among the ready ones.
//   lock order  the distinct channels sorted by address (Go's lockorder), so that two selects
//               locking overlapping sets cannot deadlock, and a channel named twice is locked once.
//   state       the select-wide word (select_state): init -> waiting -> claimed+i | cancelled.
//               Whoever moves it out of `waiting` by CAS owns the select's one completion
//               (Go's selectDone).
//   claimer     that party: a channel completer (a sender, receiver or close on one of the
//               channels, holding that channel's lock), the select's timer, or its cancel hook.
//
// Invariants
//   1. At most one case fires: only the CAS winner completes a case, and a case is completed
//      only by someone who holds its channel's lock and won the CAS (chan_core::dequeue).
//   2. A case that did not fire had no effect on its channel: its waiter gave or received no
//      value; it is removed from its queue (by pass 3, or by a completer that found it stale).
//   3. The selecting task is resumed exactly once, by the claimer, and only once the select's
//      timer can no longer touch the awaiter (it is unlinked, or its callback has finished).
//   4. While the cases are being enqueued (state init) no completer can see them: the select
//      holds every channel's lock until it has published `waiting`.
//
// Rejected approaches
//   - A random starting case, then scanning in order: not uniform (a case right after a case that
//     is never ready is chosen twice as often). Go draws a full permutation; so do we (n is small).
//   - Registering on every channel without their locks and re-checking (crossbeam's select):
//     needs every channel to re-offer values to other waiters after a lost race. Holding all the
//     locks while deciding keeps "a case that did not fire had no effect" a plain fact.
//   - Turning select into a coroutine (a task) to wait for its timer after a channel case won:
//     an allocation per select. Instead the claimer quiets the timer before waking the task.
//
// Current approach, in steps
//   start (await_suspend):
//     1. draw the poll order; build the lock order.
//     2. arm the cancel hook (not under the locks: waiter.cpp invariant 3). If the task is already
//        cancelled, remember that it may not wait.
//     3. lock every channel in lock order.
//     4. pass 1: in poll order, the first case that can proceed now (a channel op that completes
//        under its lock, or a timer whose deadline has passed) fires: unlock, wake the peer, done
//        (no suspension; the budget may make the task yield).
//     5. none: default fires if there is one; if the task may not wait, fail with the
//        cancellation error.
//     6. pass 2: in poll order (so that of several cases on one channel, a peer that arrives
//        later finds a uniformly chosen one first: Go enqueues in a lock order drawn from its
//        poll order for the same reason), enqueue a waiter for every channel case (sel = this,
//        its index; on a bounded channel first mark its ring empty or full, which fails, making
//        the case ready after all, if a lock-free operation got in since pass 1), register one
//        timer at the earliest deadline (on this worker: it cannot fire before we return), count
//        the task blocked, and publish st_waiting by CAS from st_init. If the hook got there first
//        (st_cancelled), undo everything under the still-held locks and fail.
//     7. unlock every channel, from a copy of the lock list on this thread's stack (after the
//        first unlock the task may run elsewhere, finish and free the awaiter), and suspend.
//   claim (channel completer, under its lock: chan_core::dequeue -> try_claim):
//     8. CAS waiting -> claimed+i; on failure the case is stale: drop it and look further.
//     9. move the value, mark the case done (or closed), release the lock, then wake_claimed():
//        cancel the timer (if it is being unlinked by its owner, the owner will queue the task
//        afterwards; if it has fired, wait for its callback to finish) and queue the task.
//   timer (on its owner worker): CAS waiting -> claimed+timer (waiting -> cancelled when a
//     shutdown fires it before its deadline: the select reports operation_canceled, as sleep_for
//     does); won: queue the task; lost: mark fire_complete as its last touch of the node.
//   cancel hook: CAS init -> cancelled (the select sees it in step 6), or waiting -> cancelled and
//     wake_claimed().
//   finish (await_resume), pass 3: lock every channel, take every case still queued off its queue,
//     unlock, disarm the hook; the state word says which case fired.
//
// References
//   Go runtime/select.go (selectgo: pollorder, lockorder, the three passes, selectDone);
//   Go runtime/chan.go (dequeue skips sudogs of selects that already fired).

#include <weft/runtime/detail/scheduler_hooks.hpp>
#include <weft/runtime/detail/timer_node.hpp>
#include <weft/sync/detail/select_core.hpp>

#include <cstdint>
#include <functional>

namespace weft::sync::detail {

namespace {

// A per-thread xorshift generator for the poll order (Go uses its per-M fastrand).
std::uint32_t fastrand() noexcept {
    thread_local std::uint32_t s = 0;
    if (s == 0) {
        s = static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(&s) >> 4) ^
            static_cast<std::uint32_t>(weft::detail::now_ns()) ^ 0x9E3779B9u;
        if (s == 0) {
            s = 1;
        }
    }
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    return s;
}

bool is_chan_case(const select_case_slot& s) noexcept {
    return s.k == select_case_slot::kind::recv || s.k == select_case_slot::kind::send;
}

} // namespace

select_core::select_core(
    select_case_slot* slots, std::uint32_t n, chan_core** locks, std::uint8_t* order) noexcept
    : cancel_hook{&on_cancel}
    , slots_(slots)
    , n_(n)
    , locks_(locks)
    , order_(order) {
    timer_.self = this;
    timer_.node.on_fire = &on_timer;
}

void select_core::lock_all() noexcept {
    for (std::uint32_t i = 0; i < nlocks_; ++i) {
        locks_[i]->lock_.lock();
    }
}

void select_core::unlock_all() noexcept {
    for (std::uint32_t i = nlocks_; i-- > 0;) {
        locks_[i]->lock_.unlock();
    }
}

void select_core::dequeue_all() noexcept {
    for (std::uint32_t i = 0; i < n_; ++i) {
        select_case_slot& s = slots_[i];
        if (is_chan_case(s) && s.chan != nullptr && s.w->state == wait_state::queued) {
            s.w->queue->remove(s.w);
            s.w->state = wait_state::idle;
        }
    }
}

bool select_core::start(std::coroutine_handle<> h, weft::detail::cancel_state* c) noexcept {
    handle_ = h;
    home_ = weft::detail::current_scheduler();
    cancel_ = c;

    // 1. Poll order (inside-out Fisher-Yates) and lock order (insertion sort, duplicates dropped).
    for (std::uint32_t i = 0; i < n_; ++i) {
        const std::uint32_t j = fastrand() % (i + 1);
        order_[i] = order_[j];
        order_[j] = static_cast<std::uint8_t>(i);
    }
    nlocks_ = 0;
    for (std::uint32_t i = 0; i < n_; ++i) {
        chan_core* ch = slots_[i].chan;
        if (!is_chan_case(slots_[i]) || ch == nullptr) {
            continue;
        }
        std::uint32_t k = nlocks_;
        bool dup = false;
        while (k > 0 && !std::less<chan_core*>{}(locks_[k - 1], ch)) {
            if (locks_[k - 1] == ch) {
                dup = true;
                break;
            }
            --k;
        }
        if (dup) {
            continue;
        }
        for (std::uint32_t m = nlocks_; m > k; --m) {
            locks_[m] = locks_[m - 1];
        }
        locks_[k] = ch;
        ++nlocks_;
    }

    // 2. Arm the hook outside the locks.
    bool may_wait = true;
    if (weft::detail::runtime_stopping()) {
        may_wait = false;
    } else if (cancel_ != nullptr) {
        armed_ = cancel_->arm(this);
        may_wait = armed_;
    }

    // 3-4. Lock, pass 1.
    lock_all();
    std::int64_t now = -1;
    std::uint32_t fallback = none;
    for (std::uint32_t k = 0; k < n_; ++k) {
        const std::uint32_t i = order_[k];
        select_case_slot& s = slots_[i];
        switch (s.k) {
        case select_case_slot::kind::recv:
        case select_case_slot::kind::send: {
            if (s.chan == nullptr) {
                break;
            }
            chan_waiter* peer = nullptr;
            const transfer_status st = s.try_now(s.typed, peer, false);
            if (st != transfer_status::would_block) {
                s.w->state = st == transfer_status::ok ? wait_state::done : wait_state::closed;
                fired_ = i;
                unlock_all();
                if (peer != nullptr) {
                    wake_chan(peer);
                }
                return false;
            }
            break;
        }
        case select_case_slot::kind::timer:
            if (now < 0) {
                now = weft::detail::now_ns();
            }
            if (s.deadline_ns <= now) {
                fired_ = i;
                unlock_all();
                return false;
            }
            break;
        case select_case_slot::kind::fallback:
            fallback = i;
            break;
        }
    }

    // 5. Default, or no waiting for a cancelled task.
    if (fallback != none || !may_wait) {
        unlock_all();
        fired_ = fallback;
        return false;
    }

    // 6. Pass 2: enqueue on every channel, start the timer, publish st_waiting.
    // In poll order, not argument order: of several cases on one channel, the peer that comes
    // later takes the one enqueued first, and that must be a uniform choice too.
    std::int64_t earliest = 0;
    for (std::uint32_t k = 0; k < n_; ++k) {
        const std::uint32_t i = order_[k];
        select_case_slot& s = slots_[i];
        if (is_chan_case(s)) {
            if (s.chan == nullptr) {
                continue;
            }
            if (s.chan->ring_mode()) {
                // Mark the ring empty (recv) or full (send) so that no lock-free operation slips
                // past us; if it no longer is, the case is ready after all: take it.
                chan_waiter* peer = nullptr;
                const transfer_status st = s.try_now(s.typed, peer, true);
                if (st != transfer_status::would_block) {
                    dequeue_all();
                    s.w->state = st == transfer_status::ok ? wait_state::done : wait_state::closed;
                    fired_ = i;
                    unlock_all();
                    if (peer != nullptr) {
                        wake_chan(peer);
                    }
                    return false;
                }
            }
            s.w->sel = this;
            s.w->case_index = i;
            s.chan->enqueue(
                s.k == select_case_slot::kind::recv ? s.chan->recvq_ : s.chan->sendq_, s.w);
        } else if (s.k == select_case_slot::kind::timer) {
            if (timer_case_ == none || s.deadline_ns < earliest) {
                timer_case_ = i;
                earliest = s.deadline_ns;
            }
        }
    }
    if (timer_case_ != none) {
        timer_.node.deadline_ns = earliest;
        timer_.node.waiter = h; // queued by the owner after a cancellation it had to unlink
        weft::detail::timer_register(&timer_.node);
    }
    weft::detail::blocked_enter(weft::detail::blocked_on::select);
    suspended_ = true;
    std::uint32_t expected = st_init;
    // acq_rel: publishes the enqueued cases and timer_case_ to the hook (which CASes this word
    // without any channel lock); completers see them through the channel locks.
    if (!state.compare_exchange_strong(
            expected, st_waiting, std::memory_order_acq_rel, std::memory_order_acquire)) {
        // The hook cancelled us while the cases were being enqueued; nobody else saw them.
        dequeue_all();
        if (timer_case_ != none) {
            (void)weft::detail::timer_cancel(&timer_.node); // on its owner: cancel_done
        }
        unlock_all();
        weft::detail::blocked_leave(weft::detail::blocked_on::select);
        suspended_ = false;
        fired_ = none;
        return false;
    }

    // 7. Release the locks from a copy on this stack, then suspend.
    chan_core* held[max_select_cases];
    const std::uint32_t nheld = nlocks_;
    for (std::uint32_t i = 0; i < nheld; ++i) {
        held[i] = locks_[i];
    }
    for (std::uint32_t i = nheld; i-- > 0;) {
        held[i]->lock_.unlock();
    }
    return true;
}

std::uint32_t select_core::finish() noexcept {
    if (suspended_) {
        // Pass 3: take the cases that did not fire off their queues.
        lock_all();
        dequeue_all();
        unlock_all();
        weft::detail::blocked_leave(weft::detail::blocked_on::select);
        // acquire: pairs with the claimer's CAS; the value it moved into our case is visible.
        const std::uint32_t s = state.load(std::memory_order_acquire);
        if (s >= st_claimed) {
            fired_ = s - st_claimed;
        } else {
            fired_ = none;
        }
    }
    if (armed_) {
        armed_ = false;
        cancel_->disarm();
    }
    return fired_;
}

std::error_code select_core::cancel_error() const noexcept {
    return cancel_ != nullptr ? cancel_->error() : make_error_code(weft::errc::canceled);
}

void select_core::wake_claimed() noexcept {
    if (timer_case_ != none) {
        switch (weft::detail::timer_cancel(&timer_.node)) {
        case weft::detail::cancel_result::cancel_done:
            break;
        case weft::detail::cancel_result::cancel_pending:
            return; // its owner unlinks it, then queues timer_.node.waiter: our task
        case weft::detail::cancel_result::cancel_lost:
            // It fired and lost the claim; its callback ends by marking fire_complete.
            // acquire: pairs with that release store.
            weft::detail::wait_fire_complete(timer_.node);
            break;
        }
    }
    weft::detail::schedule_wakeup_on(home_, handle_);
}

void select_core::on_cancel(weft::detail::cancel_hook* h) noexcept {
    auto* self = static_cast<select_core*>(h);
    std::uint32_t s = self->state.load(std::memory_order_acquire);
    for (;;) {
        if (s == st_init) {
            // Not enqueued yet (or not waiting at all): start() sees it under the locks.
            if (self->state.compare_exchange_weak(
                    s, st_cancelled, std::memory_order_acq_rel, std::memory_order_acquire)) {
                return;
            }
        } else if (s == st_waiting) {
            if (self->state.compare_exchange_weak(
                    s, st_cancelled, std::memory_order_acq_rel, std::memory_order_acquire)) {
                self->wake_claimed();
                return;
            }
        } else {
            return; // a case already fired
        }
    }
}

void select_core::on_timer(weft::detail::timer_node* n) noexcept {
    // On the timer's owner worker. The node is the first member of the box.
    select_core* self = reinterpret_cast<timer_box*>(n)->self;
    // A shutdown fires every timer early (runtime/src/timers.cpp): before its deadline that is a
    // cancellation of the select, as sleep_for reports it, not its after() case firing.
    const bool early = weft::detail::runtime_stopping() && weft::detail::now_ns() < n->deadline_ns;
    if (early ? self->try_cancel_claim() : self->try_claim(self->timer_case_)) {
        weft::detail::schedule_wakeup_on(self->home_, self->handle_);
        return;
    }
    // release: the claimer spinning in wake_claimed may free the node once it sees this.
    n->state.store(weft::detail::timer_node::fire_complete, std::memory_order_release);
}

void wake_select_case(chan_waiter* w) noexcept {
    static_cast<select_core*>(w->sel)->wake_claimed();
}

} // namespace weft::sync::detail

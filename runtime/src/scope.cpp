// weft::scope (scope.hpp): a task group whose children never outlive it.
//
// Vocabulary
//   child     a task spawned into the scope; its join word points at its slot.
//   slot      one live child's place: the join_listener its join word points at, its frame and
//             promise, and its links in the live list (which the cancel-all walks). Slots come
//             from slabs the scope keeps until it is destroyed and reuses through a free list,
//             so after warm-up a child costs its frame and nothing more, and a scope's memory is
//             proportional to the most children it had alive at once.
//   count     live children plus children whose frames are being freed; join() returns when it
//             is zero.
//
// Protocol (everything under mu, a spin lock; never held across user code or a frame's
// destruction, and taken after the joiner's cancel state, so the lock order is always
// joiner's cancel state -> mu -> children's cancel states)
//   1. adopt(): take a slot, link it live, count the child in, spawn it. A scope cancelled
//      already cancels the child before it runs (so its body never starts).
//   2. A finishing child (on_child_done, from its final suspend) leaves the live list and gives
//      back its slot, records itself as the first failure if it is one (cancelling the others),
//      then destroys its own frame with mu released, then counts itself out and hands the joiner
//      back if it was the last. Counting out only after the frame is gone means nothing of a
//      child (its parameters' destructors) runs after join() returns.
//   3. join() arms the joiner's cancel hook, then publishes the joiner's handle under mu after
//      re-checking the count; the last child takes the handle and transfers to it.
//
// A per-scope spin lock, not a lock-free list: the scope's work per child is a few dozen
// instructions under the lock (the frame allocation and the scheduling dominate), and the
// cancel-all and the last-child hand-off stay obviously correct. The fork-join hot path with
// no shared table at all is spawn + join, or when_all.

#include <weft/runtime/scope.hpp>

#include <weft/runtime/detail/spin_lock.hpp>

#include <cstddef>
#include <exception>
#include <new>
#include <type_traits>
#include <utility>

namespace weft {

struct scope::slot : detail::join_listener {
    slot() noexcept
        : join_listener{&scope::on_child_done} {}
    scope* owner = nullptr;
    slot* prev = nullptr;                  // guarded by mu: the live list
    slot* next = nullptr;                  // guarded by mu: the live list, or the free list
    detail::promise_base* child = nullptr; // guarded by mu
    std::coroutine_handle<> frame{};       // guarded by mu
};

namespace {

// A block of slots; slabs double in size up to max_slab so that small scopes stay small.
struct slab {
    slab* next;
    std::size_t n;
    // followed by n slots
};
constexpr std::size_t first_slab = 8;
constexpr std::size_t max_slab = 1024;

} // namespace

struct scope::bookkeeping {
    detail::spin_lock mu;
    bool cancelled = false;              // guarded by mu
    slot* live = nullptr;                // guarded by mu: children the cancel-all must reach
    slot* free = nullptr;                // guarded by mu
    slab* slabs = nullptr;               // guarded by mu
    std::size_t next_slab = first_slab;  // guarded by mu
    std::size_t count = 0;               // guarded by mu: live children plus dying ones
    unsigned char* unmade = nullptr;     // guarded by mu: the newest slab's slots not yet made
    unsigned char* unmade_end = nullptr; // guarded by mu
    std::exception_ptr first_error;      // guarded by mu
    std::coroutine_handle<> waiter{};    // guarded by mu: the task in join()

    slot* take_locked(scope* owner) noexcept {
        if (slot* s = free) {
            free = s->next;
            return s;
        }
        if (unmade != unmade_end) {
            auto* s = ::new (static_cast<void*>(unmade)) slot();
            unmade += sizeof(slot);
            s->owner = owner;
            return s;
        }
        return nullptr;
    }
    void link_live(slot* s) noexcept {
        s->prev = nullptr;
        s->next = live;
        if (live != nullptr) {
            live->prev = s;
        }
        live = s;
    }
    void unlink_live(slot* s) noexcept {
        if (s->prev != nullptr) {
            s->prev->next = s->next;
        } else {
            live = s->next;
        }
        if (s->next != nullptr) {
            s->next->prev = s->prev;
        }
    }
    void give_back(slot* s) noexcept {
        s->child = nullptr;
        s->frame = {};
        s->next = free;
        free = s;
    }
    void cancel_live() noexcept {
        for (slot* s = live; s != nullptr; s = s->next) {
            s->child->own_cancel_.request(detail::cancel_reason::cancelled);
        }
    }
};

scope::bookkeeping& scope::book() const noexcept {
    return *std::launder(reinterpret_cast<bookkeeping*>(storage_));
}

scope::scope() noexcept
    : detail::cancel_hook{&on_parent_cancel} {
    static_assert(
        sizeof(bookkeeping) <= bookkeeping_size && alignof(bookkeeping) <= alignof(void*),
        "weft::scope::bookkeeping_size is too small for this standard library");
    static_assert(std::is_nothrow_default_constructible_v<bookkeeping>);
    ::new (static_cast<void*>(storage_)) bookkeeping();
}

scope::~scope() {
    bookkeeping& b = book();
    {
        detail::spin_guard g(b.mu);
        WEFT_ASSERT(
            b.count == 0,
            "weft::scope destroyed while children are running: co_await scope.join() first");
    }
    static_assert(std::is_trivially_destructible_v<slot>); // slabs are freed as raw memory
    for (slab* sl = b.slabs; sl != nullptr;) {
        ::operator delete(std::exchange(sl, sl->next));
    }
    b.~bookkeeping();
}

scope::slot* scope::take_slot() {
    bookkeeping& b = book();
    std::size_t want = 0;
    {
        detail::spin_guard g(b.mu);
        if (slot* s = b.take_locked(this)) {
            return s;
        }
        want = b.next_slab;
    }
    // Allocate outside the lock (it may be slow, or throw bad_alloc with nothing changed). The
    // slots are made one at a time as they are first needed (take_locked), so a slab's pages are
    // touched only as far as the scope uses them.
    static_assert(sizeof(slab) % alignof(slot) == 0);
    void* mem = ::operator new(sizeof(slab) + want * sizeof(slot));
    auto* sl = ::new (mem) slab{nullptr, want};
    auto* first = reinterpret_cast<unsigned char*>(sl + 1);
    detail::spin_guard g(b.mu);
    sl->next = b.slabs;
    b.slabs = sl;
    if (b.next_slab < max_slab) {
        b.next_slab *= 2;
    }
    // Slots of the previous slab not yet made are dropped: its memory stays with the scope.
    b.unmade = first;
    b.unmade_end = first + want * sizeof(slot);
    return b.take_locked(this);
}

void scope::adopt(std::coroutine_handle<> h, detail::promise_base& p) {
    bookkeeping& b = book();
    slot* s = nullptr;
    try {
        s = take_slot();
    } catch (...) {
        detail::destroy_frame(h, p); // never started: nothing of it has run
        throw;
    }
    p.join_.preset_listener(s);
    bool cancel_now = false;
    {
        detail::spin_guard g(b.mu);
        s->child = &p;
        s->frame = h;
        b.link_live(s);
        ++b.count;
        cancel_now = b.cancelled;
    }
    if (cancel_now) {
        p.own_cancel_.request(detail::cancel_reason::cancelled);
    }
    try {
        detail::schedule_spawn(h);
    } catch (...) {
        detail::spin_guard g(b.mu); // schedule_spawn destroyed the frame
        b.unlink_live(s);
        b.give_back(s);
        --b.count;
        throw;
    }
}

void scope::cancel() noexcept {
    bookkeeping& b = book();
    detail::spin_guard g(b.mu);
    b.cancelled = true;
    b.cancel_live();
}

std::size_t scope::size() const {
    bookkeeping& b = book();
    detail::spin_guard g(b.mu);
    return b.count;
}

bool scope::suspend_join(std::coroutine_handle<> h, detail::cancel_state* c) {
    // Arm before publishing the waiter: once published, the last child may resume us at once.
    waiter_cancel_ = c;
    if (c != nullptr && !c->arm(this)) {
        waiter_cancel_ = nullptr;
        cancel(); // the joiner is cancelled already: so are its children; still wait for them
    }
    detail::blocked_enter(detail::blocked_on::join);
    waited_ = true;
    bookkeeping& b = book();
    detail::spin_guard g(b.mu);
    if (b.count == 0) {
        waited_ = false;
        detail::blocked_leave(detail::blocked_on::join);
        if (waiter_cancel_ != nullptr) {
            waiter_cancel_->disarm();
        }
        return false;
    }
    b.waiter = h;
    return true;
}

void scope::resume_join() {
    if (waited_) {
        waited_ = false;
        detail::blocked_leave(detail::blocked_on::join);
        if (waiter_cancel_ != nullptr) {
            waiter_cancel_->disarm();
        }
    }
    std::exception_ptr e;
    {
        bookkeeping& b = book();
        detail::spin_guard g(b.mu);
        e = std::exchange(b.first_error, nullptr);
    }
    if (e) {
        std::rethrow_exception(e);
    }
}

std::coroutine_handle<> scope::on_child_done(detail::join_listener* self, void* child) noexcept {
    auto* s = static_cast<slot*>(self);
    auto* p = static_cast<detail::promise_base*>(child);
    bookkeeping& b = s->owner->book();
    std::coroutine_handle<> frame;
    {
        detail::spin_guard g(b.mu);
        frame = s->frame;
        b.unlink_live(s);
        b.give_back(s);
        // A child's cancelled_error is a failure only when the scope did not ask for it: after
        // cancel() (explicit, by a failed sibling, or by a cancelled joiner) it is what the
        // children were told to do.
        if (p->exception_ && !b.first_error &&
            !(b.cancelled && detail::is_cancellation(p->exception_))) {
            b.first_error = p->exception_;
            b.cancelled = true;
            b.cancel_live();
        }
    }
    // The child is suspended at its final point: freeing it here is allowed. Before it counts
    // out, so that join() returns only once every child's frame is gone.
    detail::destroy_frame(frame, *p);
    std::coroutine_handle<> resume;
    {
        detail::spin_guard g(b.mu);
        if (--b.count == 0 && b.waiter) {
            resume = std::exchange(b.waiter, {});
        }
    } // last touch of the scope: the joiner may destroy it once it resumes
    return resume ? resume : std::noop_coroutine();
}

void scope::on_parent_cancel(detail::cancel_hook* self) noexcept {
    static_cast<scope*>(self)->cancel();
}

} // namespace weft

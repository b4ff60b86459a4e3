// chat_server: a line-based pub/sub chat over TCP. Each client has a reader task and a writer
// task joined by a bounded weft::sync::channel, and a client too slow to keep up is dropped
// rather than allowed to slow its rooms down.
//
//     $ ./chat_server 7001                # port 0 picks a free one; [ping-ms] may follow
//     chat_server listening on 127.0.0.1:7001 (io backend: io_uring)
//     $ nc 127.0.0.1 7001
//     NICK ada
//     OK
//     JOIN lobby
//     OK
//     MSG lobby hello
//     FROM lobby ada hello
//
// The protocol: one command per line (ending "\n" or "\r\n"), uppercase command words, replies
// one line each.
//   NICK <name>        must come first: OK, ERR bad name, ERR name taken (ERR already named if
//                      repeated). Before it, every command but QUIT gets ERR NICK first.
//   JOIN <room>        OK (also when already a member), or ERR bad room.
//   LEAVE <room>       OK, or ERR not a member.
//   MSG <room> <text>  broadcast "FROM <room> <nick> <text>" to every member of the room, the
//                      sender included (its copy is the acknowledgement, and shows where its
//                      message falls among the others'); ERR not a member if the sender is not.
//   WHO <room>         "WHO <room> <nick>..." (members in the order they joined).
//   ROOMS              "ROOMS <room>..." (every room with a member, sorted).
//   PING               PONG.   QUIT: BYE, and the server closes the connection.
// Anything else: ERR unknown command. A line longer than 4096 bytes (without its ending): ERR
// line too long, and the connection is closed. Names (nicks and rooms) are 1 to 32 characters
// of A-Z a-z 0-9 _ - # . and nicks are unique among the connected clients.
// From the server: "PING" after every ping-ms (default 30000) without other output, a keep-alive
// the client may ignore; "DROPPED <room> <nick>" to a room when one of its members is dropped.
//
// The design, in four points (each is spelt out where it is coded):
//   1. Per client, a reader task (serve(): commands in) and a writer task (write_loop(): lines
//      out) joined by the client's outbox, a channel<std::string> of 256 lines. Only the writer
//      touches the socket's sending side, so lines from many senders never interleave.
//   2. Every line to a client, a reply or a broadcast, goes in with try_send, which never waits,
//      under the rooms' lock. A line that finds an outbox full is delivered after the lock is
//      released, by a select on the outbox's send_case and after(500ms); if the outbox is still
//      full then (its client has not read for 256 lines and its socket buffers are full too),
//      that client is dropped: its outbox closed, its socket's pending reads and writes
//      interrupted, its rooms told. A room waits at most 500 ms, once, for a slow member.
//   3. The writer waits with select on its outbox and after(ping): a quiet connection gets a
//      PING, so a client (or a NAT box on the way) sees the server is alive.
//   4. The rooms and nicks are a map behind one weft::sync::mutex (class hub).
// SIGINT or SIGTERM shuts it down gracefully (graceful.hpp): no new connections, 2 s for the open
// ones to end, then the rest are cancelled, and it exits 0.

#include <weft/io.hpp>
#include <weft/runtime.hpp>
#include <weft/sync.hpp>

#include "graceful.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

using weft::io::tcp_stream;

constexpr std::size_t max_line = 4096;       // a command's bytes, without its line ending
constexpr std::size_t outbox_capacity = 256; // lines queued for one client before it is dropped
constexpr std::size_t max_name = 32;
constexpr auto slow_grace = 500ms; // how long a full outbox may stay full before its client goes

// ---- a client --------------------------------------------------------------------------------

// One connection. Shared (std::shared_ptr) by its two tasks and by the rooms it is in, so that a
// broadcast may interrupt its socket at any time.
struct client {
    explicit client(tcp_stream s)
        : conn(std::move(s)) {}

    tcp_stream conn;
    weft::sync::channel<std::string> outbox{outbox_capacity};
    // The rest is guarded by the hub's lock.
    std::string nick;            // empty until NICK succeeds
    std::set<std::string> rooms; // the rooms it is a member of
    bool closed = false;         // outbox closed: the client is leaving or was dropped
    bool dropped = false;        // it was dropped for being too slow
};

using client_ptr = std::shared_ptr<client>;

// Interrupts every read and write in flight on `conn` and fails every later one (a deadline in the
// past: Go's idiom for unblocking a connection's reader from another task).
void interrupt(tcp_stream& conn) {
    conn.set_deadline(weft::clock::now());
}

// ---- the rooms -------------------------------------------------------------------------------

// The shared state: who is connected under which nick, and who is in which room.
//
// Why a map behind one weft::sync::mutex rather than a room-manager task fed by a channel: every
// critical section is short and never waits (lookups, and try_send into each member's outbox,
// which cannot block), so a lock is the simplest thing that is correct. A manager task would
// serialize the same work just as much, add two channel hops per command (the request, and a
// reply channel for NICK/WHO/ROOMS, whose answers the reader needs), and would need its own
// shutdown. The weft mutex rather than std::mutex: a contended waiter parks its task, not its
// worker thread (see kv_server.cpp). One lock for all rooms, not one per room: a drop touches
// every room of the dropped client, and one lock keeps that, and NICK's uniqueness, trivially
// consistent; a broadcast to 1,000 members holds it for some tens of microseconds.
//
// Every member function but lock() requires the lock to be held.
class hub {
public:
    using guard = weft::sync::unique_guard<weft::sync::mutex>;

    auto lock() { return lock_.lock(); }

    // A line that found its client's outbox full, for the command's task to deliver after
    // unlocking, or drop the client (deliver_late).
    struct late_line {
        client_ptr to;
        std::string line;
    };

    // Queues `line` for `c`, never waiting. A full outbox defers it to late_lines().
    void send_to(const client_ptr& c, std::string line) {
        if (c->closed) {
            return; // leaving: nothing more goes to it
        }
        auto r = c->outbox.try_send(std::move(line)); // on failure `line` is left as it was
        if (!r && r.error() == std::errc::operation_would_block) {
            late_.push_back({c, std::move(line)});
        }
    }

    // The lines send_to deferred since the last call (the calling command's).
    std::vector<late_line> late_lines() { return std::exchange(late_, {}); }

    // A client too slow for its rooms: nothing more is queued for it, its writer's blocked write
    // and its reader's read fail at once (both tasks then end, and the socket closes). Its rooms
    // are told at settle().
    void drop(const client_ptr& c) {
        if (c->closed) {
            return; // already leaving
        }
        c->dropped = true;
        close_outbox(*c);
        interrupt(c->conn);
        drops_.push_back(c);
    }

    // Sends `line` to every member of `room` (if it exists).
    void broadcast(const std::string& room, const std::string& line) {
        auto it = rooms_.find(room);
        if (it == rooms_.end()) {
            return;
        }
        // send_to never changes membership (a full outbox is only recorded), so iterating is safe.
        for (const client_ptr& m : it->second) {
            send_to(m, line);
        }
    }

    bool claim_nick(const client_ptr& c, std::string_view name) {
        auto [it, inserted] = nicks_.try_emplace(std::string(name), c);
        if (inserted) {
            c->nick = name;
        }
        return inserted;
    }

    void join(const client_ptr& c, const std::string& room) {
        if (c->rooms.insert(room).second) {
            rooms_[room].push_back(c);
        }
    }

    bool leave(const client_ptr& c, const std::string& room) {
        if (c->rooms.erase(room) == 0) {
            return false;
        }
        remove_member(c, room);
        return true;
    }

    bool is_member(const client_ptr& c, const std::string& room) const {
        return c->rooms.contains(room);
    }

    std::string who(const std::string& room) const {
        std::string line = "WHO " + room;
        if (auto it = rooms_.find(room); it != rooms_.end()) {
            for (const client_ptr& m : it->second) {
                line += ' ';
                line += m->nick;
            }
        }
        return line + '\n';
    }

    std::string room_list() const {
        std::string line = "ROOMS";
        for (const auto& [name, members] : rooms_) {
            line += ' ';
            line += name;
        }
        return line + '\n';
    }

    // The client is going (its reader ended): out of every room, its nick free again, its outbox
    // closed so its writer sends what is queued and ends. Idempotent.
    void remove(const client_ptr& c) {
        forget(c);
        close_outbox(*c);
    }

    // Handles the drops: each dropped client leaves its rooms, which are told with a DROPPED
    // line. Call before unlocking, after drop().
    void settle() {
        while (!drops_.empty()) {
            const client_ptr c = std::move(drops_.back());
            drops_.pop_back();
            const std::set<std::string> was_in = c->rooms;
            forget(c);
            for (const std::string& room : was_in) {
                broadcast(room, "DROPPED " + room + ' ' + c->nick + '\n');
            }
        }
    }

private:
    static void close_outbox(client& c) {
        if (!c.closed) {
            c.closed = true;
            c.outbox.close();
        }
    }

    void forget(const client_ptr& c) {
        for (const std::string& room : c->rooms) {
            remove_member(c, room);
        }
        c->rooms.clear();
        if (auto it = nicks_.find(c->nick); it != nicks_.end() && it->second == c) {
            nicks_.erase(it);
        }
    }

    void remove_member(const client_ptr& c, const std::string& room) {
        auto it = rooms_.find(room);
        if (it == rooms_.end()) {
            return;
        }
        std::erase(it->second, c);
        if (it->second.empty()) {
            rooms_.erase(it);
        }
    }

    weft::sync::mutex lock_;
    std::unordered_map<std::string, client_ptr> nicks_;
    std::map<std::string, std::vector<client_ptr>> rooms_; // members in the order they joined
    std::vector<client_ptr> drops_;                        // dropped, not yet out of their rooms
    std::vector<late_line> late_;                          // for the command running now
};

// ---- the writer task -------------------------------------------------------------------------

// Sends what arrives in the outbox until it is closed and drained, or the connection fails; a
// PING when nothing was sent for `ping`. If the connection fails, interrupts the reader too.
weft::task<> write_loop(client_ptr c, std::chrono::milliseconds ping) {
    weft::io::buffered_writer<tcp_stream> out(c->conn, 16 * 1024);
    bool ok = true;
    for (;;) {
        // Go: select { case line, ok := <-outbox: ...; case <-time.After(ping): ... }
        auto r = co_await weft::sync::select(c->outbox.recv_case(), weft::sync::after(ping));
        if (r.index() == 1) {
            ok = static_cast<bool>(co_await out.write("PING\n"));
        } else if (r.index() == 0) {
            auto& line = r.get<0>();
            if (!line) {
                break; // closed and drained: the client is leaving (or was dropped)
            }
            ok = static_cast<bool>(co_await out.write(*line));
            // Whatever else is queued goes out in the same write (a flood costs few syscalls).
            for (std::size_t i = 0; ok && i < outbox_capacity; ++i) {
                auto more = c->outbox.try_recv();
                if (!more) {
                    break;
                }
                ok = static_cast<bool>(co_await out.write(*more));
            }
        } else {
            break; // cancelled (the server is shutting down)
        }
        if (!ok || !co_await out.flush()) {
            interrupt(c->conn); // the client is gone, or was dropped: the reader stops too
            break;
        }
    }
    (void)co_await out.flush(); // the last lines: BYE, ERR line too long, ...
}

// ---- the reader task -------------------------------------------------------------------------

bool valid_name(std::string_view s) {
    if (s.empty() || s.size() > max_name) {
        return false;
    }
    for (const char ch : s) {
        const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                        (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '#' ||
                        ch == '.';
        if (!ok) {
            return false;
        }
    }
    return true;
}

// "WORD rest": the first word, and what follows the single space after it.
std::pair<std::string_view, std::string_view> split_word(std::string_view s) {
    const std::size_t sp = s.find(' ');
    if (sp == std::string_view::npos) {
        return {s, {}};
    }
    return {s.substr(0, sp), s.substr(sp + 1)};
}

// How a connection's reading ended.
enum class ending {
    gone,       // end of stream, an error, the writer failed, or the server shuts down
    close_ours, // QUIT or a line too long: we close, after our last reply
};

// Runs one command line; the lines it could not queue at once go to `late`. Returns how the
// connection ends, if it is to end now: QUIT, the client was dropped, or the lock could not be
// taken (the task was cancelled while waiting for it).
weft::task<std::optional<ending>>
run_command(hub& h, const client_ptr& c, std::string_view line, std::vector<hub::late_line>& late) {
    const auto [cmd, rest] = split_word(line);
    auto g = co_await h.lock();
    if (!g) {
        co_return ending::gone;
    }
    bool go_on = true;
    auto reply = [&](std::string text) { h.send_to(c, std::move(text) + '\n'); };
    if (cmd == "QUIT") {
        reply("BYE");
        go_on = false;
    } else if (cmd == "PING") {
        reply("PONG");
    } else if (cmd == "NICK") {
        if (!c->nick.empty()) {
            reply("ERR already named");
        } else if (!valid_name(rest)) {
            reply("ERR bad name");
        } else {
            reply(h.claim_nick(c, rest) ? "OK" : "ERR name taken");
        }
    } else if (cmd != "JOIN" && cmd != "LEAVE" && cmd != "MSG" && cmd != "WHO" && cmd != "ROOMS") {
        reply("ERR unknown command");
    } else if (c->nick.empty()) {
        reply("ERR NICK first");
    } else if (cmd == "ROOMS") {
        h.send_to(c, h.room_list());
    } else {
        const auto [room_view, text] = split_word(rest);
        const std::string room(room_view);
        if (!valid_name(room)) {
            reply("ERR bad room");
        } else if (cmd == "JOIN") {
            h.join(c, room);
            reply("OK");
        } else if (cmd == "LEAVE") {
            reply(h.leave(c, room) ? "OK" : "ERR not a member");
        } else if (cmd == "WHO") {
            h.send_to(c, h.who(room));
        } else if (!h.is_member(c, room)) { // MSG
            reply("ERR not a member");
        } else {
            std::string out;
            out.reserve(room.size() + c->nick.size() + text.size() + 8);
            out.append("FROM ").append(room).append(" ").append(c->nick);
            out.append(" ").append(text).append("\n");
            h.broadcast(room, out); // one sender's lines reach each member in order: see below
        }
    }
    h.settle();
    late = h.late_lines();
    // Still holding the lock: commands run one at a time across all clients, so two messages of
    // one sender are queued everywhere in the order sent, and a JOIN's OK precedes the room's
    // next FROM.
    if (c->dropped) {
        co_return ending::gone;
    }
    if (!go_on) {
        co_return ending::close_ours;
    }
    co_return std::nullopt;
}

// Delivers the lines that found their client's outbox full, waiting at most `slow_grace` for
// each client (the one place a command waits for another client). A client whose outbox stays
// full that long is dropped. False: cancelled.
//
// Why wait at all, rather than drop a client the moment its outbox is full: a burst of commands
// (300 MSGs in one packet, each read completing at once from the buffer) can fill the outboxes of
// perfectly healthy members before their writer tasks get a turn on a worker. A member that is
// merely not scheduled yet drains within microseconds; one whose socket has stopped taking data
// does not drain at all. The wait tells them apart and paces a bursting sender to its room; it
// costs the room at most slow_grace once per slow client, which is then gone.
weft::task<bool> deliver_late(hub& h, std::vector<hub::late_line> late) {
    for (std::size_t i = 0; i < late.size(); ++i) {
        client_ptr to = late[i].to;
        // Go: select { case to.outbox <- line: ; case <-time.After(slow_grace): drop(to) }
        auto r = co_await weft::sync::select(
            to->outbox.send_case(std::move(late[i].line)), weft::sync::after(slow_grace));
        if (r.index() == 0) {
            continue; // queued (or the outbox was closed: the client is leaving anyway)
        }
        if (r.index() != 1) {
            co_return false; // cancelled
        }
        auto g = co_await h.lock();
        if (!g) {
            co_return false;
        }
        h.drop(to);
        h.settle(); // tells its rooms, whose members may be full too: more late lines
        for (auto& more : h.late_lines()) {
            late.push_back(std::move(more));
        }
    }
    co_return true;
}

weft::task<ending> read_loop(hub& h, const client_ptr& c) {
    std::vector<hub::late_line> late;
    // The limit counts the line ending: two bytes more than the longest command.
    weft::io::buffered_reader<tcp_stream> in(c->conn, max_line + 2, max_line + 2);
    for (;;) {
        auto line = co_await in.read_line(); // a view into the reader's buffer
        bool too_long = false;
        if (!line) {
            if (line.error() != weft::io::errc::message_too_long) {
                co_return ending::gone;
            }
            too_long = true;
        } else if (line->size() > max_line) {
            too_long = true; // 4097 or 4098 bytes before "\n"
        }
        if (too_long) {
            auto g = co_await h.lock();
            if (g) {
                h.send_to(c, "ERR line too long\n");
                late = h.late_lines();
                g->unlock();
                (void)co_await deliver_late(h, std::move(late));
            }
            co_return ending::close_ours;
        }
        if (line->empty()) {
            continue;
        }
        const auto end = co_await run_command(h, c, *line, late);
        if (!late.empty() && !co_await deliver_late(h, std::exchange(late, {}))) {
            co_return ending::gone;
        }
        if (end) {
            co_return *end;
        }
    }
}

// The client is going: out of the hub. Returns whether it had been dropped.
weft::task<bool> leave_hub(hub& h, client_ptr c) {
    auto g = co_await h.lock();
    if (!g) {
        co_return true; // cancelled while waiting: treat it as gone
    }
    h.remove(c);
    co_return c->dropped;
}

// Closing while the client still sends would make the kernel reset the connection, and the client
// could lose our last reply. So: send FIN, then drop what still comes, for at most 1 s (as
// kv_server.cpp does).
weft::task<> close_gently(tcp_stream& conn) {
    (void)conn.shutdown(weft::io::shutdown_how::write);
    conn.set_read_deadline(weft::clock::now() + 1s);
    std::array<char, 4096> sink;
    for (int i = 0; i < 64; ++i) {
        auto n = co_await conn.read(std::span(sink));
        if (!n || *n == 0) {
            break;
        }
    }
}

// One connection: the writer as a child task, the reader right here.
weft::task<> serve(tcp_stream conn, hub& h, std::chrono::milliseconds ping) {
    (void)conn.set_nodelay(true); // each flush goes out at once
    auto c = std::make_shared<client>(std::move(conn));
    weft::scope writer; // the writer never outlives this function
    writer.spawn(write_loop(c, ping));
    const ending why = co_await read_loop(h, c);
    // Out of the hub even when the server is shutting down and this task is cancelled: the
    // shield lets the lock be waited for (for at most 1 s).
    const auto dropped = co_await weft::shield(1s, leave_hub(h, c));
    co_await writer.join(); // the outbox is closed: the writer sends what is left, then ends
    if (why == ending::close_ours && dropped && !*dropped) {
        co_await close_gently(c->conn);
    }
}

} // namespace

int main(int argc, char** argv) {
    std::optional<std::uint16_t> port = 7001;
    std::optional<std::uint32_t> ping_ms = 30000;
    if (argc > 3 || (argc >= 2 && !(port = examples::parse_number<std::uint16_t>(argv[1]))) ||
        (argc == 3 &&
         (!(ping_ms = examples::parse_number<std::uint32_t>(argv[2])) || *ping_ms == 0))) {
        std::fprintf(
            stderr,
            "usage: chat_server [port [ping-ms]]   (default 7001 and 30000; port 0 picks a free "
            "one)\n");
        return 2;
    }
    hub h; // outlives the runtime, so every connection task may hold a reference to it
    const std::chrono::milliseconds ping(*ping_ms);
    auto serve_one = [&h, ping](tcp_stream conn) { return serve(std::move(conn), h, ping); };
    return weft::run(examples::listen_and_serve("chat_server", *port, serve_one, 2s));
}

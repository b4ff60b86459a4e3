// kv_server: an in-memory key-value server that speaks the Redis protocol (RESP2), so redis-cli,
// redis-benchmark and Redis client libraries can talk to it. A task per connection, as in
// echo_server.cpp; framing with weft::io::buffered_reader and buffered_writer.
//
//     $ ./kv_server 6380                  # port 0 picks a free one
//     kv_server listening on 127.0.0.1:6380 (io backend: io_uring)
//     $ redis-cli -p 6380 set greeting hello
//     OK
//     $ redis-cli -p 6380 get greeting
//     "hello"
//     $ redis-benchmark -p 6380 -t set,get -n 100000 -q
//
// Commands: PING [msg], ECHO msg, GET key, SET key value [EX seconds | PX ms] [NX | XX],
// DEL key..., EXISTS key..., INCR key, DECR key, EXPIRE/PEXPIRE key n, TTL/PTTL key, MGET key...,
// MSET key value..., DBSIZE, FLUSHALL, COMMAND (an empty array: enough for redis-cli), CONFIG GET
// name (`save` and `appendonly`, which redis-benchmark asks for, say there is no persistence; any
// other name gives an empty array), QUIT. Errors are Redis's own words.
//
// How a connection is served (serve() below):
//   1. read one command: an array of bulk strings ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", what every
//      client library sends) or an inline command ("PING\r\n": a line of words, as typed into
//      telnet and as redis-benchmark sends PING_INLINE);
//   2. run it against the store and append the reply to the buffered writer;
//   3. before reading the next command, flush the replies, but only if the reader does not
//      already hold that whole command: a pipelining client (redis-benchmark -P 16, or 100
//      commands in one send) gets all of a batch's replies in one write.
// Hostile input: a line longer than 64 KiB, a bulk string longer than 512 MiB (Redis's
// proto-max-bulk-len) or anything that is not RESP gets `-ERR Protocol error: ...` and the
// connection is closed. A bulk string's buffer grows with the bytes that arrive, not with the
// length the client announces, so a lie costs the liar nothing but its connection.
//
// Kept simple on purpose: no persistence, no other data types, no inline quoting ("a b" is two
// words), expiry only checked when a key is touched (and by DBSIZE).

#include <weft/io.hpp>
#include <weft/runtime.hpp>
#include <weft/sync.hpp>

#include "graceful.hpp"

#include <algorithm>
#include <array>
#include <bitset>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

using weft::io::buffered_reader;
using weft::io::buffered_writer;
using weft::io::tcp_stream;
using steady = std::chrono::steady_clock;

// ---- limits ----------------------------------------------------------------------------------

constexpr std::size_t max_line = 64 * 1024;            // an inline command, a "*N" or "$N" line
constexpr std::int64_t max_bulk = 512LL * 1024 * 1024; // one argument (Redis: proto-max-bulk-len)
constexpr std::int64_t max_args = 1024 * 1024;         // arguments of one command
constexpr std::uint64_t max_command = 1ULL << 30; // all of one command's arguments (Redis: 1 GiB)

// ---- the store -------------------------------------------------------------------------------

struct entry {
    std::string value;
    steady::time_point expires{}; // the epoch: never
};

struct string_hash {
    using is_transparent = void; // lets find() take a string_view: no std::string per lookup
    std::size_t operator()(std::string_view s) const noexcept {
        return std::hash<std::string_view>{}(s);
    }
};

using guard = weft::sync::unique_guard<weft::sync::mutex>;

// The data: 64 shards, each a hash map behind its own lock, so that connections working on
// different keys rarely wait for each other.
//
// Why weft::sync::mutex rather than std::mutex, although no critical section here ever spans a
// co_await (each is a hash lookup and a copy): uncontended, the two cost the same (one atomic
// exchange to lock, one to unlock; weft's spins briefly before it waits). Contended, a std::mutex
// blocks the worker thread, and with it every task queued on that worker; and if the holder's
// thread is preempted by the OS (likely on a small shared machine) the waiters' workers all stall
// for the rest of its time slice. weft's mutex parks only the waiting task, and the worker goes
// on with other connections. Locking a few shards at once (MSET, MGET, DEL) is then also just a
// sequence of co_awaits, taken in ascending shard order so two commands never wait in a cycle.
class store {
public:
    static constexpr std::size_t shard_count = 64;

    struct shard {
        weft::sync::mutex lock;
        std::unordered_map<std::string, entry, string_hash, std::equal_to<>> map;

        // The live entry for `key`, or map.end(); an expired entry is erased on the way. Call
        // with `lock` held.
        auto find(std::string_view key) {
            auto it = map.find(key);
            if (it != map.end() && expired(it->second)) {
                map.erase(it);
                return map.end();
            }
            return it;
        }
        void put(std::string_view key, std::string_view value, steady::time_point expires) {
            auto it = map.find(key);
            if (it == map.end()) {
                map.emplace(std::string(key), entry{std::string(value), expires});
            } else {
                it->second.value.assign(value);
                it->second.expires = expires;
            }
        }
        void erase_expired() {
            std::erase_if(map, [](const auto& kv) { return expired(kv.second); });
        }
    };

    static std::size_t index_of(std::string_view key) noexcept {
        // The top bits of a multiplicative hash: the map inside the shard uses the low ones.
        return static_cast<std::size_t>(
            (static_cast<std::uint64_t>(string_hash{}(key)) * 0x9E3779B97F4A7C15ull) >> 58);
    }
    shard& shard_of(std::string_view key) noexcept { return shards_[index_of(key)]; }
    shard& at(std::size_t i) noexcept { return shards_[i]; }

private:
    static bool expired(const entry& e) {
        return e.expires != steady::time_point{} && e.expires <= steady::now();
    }
    std::array<shard, shard_count> shards_;
};

static_assert(store::shard_count == 64, "index_of takes the top 6 bits");

// Locks the shards that hold keys[0], keys[stride], keys[2*stride], ... in ascending shard
// order. Fails only if the task is cancelled while it waits.
weft::task<weft::result<std::vector<guard>>>
lock_keys(store& db, std::span<const std::string> keys, std::size_t stride = 1) {
    std::bitset<store::shard_count> wanted;
    for (std::size_t i = 0; i < keys.size(); i += stride) {
        wanted.set(store::index_of(keys[i]));
    }
    std::vector<guard> held;
    held.reserve(wanted.count());
    for (std::size_t s = 0; s < store::shard_count; ++s) {
        if (wanted.test(s)) {
            auto g = co_await db.at(s).lock.lock();
            if (!g) {
                co_return g.error();
            }
            held.push_back(std::move(*g));
        }
    }
    co_return held;
}

// ---- RESP replies ----------------------------------------------------------------------------

void append_int(std::string& out, std::int64_t n) {
    std::array<char, 24> digits{};
    const auto [end, ec] = std::to_chars(digits.data(), digits.data() + digits.size(), n);
    out.append(digits.data(), end);
}
void reply_simple(std::string& out, std::string_view s) {
    out += '+';
    out += s;
    out += "\r\n";
}
void reply_error(std::string& out, std::string_view s) {
    out += '-';
    out += s;
    out += "\r\n";
}
void reply_int(std::string& out, std::int64_t n) {
    out += ':';
    append_int(out, n);
    out += "\r\n";
}
void reply_bulk(std::string& out, std::string_view s) {
    out += '$';
    append_int(out, static_cast<std::int64_t>(s.size()));
    out += "\r\n";
    out += s;
    out += "\r\n";
}
void reply_null(std::string& out) {
    out += "$-1\r\n";
}
void reply_array(std::string& out, std::size_t n) {
    out += '*';
    append_int(out, static_cast<std::int64_t>(n));
    out += "\r\n";
}

// Client text quoted in an error reply: at most 128 bytes, and no byte that could end the line.
std::string printable(std::string_view s) {
    std::string p(s.substr(0, 128));
    for (char& c : p) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            c = ' ';
        }
    }
    return p;
}

// ---- parsing helpers -------------------------------------------------------------------------

// A decimal integer as Redis reads one (string2ll): an optional '-', digits, no leading zeros,
// no spaces, within int64.
bool parse_int(std::string_view s, std::int64_t& out) {
    if (s.empty() || s.size() > 20) {
        return false;
    }
    const bool negative = s[0] == '-';
    const std::string_view digits = negative ? s.substr(1) : s;
    if (digits.empty() || (digits[0] == '0' && (digits.size() > 1 || negative))) {
        return false;
    }
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && p == s.data() + s.size();
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return (x >= 'A' && x <= 'Z' ? x + ('a' - 'A') : x) ==
                      (y >= 'A' && y <= 'Z' ? y + ('a' - 'A') : y);
           });
}

std::string_view without_cr(std::string_view line) {
    if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
    }
    return line;
}

// ---- the commands ----------------------------------------------------------------------------

// One command being run: its arguments (args[0] is the name) and the reply to append to.
struct request {
    store& db;
    std::span<const std::string> args;
    std::string& out;
    bool quit = false;
};

// Every command is a task: the ones that touch the store may wait for a shard's lock. A failed
// result means the task was cancelled while waiting; the connection then ends.
using command_fn = weft::task<weft::result<void>> (*)(request&);

weft::task<weft::result<void>> cmd_ping(request& r) {
    if (r.args.size() == 1) {
        reply_simple(r.out, "PONG");
    } else {
        reply_bulk(r.out, r.args[1]);
    }
    co_return weft::result<void>{};
}

weft::task<weft::result<void>> cmd_echo(request& r) {
    reply_bulk(r.out, r.args[1]);
    co_return weft::result<void>{};
}

weft::task<weft::result<void>> cmd_get(request& r) {
    auto& sh = r.db.shard_of(r.args[1]);
    auto g = co_await sh.lock.lock();
    if (!g) {
        co_return g.error();
    }
    if (auto it = sh.find(r.args[1]); it != sh.map.end()) {
        reply_bulk(r.out, it->second.value);
    } else {
        reply_null(r.out);
    }
    co_return weft::result<void>{};
}

weft::task<weft::result<void>> cmd_set(request& r) {
    steady::time_point expires{};
    bool nx = false;
    bool xx = false;
    bool has_ttl = false;
    for (std::size_t i = 3; i < r.args.size(); ++i) {
        const std::string& opt = r.args[i];
        if ((iequals(opt, "ex") || iequals(opt, "px")) && !has_ttl && i + 1 < r.args.size()) {
            std::int64_t n = 0;
            const std::int64_t scale = iequals(opt, "ex") ? 1000 : 1;
            if (!parse_int(r.args[i + 1], n) || n <= 0 ||
                n > std::numeric_limits<std::int64_t>::max() / 1000 / scale) {
                reply_error(r.out, "ERR invalid expire time in 'set' command");
                co_return weft::result<void>{};
            }
            expires = steady::now() + std::chrono::milliseconds(n * scale);
            has_ttl = true;
            ++i;
        } else if (iequals(opt, "nx") && !xx) {
            nx = true;
        } else if (iequals(opt, "xx") && !nx) {
            xx = true;
        } else {
            reply_error(r.out, "ERR syntax error");
            co_return weft::result<void>{};
        }
    }
    auto& sh = r.db.shard_of(r.args[1]);
    auto g = co_await sh.lock.lock();
    if (!g) {
        co_return g.error();
    }
    const bool exists = sh.find(r.args[1]) != sh.map.end();
    if ((nx && exists) || (xx && !exists)) {
        reply_null(r.out);
        co_return weft::result<void>{};
    }
    sh.put(r.args[1], r.args[2], expires);
    reply_simple(r.out, "OK");
    co_return weft::result<void>{};
}

// DEL (erase = true) and EXISTS: how many of the keys exist (EXISTS counts a repeated key again).
weft::task<weft::result<void>> count_keys(request& r, bool erase) {
    const auto keys = r.args.subspan(1);
    auto held = co_await lock_keys(r.db, keys);
    if (!held) {
        co_return held.error();
    }
    std::int64_t n = 0;
    for (const std::string& k : keys) {
        auto& sh = r.db.shard_of(k);
        if (auto it = sh.find(k); it != sh.map.end()) {
            ++n;
            if (erase) {
                sh.map.erase(it);
            }
        }
    }
    reply_int(r.out, n);
    co_return weft::result<void>{};
}
weft::task<weft::result<void>> cmd_del(request& r) {
    return count_keys(r, true);
}
weft::task<weft::result<void>> cmd_exists(request& r) {
    return count_keys(r, false);
}

weft::task<weft::result<void>> add_to(request& r, std::int64_t delta) {
    auto& sh = r.db.shard_of(r.args[1]);
    auto g = co_await sh.lock.lock();
    if (!g) {
        co_return g.error();
    }
    auto it = sh.find(r.args[1]);
    std::int64_t n = 0;
    if (it != sh.map.end() && !parse_int(it->second.value, n)) {
        reply_error(r.out, "ERR value is not an integer or out of range");
        co_return weft::result<void>{};
    }
    if (__builtin_add_overflow(n, delta, &n)) {
        reply_error(r.out, "ERR increment or decrement would overflow");
        co_return weft::result<void>{};
    }
    std::string text;
    append_int(text, n);
    if (it == sh.map.end()) {
        sh.put(r.args[1], text, {});
    } else {
        it->second.value = std::move(text); // the key keeps its expiry, as in Redis
    }
    reply_int(r.out, n);
    co_return weft::result<void>{};
}
weft::task<weft::result<void>> cmd_incr(request& r) {
    return add_to(r, 1);
}
weft::task<weft::result<void>> cmd_decr(request& r) {
    return add_to(r, -1);
}

weft::task<weft::result<void>> cmd_mget(request& r) {
    const auto keys = r.args.subspan(1);
    auto held = co_await lock_keys(r.db, keys); // one consistent snapshot of all the keys
    if (!held) {
        co_return held.error();
    }
    reply_array(r.out, keys.size());
    for (const std::string& k : keys) {
        auto& sh = r.db.shard_of(k);
        if (auto it = sh.find(k); it != sh.map.end()) {
            reply_bulk(r.out, it->second.value);
        } else {
            reply_null(r.out);
        }
    }
    co_return weft::result<void>{};
}

weft::task<weft::result<void>> cmd_mset(request& r) {
    if (r.args.size() % 2 == 0) {
        reply_error(r.out, "ERR wrong number of arguments for 'mset' command");
        co_return weft::result<void>{};
    }
    const auto pairs = r.args.subspan(1);
    auto held = co_await lock_keys(r.db, pairs, 2); // all at once: no reader sees half of it
    if (!held) {
        co_return held.error();
    }
    for (std::size_t i = 0; i < pairs.size(); i += 2) {
        r.db.shard_of(pairs[i]).put(pairs[i], pairs[i + 1], {});
    }
    reply_simple(r.out, "OK");
    co_return weft::result<void>{};
}

weft::task<weft::result<void>> cmd_dbsize(request& r) {
    std::int64_t n = 0;
    for (std::size_t s = 0; s < store::shard_count; ++s) {
        auto& sh = r.db.at(s);
        auto g = co_await sh.lock.lock();
        if (!g) {
            co_return g.error();
        }
        sh.erase_expired();
        n += static_cast<std::int64_t>(sh.map.size());
    }
    reply_int(r.out, n);
    co_return weft::result<void>{};
}

weft::task<weft::result<void>> cmd_flushall(request& r) {
    if (r.args.size() > 2 ||
        (r.args.size() == 2 && !iequals(r.args[1], "async") && !iequals(r.args[1], "sync"))) {
        reply_error(r.out, "ERR syntax error");
        co_return weft::result<void>{};
    }
    for (std::size_t s = 0; s < store::shard_count; ++s) {
        auto& sh = r.db.at(s);
        auto g = co_await sh.lock.lock();
        if (!g) {
            co_return g.error();
        }
        sh.map.clear();
    }
    reply_simple(r.out, "OK");
    co_return weft::result<void>{};
}

// COMMAND (and COMMAND DOCS, COMMAND COUNT...): an empty array. redis-cli asks at start-up for
// its hints and does without them.
weft::task<weft::result<void>> cmd_command(request& r) {
    reply_array(r.out, 0);
    co_return weft::result<void>{};
}

// CONFIG GET name...: the two parameters redis-benchmark asks for before it starts (it warns
// when they are missing), with the values that are true here: nothing is ever saved. Any other
// name matches nothing: an empty array.
weft::task<weft::result<void>> cmd_config(request& r) {
    if (!iequals(r.args[1], "get") || r.args.size() < 3) {
        reply_error(
            r.out,
            "ERR unknown subcommand or wrong number of arguments for '" + printable(r.args[1]) +
                "'");
        co_return weft::result<void>{};
    }
    std::vector<std::pair<std::string_view, std::string_view>> found;
    for (const std::string& name : r.args.subspan(2)) {
        if (iequals(name, "save")) {
            found.emplace_back("save", "");
        } else if (iequals(name, "appendonly")) {
            found.emplace_back("appendonly", "no");
        }
    }
    reply_array(r.out, 2 * found.size());
    for (const auto& [name, value] : found) {
        reply_bulk(r.out, name);
        reply_bulk(r.out, value);
    }
    co_return weft::result<void>{};
}

weft::task<weft::result<void>> cmd_quit(request& r) {
    reply_simple(r.out, "OK");
    r.quit = true;
    co_return weft::result<void>{};
}

// EXPIRE/PEXPIRE key n: 1 if the key exists (it now expires n s / ms from now), else 0. A
// non-positive n deletes the key, as in Redis.
weft::task<weft::result<void>> set_expiry(request& r, std::int64_t scale) {
    std::int64_t n = 0;
    if (!parse_int(r.args[2], n) || n > std::numeric_limits<std::int64_t>::max() / 1000 / scale) {
        reply_error(r.out, "ERR value is not an integer or out of range");
        co_return weft::result<void>{};
    }
    auto& sh = r.db.shard_of(r.args[1]);
    auto g = co_await sh.lock.lock();
    if (!g) {
        co_return g.error();
    }
    auto it = sh.find(r.args[1]);
    if (it == sh.map.end()) {
        reply_int(r.out, 0);
    } else if (n <= 0) {
        sh.map.erase(it);
        reply_int(r.out, 1);
    } else {
        it->second.expires = steady::now() + std::chrono::milliseconds(n * scale);
        reply_int(r.out, 1);
    }
    co_return weft::result<void>{};
}
weft::task<weft::result<void>> cmd_expire(request& r) {
    return set_expiry(r, 1000);
}
weft::task<weft::result<void>> cmd_pexpire(request& r) {
    return set_expiry(r, 1);
}

// TTL/PTTL key: the time left in s / ms (rounded up, as Redis does), -1 without expiry, -2 when
// the key does not exist.
weft::task<weft::result<void>> time_left(request& r, std::int64_t unit_ms) {
    auto& sh = r.db.shard_of(r.args[1]);
    auto g = co_await sh.lock.lock();
    if (!g) {
        co_return g.error();
    }
    auto it = sh.find(r.args[1]);
    if (it == sh.map.end()) {
        reply_int(r.out, -2);
    } else if (it->second.expires == steady::time_point{}) {
        reply_int(r.out, -1);
    } else {
        const auto ms =
            std::chrono::ceil<std::chrono::milliseconds>(it->second.expires - steady::now())
                .count();
        reply_int(r.out, (std::max<std::int64_t>(ms, 0) + unit_ms - 1) / unit_ms);
    }
    co_return weft::result<void>{};
}
weft::task<weft::result<void>> cmd_ttl(request& r) {
    return time_left(r, 1000);
}
weft::task<weft::result<void>> cmd_pttl(request& r) {
    return time_left(r, 1);
}

struct command_spec {
    std::string_view name; // as Redis spells it in errors: lower case
    int arity;             // Redis's convention: n = exactly n words, -n = at least n
    command_fn run;
};

constexpr std::array<command_spec, 19> commands{{
    // the most used first
    {"get", 2, cmd_get},          {"set", -3, cmd_set},
    {"ping", -1, cmd_ping},       {"incr", 2, cmd_incr},
    {"decr", 2, cmd_decr},        {"mget", -2, cmd_mget},
    {"mset", -3, cmd_mset},       {"del", -2, cmd_del},
    {"exists", -2, cmd_exists},   {"expire", 3, cmd_expire},
    {"pexpire", 3, cmd_pexpire},  {"ttl", 2, cmd_ttl},
    {"pttl", 2, cmd_pttl},        {"echo", 2, cmd_echo},
    {"dbsize", 1, cmd_dbsize},    {"flushall", -1, cmd_flushall},
    {"command", -1, cmd_command}, {"config", -2, cmd_config},
    {"quit", -1, cmd_quit},
}};

weft::task<weft::result<void>> execute(request& r) {
    const std::string& name = r.args[0];
    const auto spec = std::find_if(commands.begin(), commands.end(), [&](const command_spec& c) {
        return iequals(name, c.name);
    });
    if (spec == commands.end()) {
        reply_error(r.out, "ERR unknown command '" + printable(name) + "'");
        co_return weft::result<void>{};
    }
    const auto argc = static_cast<std::ptrdiff_t>(r.args.size());
    if (spec->arity > 0 ? argc != spec->arity : argc < -spec->arity) {
        reply_error(
            r.out, "ERR wrong number of arguments for '" + std::string(spec->name) + "' command");
        co_return weft::result<void>{};
    }
    co_return co_await spec->run(r);
}

// ---- reading commands ------------------------------------------------------------------------

using reader = buffered_reader<tcp_stream>;
using writer = buffered_writer<tcp_stream>;

enum class read_status { command, closed, protocol_error };

// True when `b` starts with a whole command, or with bytes read_command rejects without waiting
// for more. serve() flushes its replies before a read that might wait for the network, and only
// then.
bool holds_command(std::string_view b) {
    std::size_t eol = b.find('\n');
    if (eol == std::string_view::npos) {
        return false;
    }
    if (b[0] != '*') {
        return true; // an inline command: one line
    }
    std::int64_t n = 0;
    if (!parse_int(without_cr(b.substr(1, eol - 1)), n) || n > max_args) {
        return true;
    }
    std::size_t pos = eol + 1;
    for (std::int64_t i = 0; i < n; ++i) {
        eol = b.find('\n', pos);
        if (eol == std::string_view::npos) {
            return false;
        }
        const std::string_view line = without_cr(b.substr(pos, eol - pos));
        std::int64_t len = 0;
        if (line.empty() || line[0] != '$' || !parse_int(line.substr(1), len) || len < 0 ||
            len > max_bulk) {
            return true;
        }
        pos = eol + 1 + static_cast<std::size_t>(len) + 2;
        if (pos > b.size()) {
            return false;
        }
    }
    return true;
}

// Reads a bulk string's `len` bytes, and the "\r\n" after them, into `arg`. The string grows as
// bytes arrive (64 KiB at first, then doubling), never ahead of them by more than that: a client
// that announces 500 MB and sends nothing makes the server hold 64 KiB, not 500 MB.
// false: the bytes after the string are not "\r\n".
weft::task<weft::result<bool>> read_bulk(reader& in, std::string& arg, std::size_t len) {
    arg.clear();
    std::size_t done = 0;
    while (done < len) {
        const std::size_t step = std::min(len - done, std::max<std::size_t>(64 * 1024, done));
        arg.resize(done + step);
        if (auto r = co_await in.read_exact({arg.data() + done, step}); !r) {
            co_return r.error();
        }
        done += step;
    }
    std::array<char, 2> crlf{};
    if (auto r = co_await in.read_exact(crlf); !r) {
        co_return r.error();
    }
    co_return crlf[0] == '\r' && crlf[1] == '\n';
}

// Reads the next command into `args` (empty for an empty line or "*0"). `closed`: the client
// went away or the connection failed; `protocol_error`: not RESP, the reason in `why`.
weft::task<read_status> read_command(reader& in, std::vector<std::string>& args, std::string& why) {
    args.clear();
    auto line = co_await in.read_line(); // a view into the reader's buffer, until its next call
    if (!line) {
        if (line.error() == weft::io::errc::message_too_long) {
            why = "too big inline request";
            co_return read_status::protocol_error;
        }
        co_return read_status::closed; // end of stream (also mid-line), reset, ...
    }
    if (line->empty() || (*line)[0] != '*') {
        // Inline: words separated by spaces or tabs.
        std::string_view rest = *line;
        while (!rest.empty()) {
            const std::size_t start = rest.find_first_not_of(" \t");
            if (start == std::string_view::npos) {
                break;
            }
            rest.remove_prefix(start);
            const std::size_t end = std::min(rest.find_first_of(" \t"), rest.size());
            args.emplace_back(rest.substr(0, end));
            rest.remove_prefix(end);
        }
        co_return read_status::command;
    }

    std::int64_t count = 0;
    if (!parse_int(line->substr(1), count) || count > max_args) {
        why = "invalid multibulk length";
        co_return read_status::protocol_error;
    }
    std::uint64_t total = 0;
    for (std::int64_t i = 0; i < count; ++i) { // count <= 0: an empty command, as in Redis
        auto header = co_await in.read_line();
        if (!header) {
            if (header.error() == weft::io::errc::message_too_long) {
                why = "too big bulk count string";
                co_return read_status::protocol_error;
            }
            co_return read_status::closed;
        }
        if (header->empty() || (*header)[0] != '$') {
            why = "expected '$', got '" + printable(header->substr(0, 1)) + "'";
            co_return read_status::protocol_error;
        }
        std::int64_t len = 0;
        if (!parse_int(header->substr(1), len) || len < 0 || len > max_bulk) {
            why = "invalid bulk length";
            co_return read_status::protocol_error;
        }
        total += static_cast<std::uint64_t>(len);
        if (total > max_command) {
            why = "command too large";
            co_return read_status::protocol_error;
        }
        const auto n = static_cast<std::size_t>(len);
        std::string& arg = args.emplace_back();
        if (in.buffered() >= n + 2) { // the usual case: already here, no I/O
            const std::string_view b = in.buffer();
            arg.assign(b.data(), n);
            const bool crlf = b[n] == '\r' && b[n + 1] == '\n';
            in.consume(n + 2);
            if (!crlf) {
                why = "bulk string not followed by CRLF";
                co_return read_status::protocol_error;
            }
            continue;
        }
        auto got = co_await read_bulk(in, arg, n);
        if (!got) {
            co_return read_status::closed;
        }
        if (!*got) {
            why = "bulk string not followed by CRLF";
            co_return read_status::protocol_error;
        }
    }
    co_return read_status::command;
}

// ---- a connection ----------------------------------------------------------------------------

// Closing while the client still sends would make the kernel reset the connection, and the
// client could lose our last reply. So: send FIN, then drop what still comes, for at most 1 s.
weft::task<> close_gently(tcp_stream& conn) {
    (void)conn.shutdown(weft::io::shutdown_how::write);
    conn.set_read_deadline(weft::clock::now() + 1s);
    std::array<char, 4096> sink;
    for (int i = 0; i < 16; ++i) {
        auto n = co_await conn.read(std::span(sink));
        if (!n || *n == 0) {
            break;
        }
    }
}

weft::task<> serve(tcp_stream conn, store& db) {
    (void)conn.set_nodelay(true); // replies go out at once, not after the client's next ACK
    reader in(conn, 16 * 1024, max_line);
    writer out(conn, 16 * 1024);
    std::vector<std::string> args;
    std::string reply;
    std::string why;
    for (;;) {
        // Pipelining: send the replies so far only when the next command is not all here yet.
        if (!holds_command(in.buffer()) && !co_await out.flush()) {
            co_return; // the client is gone
        }
        const read_status got = co_await read_command(in, args, why);
        if (got == read_status::closed) {
            co_return; // every reply was flushed before the read that found the end
        }
        if (got == read_status::protocol_error) {
            reply = "-ERR Protocol error: " + why + "\r\n";
            if (co_await out.write(reply) && co_await out.flush()) {
                co_await close_gently(conn);
            }
            co_return;
        }
        if (args.empty()) {
            continue;
        }
        reply.clear();
        request req{db, args, reply};
        if (!co_await execute(req) || !co_await out.write(reply)) {
            co_return;
        }
        if (req.quit) {
            if (co_await out.flush()) {
                co_await close_gently(conn);
            }
            co_return;
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    std::optional<std::uint16_t> port = 6379;
    if (argc > 2 || (argc == 2 && !(port = examples::parse_number<std::uint16_t>(argv[1])))) {
        std::fprintf(stderr, "usage: kv_server [port]   (default 6379; 0 picks a free port)\n");
        return 2;
    }
    store db; // outlives the runtime, so every connection task may hold a reference to it
    // `db` outlives every connection task: main owns it.
    auto serve_one = [&db](tcp_stream conn) { return serve(std::move(conn), db); };
    return weft::run(examples::listen_and_serve("kv_server", *port, serve_one, 2s));
}

#!/usr/bin/env python3
"""Black-box tests of the io examples (examples/http_hello, echo_server, loadgen, kv_server).

    examples_test.py http  HTTP_HELLO
    examples_test.py echo  ECHO_SERVER LOADGEN
    examples_test.py shutdown SERVER
    examples_test.py kv    KV_SERVER

Each starts the server on an ephemeral loopback port (port 0; the server prints the port on its
first line), talks to it over real sockets, and exits non-zero on the first failed check, naming it.
WEFT_IO_BACKEND in the environment is passed on (examples/CMakeLists.txt registers every test
under io_uring and under epoll), and the server's announced backend must match it.

http: one request; keep-alive (two requests, one connection); pipelining (five requests in one
send, and requests split at every byte); Connection: close; malformed request lines and headers,
an oversized header block and an oversized body -> 400 and the connection closes; 200 random-byte
connections; afterwards the server must still answer, and must not have exited.
echo: loadgen against echo_server for 1 s; it must exit 0 and print requests/s and
p50/p90/p99/p999 with errors=0.
shutdown: SIGTERM with a client connected: the server stops accepting at once (a new connection
is refused), closes the idle connection after its grace period and exits 0; with a client that
hangs up during the grace period it exits 0 saying every connection finished.
kv: RESP over a socket: every command with its replies and errors (unknown command, wrong
arity, non-integer INCR), SET with PX expiry, inline commands, 100 pipelined commands in one send
and a command cut at every byte; malformed input, an oversized bulk length and an endless line ->
-ERR Protocol error and the connection closes; announced-but-unsent bulk strings must not grow the
server's memory; 100 random-byte connections; QUIT. Then, if redis-cli and redis-benchmark are
on PATH (Debian: redis-tools), both against the server; without them those checks are left out
and said so, the others still run.
"""

import os
import random
import re
import shutil
import socket
import subprocess
import sys
import time

TIMEOUT = 10.0  # seconds any single socket operation may take before the test fails


class Failure(Exception):
    pass


class Skip(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def start_server(argv):
    """Starts a server with port 0; returns (process, port)."""
    proc = subprocess.Popen(argv + ["0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # "<name> listening on 127.0.0.1:PORT (io backend: B)"
    m = re.search(r"listening on 127\.0\.0\.1:(\d+) \(io backend: (\w+)\)", line)
    if not m:
        proc.kill()
        out, err = proc.communicate()
        if os.environ.get("WEFT_IO_BACKEND") == "io_uring" and "io_uring" in err:
            raise Skip(f"io_uring unavailable: {err.strip()}")
        raise Failure(f"{argv[0]} did not announce its port: {line!r} {err!r}")
    want = os.environ.get("WEFT_IO_BACKEND")
    if want in ("epoll", "io_uring"):
        check(m.group(2) == want, f"server runs on {m.group(2)}, WEFT_IO_BACKEND={want}")
    return proc, int(m.group(1))


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


class Reader:
    """Reads HTTP/1.1 responses (Content-Length bodies only) off a socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _more(self):
        chunk = self.sock.recv(65536)
        self.buf += chunk
        return len(chunk) > 0

    def response(self):
        """(status, headers dict with lower-case names, body), or None at end of stream."""
        while b"\r\n\r\n" not in self.buf:
            if not self._more():
                check(self.buf == b"", f"stream ended inside a response head: {self.buf!r}")
                return None
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        check(len(parts) >= 2 and parts[0] == "HTTP/1.1", f"bad status line {lines[0]!r}")
        headers = {}
        for h in lines[1:]:
            name, _, value = h.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(self.buf) < length:
            check(self._more(), "stream ended inside a response body")
        body, self.buf = self.buf[:length], self.buf[length:]
        return int(parts[1]), headers, body

    def at_eof(self):
        """True when the peer closed (after any buffered bytes), False if more data came."""
        if self.buf:
            return False
        try:
            return not self._more()
        except ConnectionResetError:
            return True  # closed while we still had unsent/unread bytes: also closed


GET = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def expect_hello(r, what):
    resp = r.response()
    check(resp is not None, f"{what}: no response (connection closed)")
    status, headers, body = resp
    check(status == 200, f"{what}: status {status}")
    check(body == b"Hello, World!", f"{what}: body {body!r}")
    return headers


def expect_400_and_close(port, request, what):
    s = connect(port)
    try:
        try:
            s.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before all of a large request is sent
        r = Reader(s)
        try:
            resp = r.response()
        except ConnectionResetError:
            raise Failure(f"{what}: connection reset before the 400 arrived")
        check(resp is not None, f"{what}: closed without a response")
        check(resp[0] == 400, f"{what}: status {resp[0]}, want 400")
        check(resp[1].get("connection", "").lower() == "close", f"{what}: 400 without Connection: close")
        check(r.at_eof(), f"{what}: connection left open after 400")
    finally:
        s.close()


def test_http(server):
    proc, port = start_server([server])
    try:
        # One request, then another on the same connection (keep-alive).
        s = connect(port)
        r = Reader(s)
        s.sendall(GET)
        h = expect_hello(r, "first request")
        check("date" in h, "no Date header")
        s.sendall(GET)
        expect_hello(r, "second request on the same connection")

        # Pipelining: five requests in one send, five answers in order.
        s.sendall(GET * 4 + b"POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")
        for i in range(5):
            expect_hello(r, f"pipelined request {i + 1} of 5")

        # Requests cut at every byte boundary (a server must not assume a request arrives whole).
        burst = GET * 3
        for i in range(len(burst)):
            s.sendall(burst[i:i + 1])  # TCP_NODELAY: mostly one segment per byte
        for i in range(3):
            expect_hello(r, f"byte-by-byte request {i + 1}")

        # Connection: close -> the answer, then end of stream.
        s.sendall(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
        h = expect_hello(r, "Connection: close request")
        check(h.get("connection", "").lower() == "close", "no Connection: close in the answer")
        check(r.at_eof(), "connection open after Connection: close")
        s.close()

        # HTTP/1.0 without keep-alive closes too.
        s = connect(port)
        r = Reader(s)
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        expect_hello(r, "HTTP/1.0 request")
        check(r.at_eof(), "HTTP/1.0 connection left open")
        s.close()

        # Malformed and oversized requests: 400 and close.
        bad = {
            "garbage request line": b"GARBAGE\r\n\r\n",
            "unknown version": b"GET / HTTP/2.7\r\n\r\n",
            "space in header name": b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
            "header without colon": b"GET / HTTP/1.1\r\nHost x\r\n\r\n",
            "control byte in header": b"GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n",
            "bad Content-Length": b"POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
            "conflicting Content-Length": b"POST / HTTP/1.1\r\nContent-Length: 1\r\n"
                                          b"Content-Length: 2\r\n\r\nab",
            "chunked body": b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "oversized header block": b"GET / HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n",
            "oversized body": b"POST / HTTP/1.1\r\nContent-Length: 100000\r\n\r\n" + b"b" * 100000,
            "endless request line": b"GET /" + b"c" * 9000,
        }
        for what, req in bad.items():
            expect_400_and_close(port, req, what)

        # A good request pipelined before a bad one is answered first.
        s = connect(port)
        r = Reader(s)
        s.sendall(GET + b"NOT HTTP\r\n\r\n" + GET)
        expect_hello(r, "good request before a bad one")
        resp = r.response()
        check(resp is not None and resp[0] == 400, "bad pipelined request not answered 400")
        check(r.at_eof(), "connection open after a pipelined bad request")
        s.close()

        # Random bytes on many connections: the server must survive all of them.
        rng = random.Random(4)
        for _ in range(200):
            s = connect(port)
            try:
                s.sendall(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000))))
                s.shutdown(socket.SHUT_WR)
                while s.recv(65536):
                    pass
            except (ConnectionResetError, BrokenPipeError):
                pass
            finally:
                s.close()
        check(proc.poll() is None, f"server exited (status {proc.returncode}) during the fuzzing")
        s = connect(port)
        r = Reader(s)
        s.sendall(GET)
        expect_hello(r, "request after the fuzzing")
        s.close()
        check(proc.poll() is None, f"server exited (status {proc.returncode})")
    finally:
        proc.kill()
        proc.communicate()


def test_echo(server, loadgen):
    proc, port = start_server([server])
    try:
        out = subprocess.run(
            [loadgen, "-c", "20", "-s", "64", "-d", "1", "-w", "0.2", f"127.0.0.1:{port}"],
            capture_output=True, text=True, timeout=60)
        check(out.returncode == 0, f"loadgen exited {out.returncode}: {out.stderr!r}")
        fields = dict(kv.split("=", 1) for kv in out.stdout.split() if "=" in kv)
        for k in ("requests", "errors", "rps", "p50_us", "p90_us", "p99_us", "p999_us"):
            check(k in fields, f"loadgen printed no {k}=: {out.stdout!r}")
        check(int(fields["errors"]) == 0, f"loadgen saw errors: {out.stdout!r} {out.stderr!r}")
        check(int(fields["requests"]) > 0 and float(fields["rps"]) > 0, f"no requests: {out.stdout!r}")
        p = [float(fields[k]) for k in ("p50_us", "p90_us", "p99_us", "p999_us")]
        check(0 < p[0] <= p[1] <= p[2] <= p[3], f"percentiles out of order: {p}")
        check(proc.poll() is None, f"echo_server exited (status {proc.returncode})")
    finally:
        proc.kill()
        proc.communicate()


def served_once(sock, server):
    """One exchange on sock, so the server has surely accepted it and is serving it."""
    if "kv" in os.path.basename(server):
        sock.sendall(b"PING\r\n")
        got = b""
        while b"\r\n" not in got:
            more = sock.recv(64)
            check(more, "connection closed before PONG")
            got += more
        check(got == b"+PONG\r\n", f"PING answered {got!r}")
    elif "http" in os.path.basename(server):
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        got = b""
        while b"Hello, World!" not in got:
            more = sock.recv(4096)
            check(more, "connection closed before the first response")
            got += more
    else:
        sock.sendall(b"ping")
        got = b""
        while len(got) < 4:
            more = sock.recv(4 - len(got))
            check(more, "connection closed before the echo")
            got += more
        check(got == b"ping", f"echoed {got!r}")


def test_shutdown(server):
    import signal
    # An idle client outlasts the grace period: refused new connections, cancelled, exit 0.
    proc, port = start_server([server])
    try:
        idle = connect(port)
        served_once(idle, server)
        proc.send_signal(signal.SIGTERM)
        line = proc.stderr.readline()
        check("shutting down" in line, f"no shutdown notice on SIGTERM: {line!r}")
        refused = False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT).close()
        except ConnectionRefusedError:
            refused = True
        check(refused, "a new connection was accepted after SIGTERM")
        rc = proc.wait(timeout=30)
        check(rc == 0, f"exit status {rc} after SIGTERM, want 0")
        idle.settimeout(TIMEOUT)
        check(idle.recv(16) == b"", "the idle connection was not closed by the shutdown")
        rest = proc.stderr.read()
        check("cancelled" in rest, f"no word of the cancelled connection: {rest!r}")
    finally:
        proc.kill()
        proc.communicate()
    # A client that hangs up within the grace period: every connection finished, exit 0.
    proc, port = start_server([server])
    try:
        c = connect(port)
        served_once(c, server)
        proc.send_signal(signal.SIGTERM)
        line = proc.stderr.readline()
        check("shutting down" in line, f"no shutdown notice on SIGTERM: {line!r}")
        c.close()
        rc = proc.wait(timeout=30)
        check(rc == 0, f"exit status {rc} after SIGTERM, want 0")
        rest = proc.stderr.read()
        check("every connection finished" in rest, f"connections not drained: {rest!r}")
    finally:
        proc.kill()
        proc.communicate()


def resp_command(*args):
    """One command as a RESP array of bulk strings."""
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class RespReader:
    """Reads RESP2 replies off a socket: str for +simple, ("err", text) for -errors, int,
    bytes or None for bulk strings, lists for arrays."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _more(self):
        chunk = self.sock.recv(65536)
        check(chunk, f"stream ended inside a reply: {self.buf!r}")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._more()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return ("err", rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._more()
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise Failure(f"not a RESP reply: {line!r}")

    def at_eof(self):
        if self.buf:
            return False
        try:
            return self.sock.recv(65536) == b""
        except ConnectionResetError:
            return True


def kv_exchange(port, checks):
    """Sends each command, one at a time, and compares its reply."""
    s = connect(port)
    r = RespReader(s)
    try:
        for cmd, want in checks:
            s.sendall(resp_command(*cmd) if isinstance(cmd, tuple) else cmd)
            got = r.reply()
            check(got == want, f"{cmd!r}: got {got!r}, want {want!r}")
    finally:
        s.close()


def expect_protocol_error_and_close(port, data, what, allow_reset=False):
    s = connect(port)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before all of it is sent
        r = RespReader(s)
        try:
            got = r.reply()
        except ConnectionResetError:
            raise Failure(f"{what}: connection reset before the error reply arrived")
        check(isinstance(got, tuple) and got[1].startswith("ERR Protocol error"),
              f"{what}: got {got!r}, want -ERR Protocol error")
        check(r.at_eof(), f"{what}: connection left open after a protocol error")
    finally:
        s.close()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_kv(server):
    proc, port = start_server([server])
    try:
        kv_exchange(port, [
            (("PING",), "PONG"),
            (("ping", "hello"), b"hello"),
            (("ECHO", "a b"), b"a b"),
            (("FLUSHALL",), "OK"),
            (("GET", "missing"), None),
            (("SET", "k", "v1"), "OK"),
            (("GET", "k"), b"v1"),
            (("set", "k", "v2"), "OK"),
            (("GET", "k"), b"v2"),
            (("SET", "bin", b"\x00\r\n\xff"), "OK"),
            (("GET", "bin"), b"\x00\r\n\xff"),
            (("SET", "k", "x", "NX"), None),
            (("SET", "new", "x", "XX"), None),
            (("SET", "k", "x", "BOGUS"), ("err", "ERR syntax error")),
            (("SET", "k", "x", "EX", "0"), ("err", "ERR invalid expire time in 'set' command")),
            (("INCR", "n"), 1),
            (("INCR", "n"), 2),
            (("DECR", "n"), 1),
            (("DECR", "m"), -1),
            (("INCR", "k"), ("err", "ERR value is not an integer or out of range")),
            (("SET", "big", "9223372036854775807"), "OK"),
            (("INCR", "big"), ("err", "ERR increment or decrement would overflow")),
            (("MSET", "a", "1", "b", "2"), "OK"),
            (("MGET", "a", "b", "nope"), [b"1", b"2", None]),
            (("EXISTS", "a", "b", "nope", "a"), 3),
            (("DEL", "a", "b", "nope"), 2),
            (("EXISTS", "a"), 0),
            (("DBSIZE",), 5),  # k, bin, n, m, big
            (("GET",), ("err", "ERR wrong number of arguments for 'get' command")),
            (("GET", "a", "b"), ("err", "ERR wrong number of arguments for 'get' command")),
            (("MSET", "a", "1", "b"), ("err", "ERR wrong number of arguments for 'mset' command")),
            (("NOSUCH", "x"), ("err", "ERR unknown command 'NOSUCH'")),
            (("COMMAND",), []),
            (("COMMAND", "DOCS"), []),
            (("CONFIG", "GET", "save"), [b"save", b""]),
            (("CONFIG", "GET", "appendonly"), [b"appendonly", b"no"]),
            (("CONFIG", "GET", "maxmemory"), []),
            # Inline commands, as typed into telnet (and redis-benchmark's PING_INLINE).
            (b"PING\r\n", "PONG"),
            (b"SET  inl   value\r\n", "OK"),
            (b"GET inl\n", b"value"),
            (b"\r\nPING\r\n", "PONG"),  # an empty line is no command
            (("FLUSHALL",), "OK"),
            (("DBSIZE",), 0),
        ])

        # Expiry: PX 100 is gone after 100 ms (lazily: on the next access).
        kv_exchange(port, [(("SET", "t", "v", "PX", "100"), "OK"), (("GET", "t"), b"v")])
        time.sleep(0.25)  # sleep-ok: the key's 100 ms lifetime must pass
        kv_exchange(port, [(("GET", "t"), None), (("EXISTS", "t"), 0)])
        # EXPIRE/PEXPIRE/TTL/PTTL: -2 for a missing key, -1 without expiry, time left otherwise;
        # a non-positive expiry deletes the key.
        kv_exchange(port, [
            (("TTL", "nokey"), -2),
            (("EXPIRE", "nokey", "10"), 0),
            (("SET", "e", "v"), "OK"),
            (("TTL", "e"), -1),
            (("EXPIRE", "e", "100"), 1),
            (("TTL", "e"), 100),
            (("PEXPIRE", "e", "5000"), 1),
            (("TTL", "e"), 5),
            (("EXPIRE", "e", "x"), ("err", "ERR value is not an integer or out of range")),
            (("EXPIRE", "e", "0"), 1),
            (("EXISTS", "e"), 0),
            (("SET", "p", "v"), "OK"),
            (("PEXPIRE", "p", "100"), 1),
        ])
        time.sleep(0.25)  # sleep-ok: the key's 100 ms lifetime must pass
        kv_exchange(port, [(("PTTL", "p"), -2), (("GET", "p"), None)])

        # Pipelining: 100 commands in one send, 100 replies in order.
        s = connect(port)
        r = RespReader(s)
        batch = b"".join(resp_command("INCR", "pipe") for _ in range(99)) + resp_command("GET", "pipe")
        s.sendall(batch)
        for i in range(1, 100):
            got = r.reply()
            check(got == i, f"pipelined INCR {i}: got {got!r}")
        got = r.reply()
        check(got == b"99", f"pipelined GET: got {got!r}")

        # A pipelined batch cut at every byte.
        burst = resp_command("SET", "cut", "abc") + resp_command("GET", "cut") + b"PING\r\n"
        for i in range(len(burst)):
            s.sendall(burst[i:i + 1])
        for want in ("OK", b"abc", "PONG"):
            got = r.reply()
            check(got == want, f"byte-by-byte: got {got!r}, want {want!r}")

        # A value larger than the server's buffers (1 MiB) both ways.
        big = bytes(random.Random(1).randrange(256) for _ in range(1 << 20))
        s.sendall(resp_command("SET", "bigval", big) + resp_command("GET", "bigval"))
        check(r.reply() == "OK", "SET of 1 MiB")
        check(r.reply() == big, "GET of 1 MiB: different bytes")

        # QUIT: +OK, then the server closes.
        s.sendall(resp_command("QUIT"))
        check(r.reply() == "OK", "QUIT answer")
        check(r.at_eof(), "connection open after QUIT")
        s.close()

        # Malformed and hostile input: -ERR Protocol error, then the connection closes.
        bad = {
            "non-numeric array length": b"*abc\r\n",
            "no '$' before an argument": b"*1\r\nGET\r\n",
            "non-numeric bulk length": b"*1\r\n$x\r\n",
            "negative bulk length": b"*1\r\n$-5\r\n",
            "oversized bulk length (600 MB)": b"*2\r\n$3\r\nSET\r\n$600000000\r\n",
            "bulk length beyond int64": b"*1\r\n$99999999999999999999999\r\n",
            "oversized array length": b"*99999999\r\n",
            "bulk string without CRLF": b"*1\r\n$4\r\nPINGxx",
            "endless inline line": b"P" * 200000,
            "endless header line": b"*1\r\n$" + b"1" * 100000,
        }
        for what, data in bad.items():
            expect_protocol_error_and_close(port, data, what)

        # A good command pipelined before a bad one is answered first.
        s = connect(port)
        r = RespReader(s)
        s.sendall(resp_command("PING") + b"*x\r\n" + resp_command("PING"))
        check(r.reply() == "PONG", "good command before a bad one")
        got = r.reply()
        check(isinstance(got, tuple) and "Protocol error" in got[1], f"bad after good: {got!r}")
        check(r.at_eof(), "connection open after a pipelined protocol error")
        s.close()

        # Announced but unsent bulk strings: the server's memory follows the bytes that arrived.
        before = rss_kib(proc.pid)
        held = []
        for _ in range(8):
            h = connect(port)
            h.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$500000000\r\n" + b"z" * 1000)
            held.append(h)
        kv_exchange(port, [(("PING",), "PONG")])  # the server has read those by now
        time.sleep(0.2)  # sleep-ok: let the server's workers take in the eight requests
        after = rss_kib(proc.pid)
        check(after - before < 64 * 1024,
              f"8 announced 500 MB values grew the server by {after - before} KiB")
        for h in held:
            h.close()

        # Random bytes on many connections: the server must survive all of them.
        rng = random.Random(5)
        for i in range(100):
            s = connect(port)
            try:
                prefix = [b"", b"*", b"*2\r\n$", b"*1\r\n"][i % 4]
                s.sendall(prefix + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000))))
                s.shutdown(socket.SHUT_WR)
                while s.recv(65536):
                    pass
            except (ConnectionResetError, BrokenPipeError):
                pass
            finally:
                s.close()
        check(proc.poll() is None, f"kv_server exited (status {proc.returncode}) during the fuzzing")
        kv_exchange(port, [(("PING",), "PONG")])

        test_redis_tools(port)
        check(proc.poll() is None, f"kv_server exited (status {proc.returncode})")
    finally:
        proc.kill()
        proc.communicate()


def test_redis_tools(port):
    """redis-cli and redis-benchmark against the server, when they are installed."""
    cli = shutil.which("redis-cli")
    bench = shutil.which("redis-benchmark")
    if cli is None or bench is None:
        print("kv: redis-cli / redis-benchmark not on PATH (Debian: redis-tools); "
              "their checks are left out", file=sys.stderr)
        return

    def run_cli(*args):
        out = subprocess.run([cli, "-p", str(port), *args], capture_output=True, text=True,
                             timeout=30)
        check(out.returncode == 0, f"redis-cli {args}: exit {out.returncode}: {out.stderr!r}")
        return out.stdout.strip()

    check(run_cli("FLUSHALL") == "OK", "redis-cli FLUSHALL")
    check(run_cli("SET", "greeting", "hello world") == "OK", "redis-cli SET")
    check(run_cli("GET", "greeting") == "hello world", "redis-cli GET")
    check(run_cli("INCR", "visits") == "1", "redis-cli INCR")
    check(run_cli("MGET", "greeting", "visits").split("\n") == ["hello world", "1"],
          "redis-cli MGET")
    check(run_cli("PING") == "PONG", "redis-cli PING")
    check("unknown command" in run_cli("NOSUCH"), "redis-cli unknown command")
    check(run_cli("DBSIZE") == "2", "redis-cli DBSIZE")

    out = subprocess.run([bench, "-p", str(port), "-t", "set,get", "-n", "20000", "-q"],
                         capture_output=True, text=True, timeout=120)
    check(out.returncode == 0, f"redis-benchmark exit {out.returncode}: {out.stderr!r}")
    text = out.stdout.replace("\r", "\n")
    for name in ("SET", "GET"):
        m = re.search(rf"^{name}: ([\d.]+) requests per second", text, re.M)
        check(m and float(m.group(1)) > 0, f"redis-benchmark printed no {name} rate: {text!r}")
        print(f"kv: redis-benchmark {name}: {m.group(1)} requests/s", file=sys.stderr)
    check("WARNING" not in out.stdout + out.stderr, f"redis-benchmark warned: {out.stderr!r}")
    check(run_cli("DBSIZE") != "0", "redis-benchmark's SETs left no keys")


def main():
    try:
        if len(sys.argv) == 3 and sys.argv[1] == "http":
            test_http(sys.argv[2])
        elif len(sys.argv) == 4 and sys.argv[1] == "echo":
            test_echo(sys.argv[2], sys.argv[3])
        elif len(sys.argv) == 3 and sys.argv[1] == "shutdown":
            test_shutdown(sys.argv[2])
        elif len(sys.argv) == 3 and sys.argv[1] == "kv":
            test_kv(sys.argv[2])
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except Failure as f:
        print(f"FAILED: {f}", file=sys.stderr)
        return 1
    except Skip as s:
        print(f"skipped: {s}", file=sys.stderr)
        return 77
    print("passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

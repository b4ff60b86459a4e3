#!/usr/bin/env python3
"""Black-box tests of the io examples (examples/http_hello, echo_server, loadgen).

    examples_test.py http  HTTP_HELLO
    examples_test.py echo  ECHO_SERVER LOADGEN
    examples_test.py shutdown SERVER

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
"""

import os
import random
import re
import socket
import subprocess
import sys

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
    if "http" in os.path.basename(server):
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


def main():
    try:
        if len(sys.argv) == 3 and sys.argv[1] == "http":
            test_http(sys.argv[2])
        elif len(sys.argv) == 4 and sys.argv[1] == "echo":
            test_echo(sys.argv[2], sys.argv[3])
        elif len(sys.argv) == 3 and sys.argv[1] == "shutdown":
            test_shutdown(sys.argv[2])
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

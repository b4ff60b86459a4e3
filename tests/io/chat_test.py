#!/usr/bin/env python3
"""Black-box test of examples/chat_server.

    chat_test.py CHAT_SERVER

Starts the server on an ephemeral loopback port (it prints the port on its first line) and checks,
over real sockets:
- rooms: NICK/JOIN/LEAVE/MSG/WHO/ROOMS with a few clients; a message reaches exactly the members
  of its room (the sender included), each sender's messages in the order sent, also when two
  senders flood one room at once;
- bad input: a command before NICK, a bad and a taken nick, a repeated NICK, an unknown command,
  a bad room, MSG to a room one is not in get their ERR line; a line of 4096 bytes is accepted and
  a longer one gets "ERR line too long" and the connection closes; QUIT frees the nick;
- keep-alive: a server started with a 100 ms ping interval sends PING to a quiet client;
- a slow client (tiny SO_RCVBUF, never reads) in a flooded room is dropped: the room is told
  (DROPPED), its connection is closed, and every other member receives every message in order;
- 1,000 members in one room: one message reaches all of them;
- SIGTERM with those 1,000 clients connected: the server closes them and exits 0.
WEFT_IO_BACKEND in the environment is passed on, and the server's announced backend must match
it. Exit status: 0 passed, 1 failed (naming the check), 77 skipped (io_uring unavailable).
"""

import os
import re
import resource
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

TIMEOUT = 30.0  # seconds a single wait may take (generous: sanitizer builds are slow)
MEMBERS = 1000


class Failure(Exception):
    pass


class Skip(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def start_server(argv):
    """Starts a server with port 0; returns (process, port)."""
    # stderr into a file, not a pipe: a server (a sanitizer's report) must never block on it.
    err_file = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err_file, text=True)
    proc.err_file = err_file
    line = proc.stdout.readline()  # "chat_server listening on 127.0.0.1:PORT (io backend: B)"
    m = re.search(r"listening on 127\.0\.0\.1:(\d+) \(io backend: (\w+)\)", line)
    if not m:
        proc.kill()
        proc.wait()
        err = stderr_of(proc)
        if os.environ.get("WEFT_IO_BACKEND") == "io_uring" and "io_uring" in err:
            raise Skip(f"io_uring unavailable: {err.strip()}")
        raise Failure(f"{argv[0]} did not announce its port: {line!r} {err!r}")
    want = os.environ.get("WEFT_IO_BACKEND")
    if want in ("epoll", "io_uring"):
        check(m.group(2) == want, f"server runs on {m.group(2)}, WEFT_IO_BACKEND={want}")
    return proc, int(m.group(1))


def stderr_of(proc):
    proc.err_file.seek(0)
    return proc.err_file.read()


class Client:
    """A blocking connection that reads line by line (skipping the server's PING keep-alives)."""

    def __init__(self, port, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:  # before connect, so that the window is small from the start
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def send(self, *lines):
        self.sock.sendall("".join(line + "\n" for line in lines).encode())

    def line(self, skip_ping=True):
        while True:
            while b"\n" not in self.buf:
                try:
                    data = self.sock.recv(65536)
                except socket.timeout:
                    raise Failure(f"no line within {TIMEOUT} s (have {self.buf[:200]!r})")
                if not data:
                    raise Failure(f"connection closed, want a line (have {self.buf[:200]!r})")
                self.buf += data
            line, self.buf = self.buf.split(b"\n", 1)
            line = line.decode()
            if not (skip_ping and line == "PING"):
                return line

    def expect(self, want, what):
        got = self.line()
        check(got == want, f"{what}: got {got[:200]!r}, want {want[:200]!r}")

    def command(self, cmd, want):
        self.send(cmd)
        self.expect(want, cmd[:60])

    def nothing_pending(self, what):
        """Nothing else is queued for us: a PING is answered by the very next line."""
        self.send("PING")
        got = self.line()
        check(got == "PONG", f"{what}: got {got[:200]!r} before PONG")

    def closed_by_server(self, what):
        """The server closes the connection (after whatever it still sends)."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                return
            except socket.timeout:
                break
            if not data:
                return
        raise Failure(f"{what}: the server did not close the connection")

    def close(self):
        self.sock.close()


def named(port, nick, *rooms):
    c = Client(port)
    c.command(f"NICK {nick}", "OK")
    for r in rooms:
        c.command(f"JOIN {r}", "OK")
    return c


def test_rooms(port):
    a = named(port, "alice", "r1")
    b = named(port, "bob", "r1")
    c = named(port, "carol", "r2")

    a.send(*[f"MSG r1 a{i} some text" for i in range(5)])
    b.send("MSG r1 from bob")
    got_a = [a.line() for _ in range(6)]
    got_b = [b.line() for _ in range(6)]
    for who, got in (("alice", got_a), ("bob", got_b)):
        from_a = [l for l in got if l.startswith("FROM r1 alice ")]
        check(
            from_a == [f"FROM r1 alice a{i} some text" for i in range(5)],
            f"{who} got alice's messages as {from_a}",
        )
        check("FROM r1 bob from bob" in got, f"{who} did not get bob's message: {got}")
    c.nothing_pending("carol (not in r1) received r1's messages")
    a.nothing_pending("alice got more than r1's six messages")
    b.nothing_pending("bob got more than r1's six messages")

    c.command("MSG r2 only carol", "FROM r2 carol only carol")
    a.nothing_pending("alice (not in r2) received r2's message")

    a.command("WHO r1", "WHO r1 alice bob")
    a.command("ROOMS", "ROOMS r1 r2")
    a.command("JOIN r1", "OK")  # already a member: still one membership
    a.command("WHO r1", "WHO r1 alice bob")

    b.command("LEAVE r1", "OK")
    b.command("LEAVE r1", "ERR not a member")
    b.command("MSG r1 after leaving", "ERR not a member")
    a.command("MSG r1 bob is gone", "FROM r1 alice bob is gone")
    b.nothing_pending("bob received r1's message after LEAVE")
    a.command("WHO r1", "WHO r1 alice")
    c.command("LEAVE r2", "OK")
    a.command("ROOMS", "ROOMS r1")  # an empty room is gone
    a.command("WHO r2", "WHO r2")

    # Two senders flooding one room at once: each receiver gets all, each sender's in order.
    n = 300
    for x in (a, b, c):
        x.command("JOIN r3", "OK")
    a.send(*[f"MSG r3 {i}" for i in range(n)])
    b.send(*[f"MSG r3 {i}" for i in range(n)])
    for who, x in (("alice", a), ("bob", b), ("carol", c)):
        got = [x.line() for _ in range(2 * n)]
        for sender in ("alice", "bob"):
            mine = [l for l in got if l.startswith(f"FROM r3 {sender} ")]
            check(
                mine == [f"FROM r3 {sender} {i}" for i in range(n)],
                f"{who} got {sender}'s flood out of order or incomplete ({len(mine)} of {n}; "
                f"other lines: {[l[:40] for l in got if not l.startswith('FROM r3 ')][:5]})",
            )
        x.nothing_pending(f"{who} got more than the two floods")

    # QUIT frees the nick.
    b.command("QUIT", "BYE")
    b.closed_by_server("after QUIT")
    b.close()
    b2 = named(port, "bob", "r3")
    a.command("MSG r3 hello again", "FROM r3 alice hello again")
    b2.expect("FROM r3 alice hello again", "bob, reconnected")
    for x in (a, b2, c):
        x.close()


def test_bad_input(port):
    x = Client(port)
    x.command("MSG r1 hi", "ERR NICK first")
    x.command("JOIN r1", "ERR NICK first")
    x.command("WHO r1", "ERR NICK first")
    x.command("HELLO", "ERR unknown command")
    x.command("NICK", "ERR bad name")
    x.command("NICK bad name", "ERR bad name")
    x.command("NICK " + "n" * 33, "ERR bad name")
    x.command("NICK dup", "OK")
    x.command("NICK other", "ERR already named")
    x.command("msg r1 lowercase", "ERR unknown command")
    x.command("JOIN bad/room", "ERR bad room")
    x.command("JOIN", "ERR bad room")
    x.command("MSG nowhere hi", "ERR not a member")
    x.send("", "")  # empty lines are ignored
    x.nothing_pending("after empty lines")

    y = Client(port)
    y.command("NICK dup", "ERR name taken")
    y.command("NICK dup2", "OK")
    y.close()

    # The longest line accepted: 4096 bytes before "\r\n".
    x.command("JOIN long", "OK")
    head = "MSG long "
    text = "t" * (4096 - len(head))
    x.sock.sendall((head + text + "\r\n").encode())
    x.expect(f"FROM long dup {text}", "a 4096-byte line")
    # One byte more: an error, then the server closes.
    x.sock.sendall((head + text + "u\n").encode())
    x.expect("ERR line too long", "a 4097-byte line")
    x.closed_by_server("after a line too long")
    x.close()

    # A line that never ends.
    z = Client(port)
    z.command("NICK endless", "OK")
    z.sock.sendall(b"MSG " + b"x" * 10000)
    z.expect("ERR line too long", "10000 bytes without a line ending")
    z.closed_by_server("after an endless line")
    z.close()


def test_ping(server):
    proc, port = start_server([server, "0", "100"])
    try:
        c = Client(port)
        c.command("NICK quiet", "OK")
        got = c.line(skip_ping=False)
        check(got == "PING", f"a quiet client got {got!r}, want PING after 100 ms")
        c.close()
    finally:
        proc.terminate()
        rc = proc.wait(timeout=TIMEOUT)
    check(rc == 0, f"ping server: exit status {rc} after SIGTERM, want 0")


def test_slow_client(port):
    fast = [named(port, f"fast{i}", "flood") for i in range(3)]
    sender = named(port, "sender", "flood")
    readers = fast + [sender]
    slow = Client(port, rcvbuf=4096)
    slow.send("NICK slow", "JOIN flood")  # and never reads again
    deadline = time.monotonic() + TIMEOUT
    while True:
        sender.send("WHO flood")
        who = sender.line()
        if "slow" in who.split()[2:]:
            break
        check(time.monotonic() < deadline, f"slow never joined: {who}")

    payload = "p" * 1000
    batch = 50
    sent = 0
    dropped_at = None
    limit = 40000  # 40 MB: far more than any socket buffers hold
    got = [[] for _ in readers]
    while dropped_at is None or sent < dropped_at + 500:
        check(sent < limit, f"slow was not dropped after {sent} messages of 1000 bytes")
        sender.send(*[f"MSG flood {sent + i} {payload}" for i in range(batch)])
        sent += batch
        # Lockstep: every fast member reads the whole batch before the next one, so it is never
        # more than one batch (and a notice) behind; the slow one falls behind without bound.
        for i, r in enumerate(readers):
            while sum(1 for l in got[i] if l.startswith("FROM ")) < sent:
                line = r.line()
                got[i].append(line)
                if line.startswith("DROPPED") and dropped_at is None:
                    dropped_at = sent
    for i, r in enumerate(readers):
        notices = [l for l in got[i] if not l.startswith("FROM ")]
        check(notices == ["DROPPED flood slow"], f"member {i} got notices {notices}")
        msgs = [l.split(" ", 4)[3] for l in got[i] if l.startswith("FROM ")]
        check(
            msgs == [str(k) for k in range(sent)],
            f"member {i} missed or reordered messages of the flood ({len(msgs)} of {sent})",
        )
    sender.command("WHO flood", "WHO flood fast0 fast1 fast2 sender")
    slow.closed_by_server("the dropped slow client")
    slow.close()
    # Its nick is free again.
    again = named(port, "slow", "flood")
    sender.command("MSG flood after", "FROM flood sender after")
    again.expect("FROM flood sender after", "the reconnected slow client")
    for r in readers + [again]:
        r.close()
    print(f"  slow client dropped after {dropped_at} messages of 1000 bytes")


def raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        return
    if hard != resource.RLIM_INFINITY and hard < need:
        raise Skip(f"RLIMIT_NOFILE hard limit {hard} < {need}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def test_many_members(port):
    """MEMBERS clients in one room; returns their sockets (still connected)."""
    sel = selectors.DefaultSelector()
    socks = []
    bufs = {}
    for i in range(MEMBERS):
        s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        s.sendall(f"NICK m{i}\nJOIN big\n".encode())
        s.setblocking(False)
        socks.append(s)
        bufs[s] = b""
        sel.register(s, selectors.EVENT_READ)

    def read_until_each_has(want, what):
        """Reads every socket until each one's buffer holds `want` (leftovers kept)."""
        waiting = set(socks)
        for s in socks:
            if want in bufs[s]:
                waiting.discard(s)
        deadline = time.monotonic() + TIMEOUT
        while waiting:
            check(time.monotonic() < deadline, f"{what}: {len(waiting)} of {MEMBERS} still waiting")
            for key, _ in sel.select(timeout=1.0):
                s = key.fileobj
                data = s.recv(65536)
                check(data, f"{what}: a member's connection closed")
                bufs[s] += data
                if want in bufs[s]:
                    waiting.discard(s)

    read_until_each_has(b"OK\nOK\n", "NICK and JOIN")
    for s in socks:
        check(bufs[s].startswith(b"OK\nOK\n"), f"a member got {bufs[s][:100]!r} for NICK/JOIN")
        bufs[s] = bufs[s][6:]
    # WHO lists all of them.
    names = [f"m{k}" for k in range(MEMBERS)]
    socks[0].sendall(b"WHO big\n")
    deadline = time.monotonic() + TIMEOUT
    while b"\n" not in bufs[socks[0]].replace(b"PING\n", b""):
        check(time.monotonic() < deadline, "no answer to WHO")
        if sel.select(timeout=1.0):
            try:
                bufs[socks[0]] += socks[0].recv(65536)
            except BlockingIOError:
                pass
    who = bufs[socks[0]].replace(b"PING\n", b"").decode()
    check(who.endswith("\n") and who.startswith("WHO big "), f"WHO of the big room: {who[:100]!r}")
    listed = who.split()[2:]  # in the order they joined, which the server's tasks decided
    check(sorted(listed) == sorted(names), f"WHO of the big room lists {len(listed)} members")
    bufs[socks[0]] = b""
    # One message from the last member reaches all of them, and nothing else comes.
    socks[-1].sendall(f"MSG big hello to all {MEMBERS}\n".encode())
    want = f"FROM big m{MEMBERS - 1} hello to all {MEMBERS}\n".encode()
    read_until_each_has(want, "the broadcast")
    for i, s in enumerate(socks):
        rest = bufs[s].replace(b"PING\n", b"")
        check(rest == want, f"member {i} got {rest[:100]!r}, want exactly the broadcast")
    sel.close()
    return socks


def test_sigterm(proc, socks):
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Failure(
            f"no exit within {TIMEOUT} s of SIGTERM with {len(socks)} clients connected; "
            f"stderr: {stderr_of(proc)[-2000:]!r}"
        )
    check(rc == 0, f"exit status {rc} after SIGTERM, want 0")
    err = stderr_of(proc)
    check("shutting down" in err, f"no shutdown notice on SIGTERM: {err!r}")
    for s in socks:  # every connection was closed (EOF or reset)
        s.setblocking(True)
        s.settimeout(TIMEOUT)
        try:
            while s.recv(65536):
                pass
        except ConnectionResetError:
            pass
        s.close()


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    server = sys.argv[1]
    try:
        raise_nofile(2 * MEMBERS + 200)  # the server inherits it: both ends of every member
        proc, port = start_server([server, "0", "600000"])  # no PING during the test
        try:
            for name, fn in (
                ("rooms", test_rooms),
                ("bad input", test_bad_input),
                ("slow client", test_slow_client),
            ):
                print(f"chat_test: {name}")
                fn(port)
            print(f"chat_test: {MEMBERS} members")
            socks = test_many_members(port)
            print(f"chat_test: SIGTERM with {MEMBERS} clients connected")
            test_sigterm(proc, socks)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        print("chat_test: PING on a quiet connection")
        test_ping(server)
    except Skip as e:
        print(f"chat_test: skipped: {e}")
        return 77
    except Failure as e:
        traceback.print_exc()
        print(f"chat_test: FAILED: {e}", file=sys.stderr)
        return 1
    print("chat_test: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

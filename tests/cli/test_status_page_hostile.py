#!/usr/bin/env python3
"""The status page against what a stranger on the machine, or a web page in its browser, can
send it: a daemon's page on 127.0.0.1 answers GET and HEAD (and still does after all of this);
a POST of 300 MiB, streamed slowly, gets 405 without its body being read (the sender gets
stuck or cut off long before the end, and the daemon's RSS does not grow by more than 16 MiB);
a Host that is not the page's own (DNS rebinding) gets 421 and no status; no answer carries a
CORS header; a head past 8 KiB gets 431; of 40 connections at once 32 are kept; a connection
that sends nothing, or trickles its head, is closed within the page's 5 s deadline."""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from clitest import case, eq, isolate_network, main  # noqa: E402

SHOAL = os.path.abspath(sys.argv[1])
ROOT = tempfile.mkdtemp(prefix="shoal-page-hostile-")
ENV = dict(os.environ, HOME=ROOT)
STATE = {}
DEADLINE = 5  # s: the page's deadline for a request


def start():
    home = os.path.join(ROOT, "a")
    os.makedirs(home)
    with open(os.path.join(home, "config.json"), "w") as f:
        json.dump({"statusPort": 0, "listen": ""}, f)
    d = subprocess.Popen([SHOAL, "run", "--home", home], env=ENV, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    assert b"running as @" in d.stdout.readline()
    STATE["daemon"] = d
    p = subprocess.run([SHOAL, "status", "--json", "--home", home], env=ENV,
                       capture_output=True, timeout=30)
    s = json.loads(p.stdout)
    STATE["id"] = s["id"]
    STATE["port"] = int(s["page"].rsplit(":", 1)[1].strip("/"))


def rss_kib():
    with open(f"/proc/{STATE['daemon'].pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def connect():
    return socket.create_connection(("127.0.0.1", STATE["port"]), timeout=30)


def read_answer(s, head_only=False):
    """One answer on s: (status, headers as a dict of lowercase names, body); an answer to HEAD
    has none, whatever its Content-Length says."""
    data = b""
    while b"\r\n\r\n" not in data:
        more = s.recv(65536)
        assert more, f"the connection closed before an answer: {data!r}"
        data += more
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
    length = 0 if head_only else int(headers.get("content-length", "0"))
    while len(body) < length:
        more = s.recv(65536)
        assert more, "the connection closed in the body"
        body += more
    return int(lines[0].split()[1]), headers, body


def request(head, s=None):
    """Sends a request head (lines, without the blank line) and reads its answer."""
    own = s is None
    s = s or connect()
    try:
        s.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        return read_answer(s, head[0].startswith("HEAD "))
    finally:
        if own:
            s.close()


def host():
    return f"Host: 127.0.0.1:{STATE['port']}"


def closed_within(s, seconds):
    """How long until the server closes s (which sends no more); fails after `seconds`."""
    began = time.time()
    s.settimeout(seconds)
    try:
        while s.recv(65536):
            pass
    except socket.timeout:
        raise AssertionError(f"the connection was still open after {seconds} s") from None
    except ConnectionResetError:
        pass
    return time.time() - began


@case
def get_and_head_are_answered():
    status, headers, body = request(["GET /status.json HTTP/1.1", host()])
    eq(status, 200)
    eq(json.loads(body)["id"], STATE["id"])
    eq(headers["content-type"], "application/json")
    status, headers, body = request(["GET / HTTP/1.1", f"Host: localhost:{STATE['port']}"])
    eq(status, 200)
    assert b"<title>shoal</title>" in body, body[:200]
    # HEAD: the same headers, no body; then a GET on the same connection (kept alive)
    s = connect()
    status, headers, body = request(["HEAD / HTTP/1.1", host()], s)
    eq(status, 200)
    assert int(headers["content-length"]) > 1000, headers
    eq(body, b"")
    s.sendall(f"GET /status.json HTTP/1.1\r\n{host()}\r\n\r\n".encode())
    eq(read_answer(s)[0], 200)
    s.close()


@case
def no_answer_lets_another_origin_read_it():
    for path in ["/", "/status.json"]:
        status, headers, _ = request([f"GET {path} HTTP/1.1", host(),
                                      "Origin: http://evil.example"])
        eq(status, 200)
        assert not [h for h in headers if h.startswith("access-control-")], headers
    status, headers, _ = request(["OPTIONS /status.json HTTP/1.1", host(),
                                  "Origin: http://evil.example",
                                  "Access-Control-Request-Method: GET"])
    eq(status, 405)
    assert not [h for h in headers if h.startswith("access-control-")], headers


@case
def another_host_gets_no_status():
    # a page of evil.example whose DNS now says 127.0.0.1 (DNS rebinding) sends its own name
    for name in ["evil.example", f"evil.example:{STATE['port']}", "127.0.0.1:1",
                 f"localhost.evil.example:{STATE['port']}"]:
        status, _, body = request(["GET /status.json HTTP/1.1", f"Host: {name}"])
        eq(status, 421, name)
        assert STATE["id"].encode() not in body, body
    status, _, _ = request(["GET /status.json HTTP/1.0"])  # no Host at all
    eq(status, 421)
    status, _, _ = request(["GET /status.json HTTP/1.1", host(), "Host: evil.example"])
    eq(status, 400)


@case
def a_huge_post_is_refused_unread():
    before = rss_kib()
    s = connect()
    size = 300 << 20
    s.sendall(f"POST /status.json HTTP/1.1\r\n{host()}\r\nContent-Type: text/plain\r\n"
              f"Content-Length: {size}\r\n\r\n".encode())
    sent = [0]

    def stream():  # 64 KiB every 2 ms: 300 MiB would take 10 s
        chunk = b"x" * 65536
        s.settimeout(3)
        try:
            while sent[0] < size:
                sent[0] += s.send(chunk)
                time.sleep(0.002)
        except OSError:
            pass  # stuck (nobody reads), or cut off

    t = threading.Thread(target=stream)
    t.start()
    status, headers, _ = read_answer(s)
    eq(status, 405)
    eq(headers["allow"], "GET, HEAD")
    eq(headers["connection"], "close")
    t.join(60)
    s.close()
    after = rss_kib()
    print(f"# a 300 MiB POST: {sent[0] >> 10} KiB went out before the sender was stopped; "
          f"the daemon's RSS {before} KiB before, {after} KiB after")
    assert sent[0] < size // 4, sent[0]
    assert after - before < 16 << 10, (before, after)
    # a GET that announces a body is answered, and its connection closed unread
    s = connect()
    s.sendall(f"GET / HTTP/1.1\r\n{host()}\r\nContent-Length: {size}\r\n\r\n".encode())
    status, headers, _ = read_answer(s)
    eq(status, 200)
    eq(headers["connection"], "close")
    closed_within(s, 2)
    s.close()


@case
def a_head_past_8_kib_is_refused():
    s = connect()
    s.sendall(f"GET / HTTP/1.1\r\n{host()}\r\nX-Pad: {'a' * 9000}\r\n\r\n".encode())
    eq(read_answer(s)[0], 431)
    closed_within(s, 2)
    s.close()


@case
def at_most_32_connections_are_kept():
    socks = [connect() for _ in range(40)]
    time.sleep(0.5)
    shut = 0
    for s in socks:
        s.setblocking(False)
        try:
            shut += s.recv(16) == b""
        except BlockingIOError:
            pass  # kept open, waiting for its request
        except ConnectionResetError:
            shut += 1
    for s in socks:
        s.close()
    eq(shut, 8)
    eq(request(["GET /status.json HTTP/1.1", host()])[0], 200)


@case
def idle_and_trickling_connections_are_closed():
    s = connect()
    took = closed_within(s, DEADLINE + 3)
    s.close()
    print(f"# an idle connection was closed after {took:.1f} s")
    assert took > DEADLINE - 1, took
    # a head sent a byte every half second (slowloris) is cut off at the same deadline
    s = connect()
    began = time.time()
    try:
        for byte in f"GET / HTTP/1.1\r\n{host()}\r\nX-Slow: {'a' * 40}".encode():
            s.send(bytes([byte]))
            time.sleep(0.5)
        raise AssertionError("a trickled head was read for 30 s")
    except OSError:
        pass
    took = time.time() - began
    s.close()
    assert took < DEADLINE + 3, took
    # and the page still answers
    eq(request(["GET /status.json HTTP/1.1", host()])[0], 200)


if __name__ == "__main__":
    isolate_network()
    start()
    try:
        main("test_status_page_hostile")
    finally:
        STATE["daemon"].send_signal(signal.SIGTERM)
        STATE["daemon"].communicate(timeout=30)

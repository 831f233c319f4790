#!/usr/bin/env python3
"""The daemon under hostile peers: does it keep serving its honest ones?

Two `shoal run` daemons on 127.0.0.1, in a network namespace of their own: V (the victim, with
a net: port and 21,000 messages in three feeds) and H (honest), connected over net:, each
following the other. Every 250 ms one of them publishes; the other must hold the message (its
delivery latency is measured through the control socket, polled every 10 ms). V's `status`
round trip over its control socket is measured every 500 ms, and V's RSS read from /proc.
First alone (the anchor), then while each attack runs, from `hostile-peer` (fresh key pairs,
the main network key: what any stranger has), against V:
  history    40 connections, each asks for a 7,000-message feed and never reads
  live       4 connections x 8,000 live streams of V's own feed, never read
  idle       1,000 connections that finish the handshake and stay silent
  mute       1,000 TCP connections that never say a word
  page       3 POSTs of 300 MiB and 64 idle connections to V's status page
V runs with maxPeers 48, so that strangers get slots and the resource manager's own limits are
what holds (with the default of 4, the state manager turns nearly all of them away). For each:
V's RSS above its idle size, status p50/max, delivery p50/max and delivered share, and what V
refused (its status "refused" counts, the change over the phase).

With --quick (the test suite, under the sanitizers) the phases are short and the bounds are
checked, not timed: V's RSS stays within 64 MiB of idle, every honest message is delivered, and
status answers, throughout. Forged and replayed signals are the jamming test's
(tests/node/test_node_jam.py): they need a hub and WebRTC.
Usage: bench_peer_hostile.py SHOAL HOSTILE_PEER FEED_WRITER [--quick]"""
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "cli"))
from clitest import isolate_network  # noqa: E402

isolate_network()  # before anything is made: the script starts again inside the namespace
SHOAL, HOSTILE, FEED_WRITER = (os.path.abspath(a) for a in sys.argv[1:4])
QUICK = "--quick" in sys.argv
PHASE_S = 4 if QUICK else 15
RSS_BOUND_MIB = 64
ROOT = tempfile.mkdtemp(prefix="shoal-hostile-")
ENV = dict(os.environ, HOME=ROOT, SHOAL_LOG="warn")
# Under AddressSanitizer (the test suite), freed memory waits in a quarantine of 256 MiB before
# it is reused: the daemon's RSS would tell the quarantine's size, not the daemon's. A small one
# keeps the bound meaningful (use-after-free is still caught within it).
if "ASAN_OPTIONS" in ENV:
    ENV["ASAN_OPTIONS"] += ":quarantine_size_mb=4:thread_local_quarantine_size_kb=64"


class Control:
    """One daemon's control socket: JSON lines, one request at a time."""

    def __init__(self, home):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(os.path.join(home, "control.sock"))
        self.file = self.sock.makefile("rwb")
        self.lock = threading.Lock()

    def ask(self, **req):
        with self.lock:
            self.file.write(json.dumps(req).encode() + b"\n")
            self.file.flush()
            reply = json.loads(self.file.readline())
        if not reply.get("ok"):
            raise RuntimeError("%s: %s" % (req, reply))
        return reply


class Daemon:
    def __init__(self, name, config, feeds_db=None):
        self.home = os.path.join(ROOT, name)
        os.makedirs(self.home)
        with open(os.path.join(self.home, "config.json"), "w") as f:
            json.dump(config, f)
        if feeds_db:
            shutil.copy(feeds_db, os.path.join(self.home, "feeds.db"))
        self.proc = subprocess.Popen([SHOAL, "run", "--home", self.home], env=ENV,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode()
        assert "running as @" in line, line
        self.ctl = Control(self.home)
        self.status_ctl = Control(self.home)  # its own connection: never behind a poll
        s = self.ctl.ask(cmd="status")
        self.id, self.net, self.page = s["id"], s["net"], s["page"]

    def rss_mib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Honest:
    """Publishes on V and H in turn every 250 ms; measures each message's arrival at the other,
    V's status round trip and V's RSS, until stopped."""

    def __init__(self, v, h):
        self.v, self.h = v, h
        self.lat, self.status_ms, self.rss = [], [], []
        self.published = self.delivered = 0
        self.running = True
        self.threads = [threading.Thread(target=self.publishing, daemon=True),
                        threading.Thread(target=self.watching, daemon=True)]
        for t in self.threads:
            t.start()

    def publishing(self):
        turn = 0
        while self.running:
            src, dst = (self.v, self.h) if turn % 2 == 0 else (self.h, self.v)
            turn += 1
            r = src.ctl.ask(cmd="publish", content={"type": "post", "text": "honest %d" % turn})
            self.published += 1
            t0 = time.monotonic()
            while time.monotonic() - t0 < 10:
                got = dst.ctl.ask(cmd="feed", id=src.id, seq=r["sequence"], limit=1)
                if got["messages"]:
                    self.lat.append((time.monotonic() - t0) * 1000)
                    self.delivered += 1
                    break
                time.sleep(0.01)
            time.sleep(max(0, 0.25 - (time.monotonic() - t0)))

    def watching(self):
        while self.running:
            t0 = time.monotonic()
            self.v.status_ctl.ask(cmd="status")
            self.status_ms.append((time.monotonic() - t0) * 1000)
            self.rss.append(self.v.rss_mib())
            time.sleep(0.5)

    def take(self):
        """What was measured since the last take."""
        out = (self.lat, self.status_ms, self.rss, self.published, self.delivered)
        self.lat, self.status_ms, self.rss = [], [], []
        self.published = self.delivered = 0
        return out

    def stop(self):
        self.running = False
        for t in self.threads:
            t.join(timeout=20)


def p50(xs):
    return statistics.median(xs) if xs else float("nan")


def page_attack(page_url):
    """3 POSTs of 300 MiB and 64 idle connections to the status page; returns a stopper."""
    host, port = page_url.split("//")[1].rstrip("/").split(":")
    socks, stop = [], threading.Event()

    def post():
        s = socket.create_connection((host, int(port)))
        try:
            s.sendall(b"POST /status.json HTTP/1.1\r\nHost: %s:%s\r\nContent-Length: %d\r\n\r\n"
                      % (host.encode(), port.encode(), 300 << 20))
            chunk = b"x" * (1 << 20)
            for _ in range(300):
                if stop.is_set():
                    break
                s.sendall(chunk)
        except OSError:
            pass  # closed by the page: what it should do
        finally:
            s.close()

    threads = [threading.Thread(target=post, daemon=True) for _ in range(3)]
    for t in threads:
        t.start()
    for _ in range(64):
        try:
            socks.append(socket.create_connection((host, int(port))))
        except OSError:
            pass

    def stopper():
        stop.set()
        for s in socks:
            s.close()
        for t in threads:
            t.join(timeout=10)
    return stopper


def hostile(v, *args):
    """Starts hostile-peer against V; waits for its connections; returns a stopper."""
    host, port = v.net.split(":")[1:3]
    port = port.split("~")[0]
    p = subprocess.Popen([HOSTILE, host, port, v.id] + [str(a) for a in args],
                         stdout=subprocess.PIPE, text=True)
    ready = json.loads(p.stdout.readline())

    def stopper():
        p.send_signal(signal.SIGTERM)
        out, _ = p.communicate(timeout=30)
        return out
    return stopper, ready


def main():
    db = os.path.join(ROOT, "history.db")
    subprocess.run([FEED_WRITER, db, "7000"], check=True, stdout=subprocess.DEVNULL)
    ids = json.loads(subprocess.run([FEED_WRITER, "--check", db], check=True,
                                    capture_output=True, text=True).stdout)["ids"]
    h = Daemon("h", {"listen": "", "statusPort": 0})
    v = Daemon("v", {"listen": "127.0.0.1:0", "statusPort": 0, "follow": [h.id],
                     "peers": {"maxPeers": 48}}, feeds_db=db)
    h.ctl.ask(cmd="follow", id=v.id)
    h.ctl.ask(cmd="connect", address=v.net)
    honest = Honest(v, h)
    attacks = [
        ("idle (anchor)", None),
        ("history", lambda: hostile(v, "history", 40, ids[0])),
        ("live", lambda: hostile(v, "live", 4, 8000, v.id)),
        ("idle", lambda: hostile(v, "idle", 1000)),
        ("mute", lambda: hostile(v, "mute", 1000)),
        ("page", lambda: (page_attack(v.page), None)),
    ]
    time.sleep(2)  # H's first sync of V's history done, the first messages through
    honest.take()
    idle_rss = v.rss_mib()
    refused = v.ctl.ask(cmd="status")["refused"]
    failures = []
    print("%-14s %9s %9s %9s %11s %11s %9s  %s" % ("attack", "RSS+MiB", "status50", "statusmax",
                                                 "deliver50", "delivermax", "delivered",
                                                 "refused during it"))
    for name, start in attacks:
        stopper, ready = start() if start else (None, None)
        time.sleep(PHASE_S)
        lat, st, rss, published, delivered = honest.take()
        if stopper:
            stopper()
        time.sleep(1)
        now = v.ctl.ask(cmd="status")["refused"]
        delta = {k: now[k] - refused.get(k, 0) for k in now if now[k] != refused.get(k, 0)}
        refused = now
        grew = max(rss or [0]) - idle_rss
        print("%-14s %9.1f %8.1fms %8.1fms %10.1fms %10.1fms %5d/%-3d  %s%s" % (
            name, grew, p50(st), max(st or [0]), p50(lat), max(lat or [0]), delivered, published,
            json.dumps(delta, separators=(",", ":")),
            "  (%s)" % json.dumps(ready, separators=(",", ":")) if ready else ""))
        sys.stdout.flush()
        if v.proc.poll() is not None:
            failures.append("%s: the daemon died" % name)
            break
        if grew > RSS_BOUND_MIB:
            failures.append("%s: RSS grew %.1f MiB (bound %d)" % (name, grew, RSS_BOUND_MIB))
        if published and delivered < published - 1:  # the last may still be on its way
            failures.append("%s: %d of %d honest messages delivered" % (name, delivered,
                                                                         published))
        if not st:
            failures.append("%s: status never answered" % name)
    honest.stop()
    v.stop()
    h.stop()
    shutil.rmtree(ROOT, ignore_errors=True)
    for f in failures:
        print("FAIL " + f)
    if QUICK:
        print("# bench_peer_hostile: %d passed, %d failed" % (len(attacks) - len(failures),
                                                            len(failures)))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

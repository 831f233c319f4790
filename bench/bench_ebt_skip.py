#!/usr/bin/env python3
"""Request skipping (issue 18): two peers hold the same FEEDS feeds (one message each), follow
all of them, and are in sync; they meet twice over net: through a counting TCP relay on
127.0.0.1: first as strangers, then again after the first session ended (each kept the other's
clock). For each meeting: the bytes through the relay, both ways, and the time from the dial to
the last byte before 3 s of quiet ("in sync"). Three pairs in the same run:
  shoal with EBT;
  shoal with createHistoryStream ("ebt": false): one stream per feed, each way, every time (the
  bound on a session's streams raised to 8,192 to hold them);
  two ssb-ebt 9 nodes (bench/ssb_modern_skip.js), the anchor.

    python3 bench/bench_ebt_skip.py build-bench/src/cli/shoal \\
        build-bench/tests/tools/feed-writer .deps/ssb-modern/node_modules [FEEDS]
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

SHOAL, FEED_WRITER, MODERN = (os.path.abspath(a) for a in sys.argv[1:4])
FEEDS = int(sys.argv[4]) if len(sys.argv) > 4 else 5000
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = tempfile.mkdtemp(prefix="shoal-bench-skip-")
ENV = dict(os.environ, HOME=ROOT)


class Relay:
    """Forwards 127.0.0.1:port to `target`, counting the bytes and when the last crossed."""

    def __init__(self, target):
        self.target, self.bytes, self.last = target, 0, 0
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            a, _ = self.sock.accept()
            b = socket.create_connection(("127.0.0.1", self.target))
            for x, y in ((a, b), (b, a)):
                threading.Thread(target=self.pipe, args=(x, y), daemon=True).start()

    def pipe(self, x, y):
        try:
            while (chunk := x.recv(65536)):
                with self.lock:
                    self.bytes += len(chunk)
                    self.last = time.time()
                y.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (x, y):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def start(self):
        with self.lock:
            self.bytes, self.last = 0, time.time()
        return self.last

    def quiet(self, t0, seconds=3):
        """Waits for `seconds` without a byte; the bytes and the time to the last one."""
        while True:
            with self.lock:
                if time.time() - self.last >= seconds:
                    return {"bytes": self.bytes, "ms": round((self.last - t0) * 1000)}
            time.sleep(0.05)


def shoal(*args):
    p = subprocess.run([SHOAL, *args], env=ENV, capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr.decode()
    return p.stdout.decode()


def status(home):
    return json.loads(shoal("status", "--home", home, "--json"))


def daemon(home):
    d = subprocess.Popen([SHOAL, "run", "--home", home], env=ENV, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    assert b"running as @" in d.stdout.readline()
    return d


def shoal_pair(db, ids, ebt):
    homes = []
    for name in ("p", "q"):
        home = os.path.join(ROOT, f"{name}-{'ebt' if ebt else 'legacy'}")
        os.makedirs(home)
        config = {"statusPort": 0, "listen": "127.0.0.1:0", "follow": ids, "ebt": ebt}
        if not ebt:  # a stream per feed: past the default bound of 1,024 a session
            config["limits"] = {"streams": 8192}
        json.dump(config, open(os.path.join(home, "config.json"), "w"))
        shutil.copy(db, os.path.join(home, "feeds.db"))
        homes.append(home)
    p, q = daemon(homes[0]), daemon(homes[1])
    figures = {}
    try:
        for meeting in ("first", "again"):
            net = status(homes[1])["net"]  # net:127.0.0.1:PORT~shs:KEY
            port = int(net.split(":")[2].split("~")[0])
            relay = Relay(port)
            t0 = relay.start()
            shoal("connect", net.replace(f":{port}~", f":{relay.port}~"), "--home", homes[0])
            figures[meeting] = relay.quiet(t0)
            # the session ends (Q stops): each side keeps the other's clock
            q.send_signal(signal.SIGTERM)
            q.wait(timeout=30)
            q = daemon(homes[1])
    finally:
        for d in (p, q):
            d.send_signal(signal.SIGTERM)
            d.wait(timeout=30)
    return figures


def main():
    db = os.path.join(ROOT, "feeds.db")
    subprocess.run([FEED_WRITER, "--feeds", str(FEEDS), db, "1"], check=True,
                   stdout=subprocess.DEVNULL, timeout=600)
    check = subprocess.run([FEED_WRITER, "--feeds", str(FEEDS), "--check", db], check=True,
                           capture_output=True, timeout=600)
    ids = json.loads(check.stdout)["ids"]
    rows = {"shoal, EBT": shoal_pair(db, ids, True),
            "shoal, createHistoryStream": shoal_pair(db, ids, False)}
    p = subprocess.run(["node", os.path.join(HERE, "ssb_modern_skip.js"), MODERN, str(FEEDS)],
                       capture_output=True, timeout=900)
    assert p.returncode == 0, p.stderr.decode()[-3000:]
    anchor = json.loads(p.stdout.decode().strip().splitlines()[-1])
    rows["ssb-ebt 9 (the anchor)"] = anchor
    print(f"{FEEDS} feeds held in sync by both; bytes both ways, ms from the dial to the last byte")
    print(f"| pair | first: bytes | first: ms | again: bytes | again: ms | again vs anchor |")
    print("|---|---|---|---|---|---|")
    for name, f in rows.items():
        ratio = f["again"]["bytes"] / max(1, anchor["again"]["bytes"])
        print(f"| {name} | {f['first']['bytes']:,} | {f['first']['ms']:,} | "
              f"{f['again']['bytes']:,} | {f['again']['ms']:,} | {ratio:.2f}× the bytes |")


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(ROOT, ignore_errors=True)

#!/usr/bin/env python3
"""EBT with software nobody here wrote: a modern SSB node as Manyverse builds it
(tests/tools/modern_node.js: secret-stack 6.4.2, ssb-db2 6.3.3, ssb-ebt 9.1.2, ssb-friends 5.1.7,
ssb-replication-scheduler 2.0.5, installed from npm by scripts/fetch-test-data) and a shoal
daemon follow each other; either side dials over net:, whoever dialled starts ebt.replicate, and
each ends holding the other's whole feed; then a post made on the open connection crosses, both
ways, within a second. ssb-ebt 9 has no fallback: nothing reaches it but over EBT. And the
reference server, ssb-server 16.0.1 (ssb-ebt 5.6, which falls back to createHistoryStream when
EBT is refused: here it never is), replicates with shoal over EBT, either side dialling."""
import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from clitest import case, commands, eq, main, wait_for  # noqa: E402

SHOAL, MODERN, MODULES, OLD_MODULES = (os.path.abspath(a) for a in sys.argv[1:5])
SSB_BIN = os.path.join(OLD_MODULES, "ssb-server", "bin.js")
ROOT = tempfile.mkdtemp(prefix="shoal-ebt-")
ENV = dict(os.environ, HOME=ROOT, SHOAL_LOG="info")
POSTS = 20

shoal, ask = commands(SHOAL, ENV, timeout=60)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    def __init__(self, name):
        self.home = os.path.join(ROOT, name)
        os.makedirs(self.home)
        with open(os.path.join(self.home, "config.json"), "w") as f:
            json.dump({"statusPort": 0, "listen": "127.0.0.1:0"}, f)
        self.log = os.path.join(ROOT, name + ".log")
        self.p = subprocess.Popen([SHOAL, "run", "--home", self.home], env=ENV,
                                  stdout=subprocess.PIPE, stderr=open(self.log, "ab"))
        assert b"running as @" in self.p.stdout.readline(), open(self.log).read()
        status = ask(self.home, "status")
        self.id, self.net = status["id"], status["net"]

    def held(self, feed):
        return next((f["sequence"] for f in ask(self.home, "status")["feeds"] if f["id"] == feed),
                    0)

    def publish(self, n, text):
        for i in range(n):
            rc, out, err = shoal("publish", "--type", "post", "--text", f"{text} {i}", "--home",
                                 self.home)
            eq(rc, 0, err)

    def stop(self):
        self.p.terminate()
        self.p.wait(timeout=30)


class Modern:
    """modern_node.js, its events read as they come."""

    def __init__(self, name, *flags):
        self.dir = os.path.join(ROOT, name)
        self.err = open(os.path.join(ROOT, name + ".err"), "ab")
        self.p = subprocess.Popen(["node", MODERN, MODULES, "--dir", self.dir, "--port",
                                   str(free_port()), *flags], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=self.err, text=True)
        self.events = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()
        ready = self.next("ready", 120)
        self.id, self.address = ready["id"], ready["address"]

    def _read(self):
        for line in self.p.stdout:
            self.events.put(json.loads(line))

    def next(self, kind, seconds=60, where=lambda e: True):
        """The next event of `kind` that `where` takes (those before it are kept in seen)."""
        deadline = time.time() + seconds
        for e in self.seen:
            if e["event"] == kind and where(e):
                self.seen.remove(e)
                return e
        while time.time() < deadline:
            try:
                e = self.events.get(timeout=max(0.01, deadline - time.time()))
            except queue.Empty:
                break
            if e["event"] == kind and where(e):
                return e
            self.seen.append(e)
        raise AssertionError(f"no {kind} event within {seconds} s: {self.seen[-20:]}\n" +
                             open(self.err.name).read()[-3000:])

    def held(self, feed, seq, seconds=60):
        return self.next("has", seconds, lambda e: e["feed"] == feed and e["seq"] >= seq)

    def command(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()

    def stop(self):
        self.command("quit")
        eq(self.p.wait(timeout=30), 0)


def replicate_both_ways(shoal_dials):
    d = Daemon("shoal-dials" if shoal_dials else "shoal-dialled")
    rc, out, err = shoal("publish", "--type", "post", "--text", "first", "--home", d.home)
    eq(rc, 0, err)
    m = Modern("modern-" + ("dialled" if shoal_dials else "dials"), "--follow", d.id,
               "--publish", str(POSTS), "--want", d.id,
               *([] if shoal_dials else ["--dial", d.net]))
    try:
        rc, out, err = shoal("follow", m.id, "--home", d.home)  # shoal's feed: 2 messages now
        eq(rc, 0, err)
        d.publish(POSTS - 2, "shoal")
        if shoal_dials:
            rc, out, err = shoal("connect", m.address, "--home", d.home)
            eq(rc, 0, err)
        # the modern node's feed: its contact message and its posts
        wait_for("shoal holds the modern node's feed", lambda: d.held(m.id) == POSTS + 1)
        m.held(d.id, POSTS)
        status = ask(d.home, "status")
        assert status["replication"]["ebt"] >= 1, status["replication"]
        eq(status["replication"]["legacy"], 0)
        # live, on the open connection: each way within a second
        m.command("publish 1")
        start = time.time()
        wait_for("the modern node's new post at shoal", lambda: d.held(m.id) == POSTS + 2,
                 seconds=10, every=0.02)
        took_in = time.time() - start
        start = time.time()
        d.publish(1, "live")
        m.held(d.id, POSTS + 1, seconds=10)
        took_out = time.time() - start
        # in: stored by shoal within a second; out: the modern node's own storing adds to it
        # (ssb-db2 gathers adds for 250 ms, the tool polls its clock every 100 ms)
        assert took_in < 1 and took_out < 2, (took_in, took_out)
        print(f"# live: {took_in * 1000:.0f} ms in, {took_out * 1000:.0f} ms out")
    finally:
        m.stop()
        d.stop()


class SsbServer:
    """ssb-server 16 with a home of its own, on 127.0.0.1 only."""

    def __init__(self, name):
        self.env = dict(os.environ, HOME=os.path.join(ROOT, name))
        os.makedirs(os.path.join(self.env["HOME"], ".ssb"))
        self.port = free_port()
        config = {"connections": {
            "incoming": {"net": [{"host": "127.0.0.1", "port": self.port,
                                  "scope": ["device", "local"], "transform": "shs"}]},
            "outgoing": {"net": [{"transform": "shs"}]}},
            "gossip": {"local": False, "pub": False, "seed": False}, "local": False}
        json.dump(config, open(os.path.join(self.env["HOME"], ".ssb", "config"), "w"))
        self.p = subprocess.Popen(["node", SSB_BIN, "start"], env=self.env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for("ssb-server listening", self.listening, seconds=90)
        self.id = self.call("whoami")["id"]
        self.address = f"net:127.0.0.1:{self.port}~shs:{self.id[1:-8]}"

    def listening(self):
        assert self.p.poll() is None, "ssb-server stopped"
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def call(self, *args):
        p = subprocess.run(["node", SSB_BIN, *args], env=self.env, capture_output=True,
                           timeout=60)
        assert p.returncode == 0, p.stderr.decode()
        return json.loads(p.stdout.decode() or "null")

    def held(self, feed):
        return ((self.call("getLatest", feed) or {}).get("value") or {}).get("sequence", 0)

    def stop(self):
        self.p.kill()
        self.p.wait()


@case
def ssb_server_16_and_shoal_replicate_over_ebt_either_side_dialling():
    server = SsbServer("ssb-server")
    daemons = []
    try:
        for dials in ("shoal", "server"):
            d = Daemon("with-server-" + dials)
            daemons.append(d)
            rc, out, err = shoal("follow", server.id, "--home", d.home)
            eq(rc, 0, err)
            d.publish(5, dials)  # shoal's feed: 6 messages
            server.call("publish", "--type", "contact", "--contact", d.id, "--following")
            for i in range(3):
                server.call("publish", "--type", "post", "--text", f"server {dials} {i}")
            ours = server.held(server.id)
            if dials == "shoal":
                rc, out, err = shoal("connect", server.address, "--home", d.home)
                eq(rc, 0, err)
            else:
                server.call("gossip.connect", d.net)
            wait_for(f"shoal holds the server's feed ({dials} dials)",
                     lambda: d.held(server.id) == ours)
            wait_for(f"the server holds shoal's feed ({dials} dials)",
                     lambda: server.held(d.id) == 6)
            got = ask(d.home, "status")["replication"]
            assert got["ebt"] >= 1 and got["legacy"] == 0, got
    finally:
        for d in daemons:
            d.stop()
        server.stop()


@case
def shoal_dials_a_modern_node_and_both_replicate_over_ebt():
    replicate_both_ways(shoal_dials=True)


@case
def a_modern_node_dials_shoal_and_both_replicate_over_ebt():
    replicate_both_ways(shoal_dials=False)


if __name__ == "__main__":
    try:
        main("test_ebt_interop")
    finally:
        shutil.rmtree(ROOT, ignore_errors=True)

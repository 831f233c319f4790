#!/usr/bin/env python3
"""`shoal run`'s resource manager: the limits of config.json's "limits" hold against strangers
(hostile-peer: fresh key pairs, the main network key), and what they refuse is counted, in
`shoal status --json` ("limits", "queued", "refused"), in `shoal status`'s last line, and on the
status page's /metrics:

- streams: with "streamsPerFeed": 1, a stranger's 5 live streams of one feed get 1; 4 are
  refused with muxrpc's error and counted;
- silent: with "silent": "1s", a stranger that completes the handshake and says nothing is asked,
  then let go within a few seconds, and counted;
- handshakes: with "handshakes": 2, 6 strangers that never say a word make accepting wait, and
  each one's handshake counts as failed once it is gone;
- queued: with "queued" and "queuedTotal" at 1 MiB, strangers that ask for 40,000 streams each
  and never read the errors (6 MB each: more than the system's socket buffers take) are let go,
  and counted; what the daemon holds for peers is back to nothing afterwards."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from clitest import case, commands, eq, isolate_network, main, wait_for  # noqa: E402

SHOAL, HOSTILE = (os.path.abspath(a) for a in sys.argv[1:3])
ROOT = tempfile.mkdtemp(prefix="shoal-limits-")
ENV = dict(os.environ, HOME=ROOT, SHOAL_LOG="warn")

shoal, ask = commands(SHOAL, ENV, timeout=60)


class Daemon:
    def __init__(self, name, limits):
        self.home = os.path.join(ROOT, name)
        os.makedirs(self.home)
        with open(os.path.join(self.home, "config.json"), "w") as f:
            json.dump({"listen": "127.0.0.1:0", "statusPort": 0, "limits": limits,
                       "peers": {"maxPeers": 16}}, f)
        self.proc = subprocess.Popen([SHOAL, "run", "--home", self.home], env=ENV,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert b"running as @" in self.proc.stdout.readline(), self.proc.stderr.read()
        s = self.status()
        self.id, self.page = s["id"], s["page"]
        self.host, self.port = s["net"].split("~")[0].split(":")[1:3]

    def status(self):
        return ask(self.home, "status")

    def refused(self, what):
        return self.status()["refused"][what]

    def hostile(self, *args):
        p = subprocess.Popen([HOSTILE, self.host, self.port, self.id] + [str(a) for a in args],
                             stdout=subprocess.PIPE, text=True)
        return p, json.loads(p.stdout.readline())

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=30)
        eq(self.proc.returncode, 0, err.decode())


def done(p):
    p.send_signal(signal.SIGTERM)
    out, _ = p.communicate(timeout=30)
    return json.loads(out.splitlines()[-1])


@case
def streams_past_the_bound_are_refused_and_counted():
    d = Daemon("streams", {"streamsPerFeed": 1})
    eq(d.status()["limits"], {"handshakes": 64, "queued": 16 << 20, "queuedTotal": 48 << 20,
                              "silent": 60000, "streams": 1024, "streamsPerFeed": 1,
                              "negotiations": 64})
    p, ready = d.hostile("live", 1, 5, d.id)
    eq(ready["handshakes"], 1)
    wait_for("4 streams refused", lambda: d.refused("streams") == 4, seconds=30)
    rc, out, err = shoal("status", "--home", d.home)
    eq(rc, 0, err)
    assert "refused   " in out and "4 streams" in out, out
    with urllib.request.urlopen(d.page + "metrics") as r:
        metrics = r.read().decode()
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers
    assert 'shoal_refused_total{what="streams"} 4\n' in metrics, metrics
    assert "# TYPE shoal_queued_bytes gauge\n" in metrics, metrics
    done(p)
    d.stop()


@case
def a_silent_stranger_is_let_go():
    d = Daemon("silent", {"silent": "1s"})
    eq(d.status()["limits"]["silent"], 1000)
    p, ready = d.hostile("idle", 1)
    eq(ready["handshakes"], 1)
    wait_for("the silent one let go", lambda: d.refused("silent") == 1, seconds=30)
    eq(done(p)["closed"], 1)
    d.stop()


@case
def a_crowd_that_never_speaks_waits_its_turn():
    d = Daemon("mute", {"handshakes": 2})
    p, _ = d.hostile("mute", 6)
    wait_for("accepting paused", lambda: d.refused("acceptPaused") >= 1, seconds=30)
    done(p)
    wait_for("6 handshakes failed", lambda: d.refused("handshakesFailed") == 6, seconds=60)
    d.stop()


@case
def output_nobody_reads_is_bounded():
    d = Daemon("queued", {"queued": "1MiB", "queuedTotal": "1MiB", "streamsPerFeed": 1})
    p, ready = d.hostile("live", 2, 40000, d.id)
    eq(ready["handshakes"], 2)
    wait_for("let go past the bound",
             lambda: d.refused("queued") + d.refused("queuedTotal") >= 1, seconds=60)
    # within the bound, but for the write buffer of one connection (1 MiB at most), which is
    # counted as it is filled and checked when the link next holds output
    assert d.status()["queued"] <= 2 << 20, d.status()["queued"]
    done(p)
    wait_for("nothing held", lambda: d.status()["queued"] == 0, seconds=30)
    d.stop()


if __name__ == "__main__":
    isolate_network()
    main("test_daemon_limits")

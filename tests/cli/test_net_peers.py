#!/usr/bin/env python3
"""net: (TCP) peers are the state manager's peers, as WebRTC ones are, with `shoal run` daemons
on 127.0.0.1 and no hub at all:

- A, with maxPeers 2, dials source S over net: (`shoal connect`) and syncs three feeds from it:
  while the messages come, A's record of S says net, connected, downloading (what keeps a
  rotation from cutting it, whatever the transport);
- B dials A over net: and is let in (the second slot); C dials A and is turned away, and A never
  holds more than two; A dialling C itself is refused by `shoal connect` with the reason;
- S, B and A all hold their connections as the state manager's peers (transport net)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from clitest import case, commands, eq, isolate_network, main, wait_for  # noqa: E402

SHOAL, FEED_WRITER = (os.path.abspath(a) for a in sys.argv[1:3])
ROOT = tempfile.mkdtemp(prefix="shoal-net-peers-")
ENV = dict(os.environ, HOME=ROOT, SHOAL_LOG="info")
N = 4000  # messages in each of S's three feeds
STATE = {}


shoal, ask = commands(SHOAL, ENV, timeout=60)


def start(name, config, feeds=None):
    home = os.path.join(ROOT, name)
    os.makedirs(home)
    with open(os.path.join(home, "config.json"), "w") as f:
        json.dump(dict({"statusPort": 0, "listen": "127.0.0.1:0"}, **config), f)
    if feeds:
        shutil.copy(feeds, os.path.join(home, "feeds.db"))
    d = subprocess.Popen([SHOAL, "run", "--home", home], env=ENV, stdout=subprocess.PIPE,
                         stderr=open(os.path.join(ROOT, name + ".log"), "ab"))
    assert b"running as @" in d.stdout.readline(), open(os.path.join(ROOT, name + ".log")).read()
    STATE[name] = d
    return home, ask(home, "status")


def peers(home):
    return {p["id"]: p for p in ask(home, "status")["peers"]}


@case
def net_peers_are_counted_protected_and_turned_away_as_any():
    s_home, s = start("s", {}, feeds=STATE["feeds.db"])
    a_home, a = start("a", {"follow": STATE["ids"], "peers": {"maxPeers": 2}})
    connect = subprocess.Popen([SHOAL, "connect", s["net"], "--home", a_home], env=ENV,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # while the sync goes on, A's record of S: net, connected, downloading
    seen = wait_for("A downloading from S over net:", lambda: (lambda p: p if p and p.get(
        "downloading") else None)(peers(a_home).get(s["id"])), every=0.05)
    eq((seen["transport"], seen["state"], seen["inbound"]), ("net", "connected", False))
    eq(connect.wait(timeout=60), 0, connect.stderr.read().decode())
    wait_for("A holds S's three feeds", lambda: all(
        f["sequence"] == N for f in ask(a_home, "status")["feeds"] if f["id"] in STATE["ids"]))

    b_home, b = start("b", {})
    rc, out, err = shoal("connect", a["net"], "--home", b_home)
    eq(rc, 0, err)
    wait_for("A holds B as its second peer",
             lambda: (peers(a_home).get(b["id"]) or {}).get("state") == "connected")
    got = peers(a_home)[b["id"]]
    eq((got["transport"], got["inbound"]), ("net", True))

    c_home, c = start("c", {})
    shoal("connect", a["net"], "--home", c_home)  # its handshake may finish before A says no
    wait_for("A turns C away", lambda: "every slot is taken" in open(
        os.path.join(ROOT, "a.log")).read())
    time.sleep(1)
    held = [p for p in peers(a_home).values() if p["state"] in ("connected", "connecting")]
    eq(sorted(p["id"] for p in held), sorted([s["id"], b["id"]]))
    assert c["id"] not in peers(a_home), peers(a_home)
    # and A dialling C itself: refused, with the reason
    rc, out, err = shoal("connect", c["net"], "--home", a_home)
    eq(rc, 1, out + err)
    assert "every slot for peers is taken" in err, err
    # S and B hold A as the state manager's peer too
    for home in (s_home, b_home):
        got = peers(home)[a["id"]]
        eq((got["transport"], got["state"]), ("net", "connected"))


if __name__ == "__main__":
    isolate_network()
    db = os.path.join(ROOT, "source.db")
    p = subprocess.run([FEED_WRITER, db, str(N)], capture_output=True, timeout=600)
    eq(p.returncode, 0, p.stderr.decode())
    p = subprocess.run([FEED_WRITER, "--check", db], capture_output=True, timeout=300)
    eq(p.returncode, 0, p.stderr.decode())
    STATE["feeds.db"], STATE["ids"] = db, json.loads(p.stdout)["ids"]
    try:
        main("test_net_peers")
    finally:
        for value in STATE.values():
            if isinstance(value, subprocess.Popen) and value.poll() is None:
                value.send_signal(signal.SIGTERM)
                value.wait(timeout=30)

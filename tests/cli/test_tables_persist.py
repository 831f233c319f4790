#!/usr/bin/env python3
"""The state manager's tables outlive a restart of `shoal run` (conn.db in its home):

- a hub added with `shoal hubs add` is joined again after the restart, listed as "saved";
- a peer that could not be reached, and so was backed off, is still backed off after the
  restart: its failures in a row and the end of its backoff came back, and hearing its
  announces again does not make the daemon dial it before that end (the peer may still dial
  us: whom it dials is its own business).

Two daemons, D and E, meet at a `shoal hub` in a network namespace of the test's own (a veth
pair, as the daemons gather WebRTC candidates on real interfaces), where an nftables rule drops
every UDP datagram between the pair's addresses: the hub (TCP, on loopback) relays their
signals, but ICE finds no working path, so each dial fails, and a dial that failed backs off
for minutes (backoffBase 5m)."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from clitest import ShoalHub, case, commands, eq, isolate_network, main, wait_for  # noqa: E402

SHOAL = os.path.abspath(sys.argv[1])
ROOT = tempfile.mkdtemp(prefix="shoal-tables-")
ENV = dict(os.environ, HOME=ROOT, SHOAL_LOG="info")
SLOW = {"backoffBase": "5m", "backoffCap": "10m"}
STATE = {}


_, ask = commands(SHOAL, ENV)


def start(name, config=None):
    """A daemon in ROOT/name; config.json is written on its first start only."""
    home = os.path.join(ROOT, name)
    if config is not None:
        os.makedirs(home)
        with open(os.path.join(home, "config.json"), "w") as f:
            json.dump(dict({"statusPort": 0, "listen": ""}, **config), f)
    d = subprocess.Popen([SHOAL, "run", "--home", home], env=ENV, stdout=subprocess.PIPE,
                         stderr=open(os.path.join(ROOT, name + ".log"), "ab"))
    assert b"running as @" in d.stdout.readline(), open(os.path.join(ROOT, name + ".log")).read()
    STATE[name] = d
    return home


def stop(name):
    d = STATE.pop(name)
    d.send_signal(signal.SIGTERM)
    d.communicate(timeout=30)
    eq(d.returncode, 0, open(os.path.join(ROOT, name + ".log")).read()[-2000:])


def peer(home, feed_id):
    return next((p for p in ask(home, "status")["peers"] if p["id"] == feed_id), None)


def hub(home, url):
    return next((h for h in ask(home, "status")["hubs"] if h["address"] == url), None)


@case
def a_hub_added_and_a_peer_backed_off_outlive_a_restart():
    first, second = STATE["hubs"]
    d = start("d", {"hubs": [first.url], "peers": SLOW})
    e = start("e", {"hubs": [first.url], "peers": SLOW})
    e_id = ask(e, "status")["id"]
    p = subprocess.run([SHOAL, "hubs", "add", second.url, "--home", d], env=ENV,
                       capture_output=True, timeout=30)
    eq(p.returncode, 0, p.stderr.decode())
    wait_for("D joins the hub added", lambda: (hub(d, second.url) or {}).get("state") == "connected")
    before = wait_for("D fails to reach E and backs off",
                      lambda: (lambda x: x if x and x.get("backoffIn", 0) > 60000 else None)(
                          peer(d, e_id)), seconds=90)
    assert before["failures"] >= 1, before
    stopped_at = time.time()
    stop("d")

    start("d")
    # the hub added by command is joined again, without being named anywhere but conn.db
    wait_for("D joins the saved hub again",
             lambda: (hub(d, second.url) or {}).get("state") == "connected")
    eq(hub(d, second.url)["source"], "saved")
    after = peer(d, e_id)
    assert after is not None, ask(d, "status")["peers"]
    eq(after["failures"], before["failures"])
    elapsed_ms = (time.time() - stopped_at) * 1000
    # the same end of its backoff, to within the clocks' reading and the test's own delays
    assert before["backoffIn"] - elapsed_ms - 2000 <= after.get("backoffIn", 0) \
        <= before["backoffIn"], (before, after, elapsed_ms)
    # E announces every few seconds, and D hears it, but does not dial it (E, whose dial this
    # was not, may dial D: that is E's to decide)
    log = os.path.join(ROOT, "d.log")
    dials = open(log).read().count("dialling")
    deadline = time.time() + 8
    while time.time() < deadline:
        state = peer(d, e_id)
        assert state and (state["state"] == "disconnected" or state["inbound"]), state
        time.sleep(0.5)
    eq(open(log).read().count("dialling"), dials)
    stop("d")
    stop("e")


if __name__ == "__main__":
    isolate_network(veth=True)
    # the hub's TCP on loopback passes; UDP between the pair's addresses, ICE's every path, not
    subprocess.run(["nft", "add table inet shoal_test; add chain inet shoal_test out "
                    "{ type filter hook output priority 0; }; add rule inet shoal_test out "
                    "meta l4proto udp ip daddr 10.99.0.0/24 drop"], check=True)
    with ShoalHub(SHOAL) as first, ShoalHub(SHOAL) as second:
        STATE["hubs"] = (first, second)
        try:
            main("test_tables_persist")
        finally:
            for value in STATE.values():
                if isinstance(value, subprocess.Popen) and value.poll() is None:
                    value.kill()

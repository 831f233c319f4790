#!/usr/bin/env python3
"""Compatibility mode: a stock webrtc-swarm peer (npm, with simple-peer on @roamhq/wrtc; installed
at test time) and a shoal peer (tests/tools/node-peer --compat) meet at `shoal hub` and exchange
messages over a data channel, with either side dialling. Outside compatibility mode the plain
peer's unsigned announce is refused. Runs in a network namespace with only loopback."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from clitest import ShoalHub, case, eq, isolate_network, main  # noqa: E402

SHOAL, NODE_PEER, MODULES = (os.path.abspath(a) for a in sys.argv[1:4])
HERE = os.path.dirname(os.path.abspath(__file__))


def start_shoal(url, *flags):
    home = tempfile.mkdtemp(prefix="shoal-compat-")
    # unbuffered: readline takes no more than its line, and communicate() (which reads the pipes
    # directly) gets all that follows it
    p = subprocess.Popen([NODE_PEER, "--secret", os.path.join(home, "secret"), *flags, url],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
    wait_for(p, lambda e: e.get("line") == "hub 0: joined")
    return p


def wait_for(p, pred, seconds=30):
    deadline, seen = time.time() + seconds, []
    while time.time() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        e = json.loads(line)
        seen.append(e)
        if pred(e):
            return seen
    raise AssertionError(f"not seen: {seen[-8:]}")


def stop_shoal(p):
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=30)
    eq(p.returncode, 0, err.decode())
    assert b"ERROR" not in err, err.decode()
    return [json.loads(l) for l in out.decode().splitlines()]


def start_swarm(url):
    return subprocess.Popen(["node", os.path.join(HERE, "webrtc_swarm_meets_shoal.js"), MODULES,
                             url], stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def swarm_result(p):
    out, err = p.communicate(timeout=60)
    eq(p.returncode, 0, err.decode())
    return json.loads(out.decode().strip().splitlines()[-1])


@case
def shoal_dials_a_plain_swarm_peer_it_hears():
    with ShoalHub(SHOAL) as hub:
        shoal = start_shoal(hub.url, "--compat")
        swarm = start_swarm(hub.url)  # its announce on joining reaches shoal, which dials
        eq(swarm_result(swarm)["received"], ["echo: hello from swarm", "hello from shoal"])
        events = stop_shoal(shoal)
    lines = [e.get("line", "") for e in events]
    assert any(l.startswith("dialling") for l in lines), lines
    assert {"event": "plain-message", "data": "hello from swarm"} in events, events


@case
def a_plain_swarm_peer_dials_shoal():
    with ShoalHub(SHOAL) as hub:
        swarm = start_swarm(hub.url)
        hub.wait_for_subscribers(2)  # the swarm listens: shoal's announce on joining draws it
        shoal = start_shoal(hub.url, "--compat")
        eq(swarm_result(swarm)["received"], ["echo: hello from swarm", "hello from shoal"])
        events = stop_shoal(shoal)
    lines = [e.get("line", "") for e in events]
    assert any(l.endswith("dials us") for l in lines), lines


@case
def outside_compatibility_mode_plain_peers_are_refused():
    with ShoalHub(SHOAL) as hub:
        shoal = start_shoal(hub.url)
        swarm = start_swarm(hub.url)
        wait_for(shoal, lambda e: "unsigned" in e.get("line", ""))
        swarm.kill()
        swarm.communicate()
        events = stop_shoal(shoal)
    stats = [e for e in events if e.get("event") == "stats"][0]
    eq(stats["connections"], 0)
    assert stats["messages_refused"] >= 1, stats


if __name__ == "__main__":
    isolate_network()
    main("test_webrtc_swarm_compat")

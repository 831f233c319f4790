#!/usr/bin/env python3
"""A shoal peer (tests/tools/node-peer) at a `shoal hub` takes whatever anyone POSTs to the hub:
malformed, forged, stale and unsigned announces, replayed ones; signals that are not sealed, or
sealed with garbage, or sealed by one key while claiming another's channel, or sealed to another
peer, or stale, or replayed; and, from a stranger holding a key of its own (tests/tools/
seal-signal), well sealed signals for negotiations it does not have and an offer with garbage
SDP. Each is refused and counted, nothing crashes (ASan), and the peer still stops cleanly and
reports its counters."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from clitest import case, eq, main  # noqa: E402

SHOAL, NODE_PEER, SEAL_SIGNAL = (os.path.abspath(a) for a in sys.argv[1:4])
APP = "shoal-swarm-2"
STRANGER = "11" * 32  # the seed of a key that never announced
STATE = {}


def post(channel, body):
    req = urllib.request.Request(f"{STATE['hub']}/v1/{APP}/{channel}", data=body.encode(),
                                 method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return int(r.headers.get("X-Shoal-Recipients", "-1"))


def events_until(pred, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        line = STATE["peer"].stdout.readline()
        if not line:
            break
        e = json.loads(line)
        STATE["events"].append(e)
        if pred(e):
            return e
    raise AssertionError(f"not seen; events: {STATE['events'][-10:]}")


@case
def hostile_hub_messages_are_refused_and_counted():
    # the peer has joined: its announce reached the hub's `all`
    events_until(lambda e: e.get("line") == "hub 0: joined")
    channel = STATE["channel"]
    good_key = "@" + "A" * 43 + "=.ed25519"
    hostile_all = [
        "not json",
        "[1,2,3]",
        '{"type":"connect"}',
        '{"type":"connect","from":"x","feed":"@nope","ts":1,"sig":"x"}',
        json.dumps({"type": "connect", "from": channel, "feed": good_key,
                    "ts": int(time.time() * 1000), "sig": "A" * 86 + "=="}),
        '{"type":"connect","from":"cjld2cjxh0000qzrmn831i7rn"}',  # unsigned: no compat mode
    ]
    for body in hostile_all:
        eq(post("all", body) >= 1, True, body)
    now = int(time.time() * 1000)

    def sealed(to, inner, ts=now):
        out = subprocess.run([SEAL_SIGNAL, STRANGER, to, str(ts), json.dumps(inner)],
                             capture_output=True, check=True).stdout.decode().splitlines()
        return out[0], out[1]  # the message, the stranger's channel

    _, stranger = sealed(channel, {})
    other = subprocess.run([SEAL_SIGNAL, "22" * 32, channel, "0", "{}"], capture_output=True,
                           check=True).stdout.decode().splitlines()[1]  # a third key's channel
    answer = {"from": stranger, "session": "00000000deadbeef",
              "signal": {"type": "answer", "sdp": "v=0"}}
    garbage_offer = {"from": stranger, "session": "1111111111111111",
                     "signal": {"type": "offer", "sdp": "garbage, not SDP"}}
    good, _ = sealed(channel, answer)
    hostile_signals = [
        json.dumps(answer),  # not sealed
        json.dumps({"from": other, "sealed": "AAAA"}),  # garbage
        good.replace(stranger, other),  # sealed by the stranger, claiming another's channel
        sealed(other, answer)[0].replace(f'"{other}"', f'"{channel}"'),  # sealed to another
        sealed(channel, answer, ts=now - 10 * 60 * 1000)[0],  # stale
        sealed(channel, dict(answer, **{"from": other}))[0],  # someone else's signal inside
        good,  # for a negotiation it does not have: dropped
        # the same again (its bytes reordered: the hub client drops a copy of the very same
        # bytes for a minute, uncounted): a replay
        json.dumps(dict(reversed(list(json.loads(good).items())))),
        sealed(channel, {"from": stranger, "session": "00000000deadbeef",
                         "signal": {"type": "candidate",
                                    "candidate": {"candidate": "candidate:x"}}})[0],
        sealed(channel, garbage_offer)[0],
    ]
    for body in hostile_signals:
        eq(post(channel, body), 1, body)
    refused = events_until(lambda e: "could not be read" in e.get("line", ""))
    assert "offer" in refused["line"], refused


@case
def the_peer_still_stops_cleanly_and_counts_what_it_refused():
    STATE["peer"].send_signal(signal.SIGTERM)
    stats = events_until(lambda e: e.get("event") == "stats")
    _, err = STATE["peer"].communicate(timeout=30)
    eq(STATE["peer"].returncode, 0, err.decode())
    assert b"ERROR" not in err, err.decode()
    eq(stats["messages_refused"], 6 + 7)
    eq(stats["signals_dropped"], 2)
    eq(stats["signals_refused"], 1)
    eq(stats["connections"], 0)


if __name__ == "__main__":
    hub = subprocess.Popen([SHOAL, "hub", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    STATE["hub"] = hub.stdout.readline().decode().split(" ")[-1].strip()
    home = tempfile.mkdtemp(prefix="shoal-node-")
    secret = os.path.join(home, "secret")
    STATE["peer"] = subprocess.Popen([NODE_PEER, "--secret", secret, STATE["hub"]],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    STATE["events"] = []
    try:
        # the peer creates its secret file; its channel is the URL-safe base64 of the key in it
        text = ""
        for _ in range(100):
            if os.path.exists(secret) and os.path.getsize(secret) > 0:
                text = open(secret).read()
                break
            time.sleep(0.05)
        pub = json.loads("\n".join(l for l in text.splitlines()
                                   if not l.startswith("#")))["public"].split(".")[0]
        STATE["channel"] = pub.replace("+", "-").replace("/", "_").rstrip("=")
        main("test_node_bad_signals")
    finally:
        if STATE["peer"].poll() is None:
            STATE["peer"].kill()
        hub.send_signal(signal.SIGTERM)
        hub.communicate(timeout=20)

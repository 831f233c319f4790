#!/usr/bin/env python3
"""Two shoal daemons meet at a `shoal hub` over WebRTC while a third party jams them.

The jammer reads everything the hub relays (as the hub, or anyone on its path, can) and, from
the moment it hears each peer's announce until the test ends, sends every 100 ms to each peer's
channel:
  - an unsealed "busy" claiming to be from the other peer (refused: "unsealed");
  - a "busy" sealed by a key of its own, claiming the other peer's channel (refused: "forged");
  - an offer well sealed from a fresh stranger key, with SDP that is not SDP (a stranger may
    offer: it takes a pending slot for a moment and fails, within inboundPending);
and it replays every signal the peers exchange, to the channel it was meant for, written
otherwise (refused: "replayed"; a copy byte for byte is dropped by the hub client at once). The two peers still connect, each counts what it refused (status "refused"), and
no message the hub relayed carries an IP address or an ICE candidate: sealed, it says nothing."""
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from clitest import ShoalHub, case, commands, eq, isolate_network, main, wait_for  # noqa: E402

SHOAL, SEAL_SIGNAL = (os.path.abspath(a) for a in sys.argv[1:3])
APP = "shoal-swarm-2"
ROOT = tempfile.mkdtemp(prefix="shoal-jam-")
ENV = dict(os.environ, HOME=ROOT, SHOAL_LOG="warn")
IPV4 = re.compile(rb"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b")
IPV6 = re.compile(rb"::|\b[0-9a-f]{1,4}:[0-9a-f]{1,4}:", re.I)

shoal, ask = commands(SHOAL, ENV, timeout=60)


class Jammer:
    def __init__(self, hub_url):
        self.hub = hub_url
        self.channels = []  # the peers', in the order heard
        self.seen = []      # every message the hub relayed to us
        self.ours = set()   # every message we posted
        self.honest = 0     # sealed signals of the peers' own that we replayed
        self.sent = {"unsealed": 0, "forged": 0, "stranger": 0, "replayed": 0}
        self.running = True
        self.lock = threading.Lock()
        threading.Thread(target=self.listen, args=("all",), daemon=True).start()
        threading.Thread(target=self.jam, daemon=True).start()

    def post(self, channel, body):
        with self.lock:
            self.ours.add(body)
        req = urllib.request.Request(f"{self.hub}/v1/{APP}/{channel}", data=body, method="POST")
        try:
            urllib.request.urlopen(req, timeout=5).close()
        except OSError:
            pass

    def listen(self, channels):
        with urllib.request.urlopen(f"{self.hub}/v1/{APP}/{channels}", timeout=120) as r:
            for line in r:
                if not self.running:
                    return
                if not line.startswith(b"data: "):
                    continue
                data = line[6:].strip()
                with self.lock:
                    self.seen.append(data)
                try:
                    m = json.loads(data)
                except ValueError:
                    continue
                if channels == "all" and m.get("type") == "connect":
                    self.heard(m["from"])
                elif channels != "all" and "sealed" in m and data not in self.ours:
                    # the same signal again, to its recipient, written otherwise (the hub
                    # client drops a message it has just had byte for byte: the replay guard
                    # must tell this one by its nonce); once, for what we send comes back to us
                    again = json.dumps(m, sort_keys=True, indent=1).encode()
                    self.post(channels, again)
                    self.sent["replayed"] += 1
                    self.honest += m.get("from") in self.channels

    def heard(self, channel):
        with self.lock:
            if channel in self.channels:
                return
            self.channels.append(channel)
        # what is sent to this peer, to see (and replay) the signals meant for it
        threading.Thread(target=self.listen, args=(channel,), daemon=True).start()

    def sealed(self, seed, to, inner):
        out = subprocess.run([SEAL_SIGNAL, seed, to, str(int(time.time() * 1000)),
                              json.dumps(inner)], capture_output=True, check=True).stdout
        message, sender = out.decode().splitlines()
        return json.loads(message), sender

    def jam(self):
        while self.running:
            with self.lock:
                peers = list(self.channels)
            for to in peers:
                other = next((c for c in peers if c != to), to)
                session = secrets.token_hex(8)
                busy = {"from": other, "session": session, "signal": {"type": "busy"}}
                self.post(to, json.dumps(busy).encode())
                self.sent["unsealed"] += 1
                forged, _ = self.sealed(secrets.token_hex(32), to, busy)
                forged["from"] = other  # sealed by our key, claiming theirs
                self.post(to, json.dumps(forged).encode())
                self.sent["forged"] += 1
                seed = secrets.token_hex(32)
                _, stranger = self.sealed(seed, to, {})
                offer, _ = self.sealed(seed, to, {"from": stranger, "session": session,
                                                  "signal": {"type": "offer", "sdp": "v=0 junk"}})
                self.post(to, json.dumps(offer).encode())
                self.sent["stranger"] += 1
            time.sleep(0.1)


def start(name, hub):
    home = os.path.join(ROOT, name)
    os.makedirs(home)
    with open(os.path.join(home, "config.json"), "w") as f:
        json.dump({"listen": "", "statusPort": 0, "hubs": [hub]}, f)
    d = subprocess.Popen([SHOAL, "run", "--home", home], env=ENV, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    assert b"running as @" in d.stdout.readline(), d.stderr.read()
    return home, d


def connected(home, other_id):
    return any(p["id"] == other_id and p["state"] == "connected"
               for p in ask(home, "status")["peers"])


@case
def two_peers_meet_while_a_third_jams():
    with ShoalHub(SHOAL) as hub:
        jammer = Jammer(hub.url)
        a, da = start("a", hub.url)
        time.sleep(1)  # the jammer hears a first, and jams it before b even comes
        b, db = start("b", hub.url)
        a_id, b_id = ask(a, "status")["id"], ask(b, "status")["id"]
        wait_for("a and b connected", lambda: connected(a, b_id) and connected(b, a_id),
                 seconds=90)

        def counted(home):
            r = ask(home, "status")["refused"]
            return all(r[what] > 0 for what in ("unsealed", "forged", "signalsRefused"))
        # more jamming, on a live connection, until each has refused each kind
        wait_for("every kind refused", lambda: counted(a) and counted(b), seconds=60)
        wait_for("a peer's signal replayed", lambda: jammer.honest > 0, seconds=30)
        jammer.running = False
        print("# the jammer sent %s; the hub relayed %d messages" % (jammer.sent,
                                                                     len(jammer.seen)))
        for name, home in (("a", a), ("b", b)):
            refused = ask(home, "status")["refused"]
            print("# %s refused %s" % (name, refused))
            for what in ("unsealed", "forged", "signalsRefused"):
                assert refused[what] > 0, (name, what, refused)
        replayed = sum(ask(h, "status")["refused"]["replayed"] for h in (a, b))
        assert replayed > 0, "no replay refused"
        assert connected(a, b_id) and connected(b, a_id), "the jamming cut them apart"
        with jammer.lock:
            seen = list(jammer.seen)
            ours = set(jammer.ours)
        sealed = [m for m in seen if b'"sealed"' in m and m not in ours]
        assert sealed, "no sealed signal of the peers' own seen"
        for m in seen:
            assert not IPV4.search(m) and not IPV6.search(m), m
            assert b"candidate" not in m and b"a=fingerprint" not in m, m
        for d in (da, db):
            d.send_signal(signal.SIGTERM)
            _, err = d.communicate(timeout=30)
            eq(d.returncode, 0, err.decode())


if __name__ == "__main__":
    isolate_network(veth=True)
    main("test_node_jam")

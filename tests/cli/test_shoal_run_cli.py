#!/usr/bin/env python3
"""`shoal run` and the commands that talk to it, as a user runs them: two daemons, each in a home
of its own (and a HOME without ~/.ssb, so each makes its own identity), meet at a `shoal hub`;
what A publishes with `shoal publish`, B (which follows A) holds and `shoal feed` shows; `shoal
status` tells each daemon's identity, net: address, hubs and peers; `shoal peers --follow` tells
B's arrival at A as it happens; A follows B while connected (`shoal follow`, a contact
message) and gets B's feed at once, then unfollows; a new address in the namespace (a network
change both daemons see) has them restart ICE with each other, their restarts crossing, and
keep the connection; a wake-up makes both tear it down and dial again; `shoal hubs` lists and adds, hubs announced
in A's feed reach B, which can block one; `shoal connect` has a third daemon,
with no hub, dial A over net: and replicate from it; over either, what A publishes reaches the
connected follower within a second.
Mistakes get their documented exit status: a configuration with a misspelt knob (2, with the
key's path), a message content the rules refuse (1), a daemon that is not running (3). SIGTERM
stops a daemon cleanly (0) and removes its socket; B told its sync's progress in plain lines. In a network namespace of its own with a veth
pair: the daemons gather WebRTC candidates on every interface, as they would for a user (libnice
leaves loopback out)."""
import json
import os
import pty
import queue
import re
import resource
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from clitest import ShoalHub, case, commands, eq, isolate_network, main, wait_for  # noqa: E402

SHOAL = os.path.abspath(sys.argv[1])
LOGIND_SLEEP = os.path.abspath(sys.argv[2])
ROOT = tempfile.mkdtemp(prefix="shoal-run-")
ENV = dict(os.environ, HOME=ROOT, SHOAL_LOG="warn")
STATE = {}


shoal, ask = commands(SHOAL, ENV, timeout=30)


def low_soft_limit():
    """The daemons start with the common soft limit of 1,024 descriptors (this machine's may be
    higher), so that raising it is seen."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))


def start(name, config, tty=False):
    """A daemon; with tty, its standard error is a terminal (a pty), which terminal_until
    reads."""
    config = dict({"statusPort": 0}, **config)  # each its own free port
    home = os.path.join(ROOT, name)
    os.makedirs(home, exist_ok=True)
    with open(os.path.join(home, "config.json"), "w") as f:
        json.dump(config, f)
    if tty:
        master, terminal = pty.openpty()
        STATE[name + ".tty"] = master
    d = subprocess.Popen([SHOAL, "run", "--home", home], env=ENV, stdout=subprocess.PIPE,
                         stderr=terminal if tty else subprocess.PIPE, preexec_fn=low_soft_limit)
    if tty:
        os.close(terminal)
    line = d.stdout.readline().decode()
    assert "running as @" in line, line
    STATE[name] = (d, home)
    return home


def terminal_until(name, pattern, seconds=30):
    """Reads what a daemon started with tty writes to its terminal until `pattern` (bytes, a
    regular expression) is in it; returns all it read."""
    out, deadline = b"", time.time() + seconds
    while not re.search(pattern, out):
        left = deadline - time.time()
        assert left > 0, f"{pattern!r} not on {name}'s terminal within {seconds} s: {out!r}"
        if select.select([STATE[name + ".tty"]], [], [], left)[0]:
            out += os.read(STATE[name + ".tty"], 4096)
    return out


def follow_changes(home):
    """`shoal peers --follow --json` on a daemon: the process, and a function returning its next
    change (the first line is the answer to "watch")."""
    watcher = subprocess.Popen([SHOAL, "peers", "--follow", "--json", "--home", home], env=ENV,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l) for l in watcher.stdout], daemon=True).start()

    def next_change(timeout=None):
        """The next change; with a timeout, None when there is none within it."""
        try:
            return json.loads(lines.get(timeout=timeout or 30))
        except queue.Empty:
            if timeout:
                return None
            raise AssertionError("shoal peers --follow said nothing for 30 s") from None

    eq(next_change()["ok"], True)  # the table first, then the changes
    return watcher, next_change


@case
def a_daemon_tells_its_identity_address_and_hubs():
    a = start("a", {"listen": "127.0.0.1:0", "hubs": [STATE["hub"].url]})
    s = ask(a, "status")
    assert s["id"].startswith("@") and s["id"].endswith(".ed25519"), s
    eq(s["sequence"], 0)
    assert s["net"].startswith("net:127.0.0.1:") and s["net"].endswith(s["id"][1:-8]), s
    eq([h["address"] for h in s["hubs"]], [STATE["hub"].url])
    wait_for("A joins its hub", lambda: ask(a, "status")["hubs"][0]["state"] == "connected")
    # its addresses: net:, and the rtc: of the hub it joined, each with its key
    hub_port = STATE["hub"].url.rsplit(":", 1)[1]
    eq(ask(a, "status")["addresses"],
       [s["net"], f"rtc:127.0.0.1:{hub_port}:http~shs:{s['id'][1:-8]}"])
    # the human form names the same things
    rc, out, err = shoal("status", "--home", a)
    eq(rc, 0, err)
    assert s["id"] in out and "connected" in out and s["net"] in out, out
    assert os.path.exists(os.path.join(a, "secret")), "A made its own identity"
    # its descriptors go up to what the system allows: connections, not the soft limit, bound it
    limits = open(f"/proc/{STATE['a'][0].pid}/limits").read()
    soft, hard = next(l for l in limits.splitlines() if l.startswith("Max open files")).split()[3:5]
    eq(soft, hard)


@case
def what_a_publishes_the_follower_holds():
    a = STATE["a"][1]
    a_id = ask(a, "status")["id"]
    # `shoal peers --follow` on A, from before B exists: it tells B's arrival as it happens
    watcher, next_line = follow_changes(a)
    b = start("b", {"listen": "127.0.0.1:0", "hubs": [STATE["hub"].url], "follow": [a_id]})
    for text in ["one", "two", "three é"]:
        rc, out, err = shoal("publish", "--home", a, "--type", "post", "--text", text)
        eq(rc, 0, err)
        assert out.startswith("%") and ".sha256 (sequence" in out, out
    eq(ask(a, "status")["sequence"], 3)
    got = wait_for("B holds A's three messages",
                   lambda: len(ask(b, "feed", a_id)["messages"]) == 3 and ask(b, "feed", a_id))
    eq([m["content"]["text"] for m in got["messages"]], ["one", "two", "three é"])
    eq([m["author"] for m in got["messages"]], [a_id] * 3)
    rc, out, err = shoal("feed", a_id, "--home", b, "--seq", "2")
    eq(rc, 0, err)
    eq([line.split(None, 1)[0] for line in out.splitlines()], ["2", "3"])
    peers = ask(b, "status")["peers"]
    assert any(p["id"] == a_id and p["state"] == "connected" for p in peers), peers
    # the path it takes: host to host on the namespace's link, the bytes it carried, its RTT
    path = next(p for p in peers if p["id"] == a_id)["path"]
    eq((path["kind"], path["local"], path["remote"], path["relay"]), ("host", "host", "host", None))
    assert path["localAddress"].startswith("10.99.0.") and \
        path["remoteAddress"].startswith("10.99.0."), path
    assert path["bytesIn"] > 0 and path["bytesOut"] > 0 and 0 <= path["rttMs"] < 1000, path
    rc, out, err = shoal("peers", "--home", b)
    eq(rc, 0, err)
    assert f", host {path['remoteAddress']}, " in out, out
    # over the data channel, shoal to shoal: EBT, started by whoever dialled
    for home in (a, b):
        replication = ask(home, "status")["replication"]
        assert replication["ebt"] >= 1 and replication["legacy"] == 0, replication
    b_id = ask(b, "status")["id"]
    states = []
    while "connected" not in states:
        e = next_line()
        if e["event"] == "peer" and e["id"] == b_id:
            states.append(e["state"])
    watcher.kill()
    watcher.communicate()
    assert "connected" in states, states
    live_within_a_second(a, b, "over WebRTC")


def live_within_a_second(source, follower, how):
    """What `source` publishes while `follower` is connected to it reaches the follower at once,
    with no other traffic on the connection to carry it."""
    source_id = ask(source, "status")["id"]
    held = len(ask(follower, "feed", source_id)["messages"])
    rc, out, err = shoal("publish", "--home", source, "--type", "post", "--text", "live " + how)
    eq(rc, 0, err)
    published = time.time()
    wait_for(f"the live message {how}",
             lambda: len(ask(follower, "feed", source_id)["messages"]) == held + 1, seconds=30)
    took = time.time() - published
    print(f"# a live message {how}: held {took:.2f} s after the publish returned")
    assert took < 1.0, took


@case
def following_while_connected_asks_the_peer_at_once():
    a, b = STATE["a"][1], STATE["b"][1]
    b_id = ask(b, "status")["id"]
    rc, out, err = shoal("publish", "--home", b, "--type", "post", "--text", "before")
    eq(rc, 0, err)
    eq(ask(a, "status")["follows"], [])
    rc, out, err = shoal("follow", b_id, "--home", a)
    eq(rc, 0, err)
    a_id = ask(a, "status")["id"]
    eq(ask(a, "feed")["messages"][-1]["content"],
       {"type": "contact", "contact": b_id, "following": True})
    eq(ask(a, "status")["follows"], [b_id])
    rc, out, err = shoal("publish", "--home", b, "--type", "post", "--text", "after")
    eq(rc, 0, err)
    wait_for("A holds B's feed", lambda: [
        m["content"].get("text") for m in ask(a, "feed", b_id)["messages"]] == ["before", "after"])
    rc, out, err = shoal("status", "--home", a)
    assert "follows   " + b_id in out, out
    rc, out, err = shoal("unfollow", b_id, "--home", a)
    eq(rc, 0, err)
    eq(ask(a, "status")["follows"], [])
    rc, out, err = shoal("follow", a_id, "--home", a)
    eq(rc, 1, out + err)
    rc, out, err = shoal("follow", "--home", a)
    eq(rc, 2, out + err)


@case
def a_network_change_keeps_the_connection_by_an_ice_restart():
    a, b = STATE["a"][1], STATE["b"][1]
    b_id = ask(b, "status")["id"]
    made = {h: ask(h, "status")["connections"]["made"] for h in (a, b)}
    watcher, next_change = follow_changes(a)
    try:
        # an address comes: GNetworkMonitor tells both daemons (one namespace), which join the
        # hub anew and restart ICE with each other at once: the restarts cross, and the side
        # that leads keeps its own
        subprocess.run(["ip", "addr", "add", "10.99.7.1/24", "dev", "shoal0"], check=True)
        wait_for("both ends kept by an ICE restart", lambda: all(
            ask(h, "status")["connections"]["keptByRestart"] >= 1 for h in (a, b)), seconds=30)
        # B's record on A was never torn down, and no handshake was made again
        states = []
        while (e := next_change(timeout=1)) is not None:
            if e["event"] == "peer" and e["id"] == b_id:
                states.append(e["state"])
        assert states and set(states) == {"connected"}, states
        for h in (a, b):
            eq(ask(h, "status")["connections"]["made"], made[h], h)
    finally:
        watcher.kill()
        watcher.communicate()


@case
def a_wake_up_told_by_logind_renews_every_connection():
    a, b = STATE["a"][1], STATE["b"][1]
    b_id = ask(b, "status")["id"]
    watcher, next_change = follow_changes(a)
    try:
        # first the network change's aftermath dies down: no change for two seconds
        while next_change(timeout=2) is not None:
            pass
        # logind, on the daemons' system bus, tells of a suspend and then of the wake-up
        p = subprocess.run([LOGIND_SLEEP], env=ENV, capture_output=True, timeout=30)
        eq(p.returncode, 0, p.stderr.decode())
        states = []
        while "disconnected" not in states or states[-1] != "connected":
            e = next_change()
            if e["event"] == "peer" and e["id"] == b_id:
                states.append(e["state"])
    finally:
        watcher.kill()
        watcher.communicate()


@case
def hubs_are_listed_added_and_removed():
    a = STATE["a"][1]
    rc, out, err = shoal("hubs", "add", "http://127.0.0.1:9", "--home", a)
    eq(rc, 0, err)
    hubs = [(h["address"], h["source"]) for h in ask(a, "hubs", "ls")["hubs"]]
    eq(hubs, [(STATE["hub"].url, "config"), ("http://127.0.0.1:9", "command")])
    rc, out, err = shoal("hubs", "add", "ftp://x", "--home", a)
    eq(rc, 1, out + err)
    rc, out, err = shoal("hubs", "rm", "http://127.0.0.1:9/", "--home", a)  # any form of it
    eq(rc, 0, err)
    eq([h["address"] for h in ask(a, "hubs", "ls")["hubs"]], [STATE["hub"].url])
    rc, out, err = shoal("hubs", "rm", "http://127.0.0.1:9", "--home", a)
    eq(rc, 1, out + err)
    assert "not one of the daemon's hubs" in err, err


@case
def hubs_travel_in_feeds_and_can_be_blocked():
    a, b = STATE["a"][1], STATE["b"][1]
    a_id = ask(a, "status")["id"]
    rc, out, err = shoal("hubs", "announce", "http://127.0.0.1:10", "--home", a)
    eq(rc, 0, err)
    msg = ask(a, "feed", a_id)["messages"][-1]
    eq(msg["content"], {"type": "rtc-hub", "address": "http://127.0.0.1:10"})
    # A holds it as named by its own feed; B, which replicates A, finds it there and joins it
    assert ("http://127.0.0.1:10", a_id) in [(h["address"], h["source"])
                                             for h in ask(a, "status")["hubs"]]
    wait_for("B finds the hub in A's feed", lambda: ("http://127.0.0.1:10", a_id) in [
        (h["address"], h["source"]) for h in ask(b, "status")["hubs"]])
    rc, out, err = shoal("hubs", "block", "http://127.0.0.1:10", "--home", b)
    eq(rc, 0, err)
    s = ask(b, "status")
    assert "http://127.0.0.1:10" not in [h["address"] for h in s["hubs"]], s["hubs"]
    eq(s["blocked"], ["http://127.0.0.1:10"])
    eq(json.load(open(os.path.join(b, "blocked-hubs.json"))), ["http://127.0.0.1:10"])
    rc, out, err = shoal("hubs", "add", "http://127.0.0.1:10", "--home", b)
    eq(rc, 1, out + err)
    assert "blocked" in err, err


@case
def mistakes_get_their_exit_status():
    a = STATE["a"][1]
    rc, out, err = shoal("publish", "--home", a, "--content", '{"type": 5}')
    eq(rc, 1, out + err)
    assert "Message content type must be a string" in err, err
    rc, out, err = shoal("publish", "--home", a)
    eq(rc, 2, err)
    rc, out, err = shoal("status", "--home", os.path.join(ROOT, "nobody"))
    eq(rc, 3, out + err)
    assert "no daemon at" in err, err
    bad = os.path.join(ROOT, "bad")
    os.makedirs(bad)
    with open(os.path.join(bad, "config.json"), "w") as f:
        f.write('{"peers": {"maxpeers": 4}}')
    rc, out, err = shoal("run", "--home", bad)
    eq(rc, 2, out + err)
    assert 'peers: "maxpeers" is not a knob of the state manager' in err, err


@case
def connect_dials_a_peer_over_net():
    a = STATE["a"][1]
    s = ask(a, "status")
    # no hub: only what it is told to dial; its standard error a terminal, for the progress bar
    c = start("c", {"listen": "", "follow": [s["id"]]}, tty=True)
    eq(ask(c, "status")["net"], None)
    rc, out, err = shoal("connect", s["net"], "--home", c)
    eq(rc, 0, err)
    got = wait_for("C holds A's messages over net:",
                   lambda: len(ask(c, "feed", s["id"])["messages"]) == s["sequence"])
    assert got
    # its sync, on its terminal: a bar (A said how far it holds its feed), then the closing line
    out = terminal_until("c", rb"\r\x1b\[Kshoal: synced \d+ messages from 1 feed in ")
    assert re.search(rb"\r\x1b\[Ksyncing \[#{30}\] (\d+)/\1 messages from 1 feed, ", out), out
    live_within_a_second(a, c, "over net:")
    other_key = "gYCJpN4eGDjHFnWW2Fcusj8O4QYbVDUW6rNYh7nNEnc="  # valid, but not A's
    rc, out, err = shoal("connect", s["net"].split("~shs:")[0] + "~shs:" + other_key, "--home",
                         c, timeout=60)
    eq(rc, 1, err)
    rc, out, err = shoal("connect", "net:nowhere", "--home", c)
    eq(rc, 1, err)


@case
def version_and_help():
    rc, out, err = shoal("--version")
    eq(rc, 0, err)
    assert out.startswith("shoal ") and "signalling protocol shoal-swarm-2" in out, out
    for cmd in ["run", "status", "whoami", "publish", "feed", "follow", "unfollow", "hubs",
                "peers", "connect"]:
        rc, out, err = shoal(cmd, "--help")
        eq(rc, 0, err)
        assert out.startswith(f"usage: shoal {cmd}"), out


@case
def sigterm_stops_a_daemon_cleanly():
    for name in ["c", "b", "a"]:
        d, home = STATE.pop(name)
        d.send_signal(signal.SIGTERM)
        _, err = d.communicate(timeout=30)
        eq(d.returncode, 0, (err or b"").decode())
        assert not os.path.exists(os.path.join(home, "control.sock")), home
        if name == "b":  # it told its sync as plain lines (its stderr is not a terminal)
            assert re.search(rb"shoal: syncing: \d+ (of \d+ )?messages from 1 feed so far",
                             err), err
            assert re.search(rb"shoal: synced \d+ messages from 1 feed in ", err), err



if __name__ == "__main__":
    isolate_network(veth=True)  # WebRTC gathers on real interfaces, not loopback
    # a system bus of the test's own (dbus-daemon), on which logind-sleep plays logind
    bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    ENV["DBUS_SYSTEM_BUS_ADDRESS"] = bus.stdout.readline().decode().strip()
    with ShoalHub(SHOAL) as hub:
        STATE["hub"] = hub
        try:
            main("test_shoal_run_cli")
        finally:
            for name, value in STATE.items():
                if isinstance(value, tuple) and value[0].poll() is None:
                    value[0].kill()
            bus.kill()
            bus.wait()

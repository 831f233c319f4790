#!/usr/bin/env python3
"""An initial sync that is killed and resumed. Peer A (tests/tools/node-peer) holds three feeds
of 4,000 messages (written by tests/tools/feed-writer); fresh peer B follows them; both know only
a `shoal hub`. B is killed with SIGKILL halfway through its download, mid-append as likely as
not, and started again on the same store: it continues from its heads (its first batch of
each feed follows the head it was killed at), nothing is refused (a message sent twice would
not follow), and it ends with every feed whole, a valid chain from 1 to 4,000. A, which
still holds the dead connection when B returns, takes the new one beside it. Runs in a network
namespace of its own, loopback only."""
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from clitest import ShoalHub, case, eq, isolate_network, main  # noqa: E402

SHOAL, NODE_PEER, FEED_WRITER = (os.path.abspath(a) for a in sys.argv[1:4])
N = 4000
HOME = tempfile.mkdtemp(prefix="shoal-resume-")
A_LOG = os.path.join(HOME, "a-events")
STATE = {}


def check(db):
    p = subprocess.run([FEED_WRITER, "--check", db], capture_output=True, timeout=120)
    eq(p.returncode, 0, p.stdout.decode() + p.stderr.decode())
    return json.loads(p.stdout)


def start_b():
    args = [NODE_PEER, "--secret", os.path.join(HOME, "b-secret"), "--db",
            os.path.join(HOME, "b.db")]
    for feed in STATE["ids"]:
        args += ["--follow", feed]
    # its diagnostics go to a file: a pipe nobody reads could fill and stall it
    err = open(os.path.join(HOME, "b-stderr"), "ab")
    return subprocess.Popen(args + [STATE["hub"].url], stdout=subprocess.PIPE, stderr=err)


def read_until(peer, pred, seconds, seen):
    """Reads B's events into `seen` until pred holds for one; returns it. Gives up after
    `seconds` even while B is silent."""
    deadline, pending = time.time() + seconds, b""
    fd = peer.stdout.fileno()
    while True:
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            e = json.loads(line)
            seen.append(e)
            assert "refused" not in e.get("line", ""), e
            if pred(e):
                return e
        left = deadline - time.time()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        pending += chunk
    raise AssertionError(f"not seen in {seconds} s; last events: {seen[-5:]}")


@case
def b_killed_halfway_resumes_from_its_heads_and_ends_whole():
    b = start_b()
    seen = []
    heads = {}

    def halfway(e):
        if e["event"] == "progress":
            heads[e["feed"]] = e["head"]
        return sum(heads.values()) >= 3 * N // 2

    read_until(b, halfway, 120, seen)
    b.send_signal(signal.SIGKILL)
    b.communicate()
    # B comes back at once, as a supervisor would restart it; its store is judged from a copy
    # taken now (checking every signature first would delay the restart by seconds)
    db = os.path.join(HOME, "b.db")
    snapshot = os.path.join(HOME, "b-at-kill.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            shutil.copyfile(db + suffix, snapshot + suffix)
    b = start_b()
    try:
        at_kill = dict(zip(STATE["ids"], check(snapshot)["feeds"]))
        assert 0 < sum(at_kill.values()) < 3 * N, at_kill
        seen, firsts, done = [], {}, dict(at_kill)

        def whole(e):
            if e["event"] == "progress":
                firsts.setdefault(e["feed"], e["head"])
                done[e["feed"]] = e["head"]
            return all(h == N for h in done.values())

        read_until(b, whole, 180, seen)
        for feed in STATE["ids"]:
            if at_kill[feed] < N:  # it asked from its head on: its first batch follows the head
                first = firsts.get(feed)
                assert first and at_kill[feed] < first <= at_kill[feed] + 512, (first, at_kill)
    finally:
        b.send_signal(signal.SIGTERM)
        b.communicate(timeout=30)
    eq(b.returncode, 0, open(os.path.join(HOME, "b-stderr")).read())
    result = check(os.path.join(HOME, "b.db"))
    eq(result["feeds"], [N, N, N])
    # Either A still held the dead connection when B came back, and then it negotiated the new
    # one beside it and let it replace the old at once; or ICE consent freshness had already let
    # the dead one go (about 10 s without an answer: a slow restart on a busy machine), and the
    # new one is a connection like any other. A's log tells which, in order.
    events = [json.loads(l) for l in open(A_LOG)]
    story = [e.get("line") or e["event"] for e in events if e["event"] != "progress"]
    first_up = story.index("connected")
    went_first = "disconnected" in story[first_up:story.index("connected", first_up + 1)]
    replaced = any("is back: its new connection replaces the old" in l for l in story)
    assert replaced != went_first, story


if __name__ == "__main__":
    isolate_network()
    a_db = os.path.join(HOME, "a.db")
    p = subprocess.run([FEED_WRITER, a_db, str(N)], capture_output=True, timeout=300)
    eq(p.returncode, 0, p.stderr.decode())
    STATE["ids"] = check(a_db)["ids"]
    with ShoalHub(SHOAL) as hub:
        STATE["hub"] = hub
        a = subprocess.Popen([NODE_PEER, "--secret", os.path.join(HOME, "a-secret"), "--db", a_db,
                              hub.url], stdout=open(A_LOG, "wb"), stderr=subprocess.STDOUT)
        try:
            main("test_node_sync_resume")
        finally:
            a.send_signal(signal.SIGTERM)
            a.communicate(timeout=30)

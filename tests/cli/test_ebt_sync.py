#!/usr/bin/env python3
"""EBT between two shoal daemons over net:: a sync killed (kill -9) in the middle resumes from
where the store stands, with no gap and nothing sent twice but what was in flight; and two
peers holding the same 5,000 feeds in sync, meeting again, send no message and name no feed in
their notes but their own (each peer's clock of the other was kept in its store)."""
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
ROOT = tempfile.mkdtemp(prefix="shoal-ebt-sync-")
ENV = dict(os.environ, HOME=ROOT, SHOAL_LOG="info")
N = 4000  # messages in each of three feeds
MANY = 5000  # feeds held in sync

shoal, ask = commands(SHOAL, ENV, timeout=60)


def feeds_db(name, n, feeds=3):
    db = os.path.join(ROOT, name + ".db")
    p = subprocess.run([FEED_WRITER, "--feeds", str(feeds), db, str(n)], capture_output=True,
                       timeout=600)
    eq(p.returncode, 0, p.stderr.decode())
    return db, check(db, feeds)


def check(db, feeds=3):
    """The store's feeds, each a valid prefix of itself (feed-writer --check)."""
    p = subprocess.run([FEED_WRITER, "--feeds", str(feeds), "--check", db], capture_output=True,
                       timeout=300)
    eq(p.returncode, 0, p.stderr.decode())
    return json.loads(p.stdout)


def home(name, config, feeds=None):
    h = os.path.join(ROOT, name)
    os.makedirs(h)
    with open(os.path.join(h, "config.json"), "w") as f:
        json.dump(dict({"statusPort": 0, "listen": "127.0.0.1:0"}, **config), f)
    if feeds:
        shutil.copy(feeds, os.path.join(h, "feeds.db"))
    return h


def run(h):
    d = subprocess.Popen([SHOAL, "run", "--home", h], env=ENV, stdout=subprocess.PIPE,
                         stderr=open(h + ".log", "ab"))
    assert b"running as @" in d.stdout.readline(), open(h + ".log").read()
    return d


def stop(d):
    d.send_signal(signal.SIGTERM)
    eq(d.wait(timeout=30), 0)


def held(h, ids):
    return sum(f["sequence"] for f in ask(h, "status")["feeds"] if f["id"] in ids)


@case
def a_sync_killed_midway_resumes_with_no_gap():
    db, source = feeds_db("source", N)
    ids = source["ids"]
    s_home, a_home = home("s", {}, feeds=db), home("a", {"follow": ids})
    s, a = run(s_home), run(a_home)
    net = ask(s_home, "status")["net"]
    try:
        rc, out, err = shoal("connect", net, "--home", a_home)
        eq(rc, 0, err)
        wait_for("A holds half of S's feeds", lambda: held(a_home, ids) >= 3 * N // 2,
                 every=0.05)
        a.send_signal(signal.SIGKILL)
        a.wait(timeout=30)
        at_kill = check(os.path.join(a_home, "feeds.db"))  # a valid prefix of each feed
        assert 0 < sum(at_kill["feeds"]) < 3 * N, at_kill
        # what S had sent by then: what A stored and what was on its way (lost with A)
        sent_before = ask(s_home, "status")["replication"]["messagesSent"]
        a = run(a_home)
        rc, out, err = shoal("connect", net, "--home", a_home)
        eq(rc, 0, err)
        wait_for("A holds S's three feeds", lambda: held(a_home, ids) == 3 * N)
        eq(check(os.path.join(a_home, "feeds.db"))["feeds"], [N] * 3)
        eq(ask(a_home, "status")["replication"]["legacy"], 0)
        # the second session began at A's heads: S sent what A lacked, nothing twice
        sent = ask(s_home, "status")["replication"]["messagesSent"] - sent_before
        eq(sent, 3 * N - sum(at_kill["feeds"]), at_kill)
        print(f"# held at the kill: {sum(at_kill['feeds'])} of {3 * N}; sent since: {sent}")
    finally:
        for d in (s, a):
            if d.poll() is None:
                stop(d)


@case
def peers_in_sync_meet_again_with_no_message_and_their_own_feeds_noted():
    db, many = feeds_db("many", 1, MANY)
    eq(many["feeds"], [1] * MANY)
    ids = many["ids"]
    p_home, q_home = home("p", {"follow": ids}, feeds=db), home("q", {"follow": ids}, feeds=db)
    p, q = run(p_home), run(q_home)
    try:
        q_net = ask(q_home, "status")["net"]
        zero = {"notesSent": 0, "notesReceived": 0, "messagesSent": 0}
        before = [zero, zero]
        for meeting in range(2):
            rc, out, err = shoal("connect", q_net, "--home", p_home)
            eq(rc, 0, err)
            least = MANY if meeting == 0 else 1  # notes each side sends, at least
            wait_for("the session's notes both ways", lambda: all(
                ask(h, "status")["replication"]["notesSent"] - before[i]["notesSent"] >= least
                for i, h in enumerate((p_home, q_home))))
            time.sleep(1)  # anything more would come now
            stats = [ask(h, "status")["replication"] for h in (p_home, q_home)]
            for was, st in zip(before, stats):
                sent = st["notesSent"] - was["notesSent"]
                # never met: every feed named once each way; met again: its own feed alone;
                # and -1, once, for the other's own feed, which it does not follow
                assert least <= sent <= least + 2, (meeting, was, st)
                eq(st["messagesSent"], was["messagesSent"])  # in sync: nothing to send
            print(f"# meeting {meeting}: notes sent {[st['notesSent'] for st in stats]}")
            if meeting == 0:
                stop(q)  # the session ends: each side keeps the other's clock
                q = run(q_home)
                q_net = ask(q_home, "status")["net"]
                before = [stats[0], zero]  # Q's counts start again
        eq(check(os.path.join(p_home, "feeds.db"), MANY)["feeds"], [1] * MANY)
    finally:
        for d in (p, q):
            if d.poll() is None:
                stop(d)


if __name__ == "__main__":
    isolate_network()
    try:
        main("test_ebt_sync")
    finally:
        shutil.rmtree(ROOT, ignore_errors=True)

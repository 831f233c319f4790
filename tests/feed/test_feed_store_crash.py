#!/usr/bin/env python3
"""The feed store under kill -9: a process appending three feeds in batches (tests/tools/
feed-writer) is killed at moments spread over its run, again and again; after each kill every
feed is a valid prefix of itself (sequence 1 to its head, each message valid after the last,
heads in step), and the writer resumes from the heads to the end with no gap and no
duplicate. Then again with long messages, whose log passes the 16 MB at which a thread of the
store's own copies it back beside the writer: killed while that goes on, and the log kept near
its bound."""
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from clitest import case, eq, main  # noqa: E402

WRITER = os.path.abspath(sys.argv[1])
TOTAL = 3000
STATE = {"db": os.path.join(tempfile.mkdtemp(prefix="shoal-feeds-"), "feeds.db")}
BIG = os.path.join(tempfile.mkdtemp(prefix="shoal-feeds-"), "big.db")
PAD, BIG_TOTAL = 6000, 2500  # 7,500 messages of about 6 KB: some 75 MB of log in all


def check(db=None):
    p = subprocess.run([WRITER, "--check", db or STATE["db"]], capture_output=True, timeout=120)
    eq(p.returncode, 0, p.stdout.decode() + p.stderr.decode())
    return json.loads(p.stdout)["feeds"]


@case
def a_writer_killed_at_any_moment_leaves_every_feed_a_valid_prefix():
    rnd = random.Random(7)
    before = [0, 0, 0]
    for round_ in range(6):
        w = subprocess.Popen([WRITER, STATE["db"], str(TOTAL)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        # let it write a little, then kill it wherever it is (mid-transaction, often)
        for _ in range(rnd.randint(1, 12)):
            if not w.stdout.readline():
                break
        time.sleep(rnd.random() * 0.05)
        w.send_signal(signal.SIGKILL)
        w.communicate()
        heads = check()
        assert all(h >= b for h, b in zip(heads, before)), (heads, before)
        before = heads
    assert sum(before) > 0, before


@case
def the_writer_resumes_to_the_end_without_gaps_or_duplicates():
    p = subprocess.run([WRITER, STATE["db"], str(TOTAL)], capture_output=True, timeout=300)
    eq(p.returncode, 0, p.stderr.decode())
    eq(check(), [TOTAL, TOTAL, TOTAL])


def wal_size():
    try:
        return os.path.getsize(BIG + "-wal")
    except FileNotFoundError:
        return 0


@case
def killed_while_its_log_is_copied_back_it_loses_nothing_and_the_log_stays_near_its_bound():
    rnd = random.Random(11)
    before, largest = [0, 0, 0], 0
    for round_ in range(3):
        w = subprocess.Popen([WRITER, "--pad", str(PAD), BIG, str(BIG_TOTAL)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # 40 batches of 50 (a line each) take the log past its bound, then a few more a round
        stop = 1 + rnd.randint(0, 12) if round_ else 40
        for _ in range(stop):
            largest = max(largest, wal_size())
            if not w.stdout.readline():
                break
        w.send_signal(signal.SIGKILL)
        w.communicate()
        heads = check(BIG)
        assert all(h >= b for h, b in zip(heads, before)), (heads, before)
        before = heads
    assert 50 * 40 <= sum(before) < 3 * BIG_TOTAL, before
    # each check closed the store, which copies the log back: this run is the long one
    w = subprocess.Popen([WRITER, "--pad", str(PAD), BIG, str(BIG_TOTAL)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for _ in iter(w.stdout.readline, b""):
        largest = max(largest, wal_size())
    eq(w.wait(timeout=300), 0, w.stderr.read().decode())
    eq(check(BIG), [BIG_TOTAL] * 3)
    # the writer alone would let it grow to 64 MB before copying it back itself
    assert 16 << 20 <= largest < 24 << 20, largest


if __name__ == "__main__":
    main("test_feed_store_crash")

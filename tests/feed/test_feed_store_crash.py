#!/usr/bin/env python3
"""The feed store under kill -9: a process appending three feeds in batches (tests/tools/
feed-writer) is killed at moments spread over its run, again and again; after each kill every
feed is a valid prefix of itself (sequence 1 to its head, each message valid after the last,
heads in step), and the writer resumes from the heads to the end with no gap and no
duplicate. Then again with long messages, whose log passes the 16 MB at which a thread of the
store's own copies it back beside the writer: killed once that goes on, and the log starting
over while the writer writes on."""
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
PAD, BIG_TOTAL = 6000, 2300  # 6,900 messages of about 6 KB: some 70 MB of log in all


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


def wal_header():
    """The log's size and its first salt, which changes each time the log starts over."""
    try:
        with open(BIG + "-wal", "rb") as f:
            head = f.read(20)
            return os.fstat(f.fileno()).st_size, head[16:20] if len(head) == 20 else None
    except FileNotFoundError:
        return 0, None


def write_big(kill_after=None):
    """Runs the writer of long messages: with `kill_after`, kills it that many batches after its
    log passed 16 MB (the thread copies it back from there); else to its end. Returns the largest
    log seen and how many times the log started over."""
    w = subprocess.Popen([WRITER, "--pad", str(PAD), BIG, str(BIG_TOTAL)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines, largest, salts, passed = 0, 0, [], None
    while True:
        size, salt = wal_header()
        largest = max(largest, size)
        if salt and salt not in salts:
            salts.append(salt)
        if passed is None and size >= 16 << 20:
            passed = lines
        if kill_after is not None and passed is not None and lines >= passed + kill_after:
            break
        if not w.stdout.readline():
            break
        lines += 1
    if kill_after is not None:
        w.send_signal(signal.SIGKILL)
    _, err = w.communicate(timeout=300)
    if kill_after is None:
        eq(w.returncode, 0, err.decode())
    else:
        assert passed is not None, ("the log never passed 16 MB", largest, err.decode())
    return largest, max(len(salts) - 1, 0)


@case
def killed_once_its_log_is_copied_back_beside_it_it_loses_nothing_and_the_log_starts_over():
    rnd = random.Random(11)
    before = [0, 0, 0]
    for _ in range(2):
        write_big(kill_after=rnd.randint(0, 6))
        heads = check(BIG)
        assert all(h >= b for h, b in zip(heads, before)), (heads, before)
        assert sum(heads) < 3 * BIG_TOTAL, heads
        before = heads
    # each check closed the store, which copies the log back: this run starts from none
    largest, restarts = write_big()
    eq(check(BIG), [BIG_TOTAL] * 3)
    # the writer alone would copy nothing before 64 MB, and this run writes less than that
    assert restarts >= 1 and largest < 64 << 20, (restarts, largest)


if __name__ == "__main__":
    main("test_feed_store_crash")

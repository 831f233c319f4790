#!/usr/bin/env python3
"""The feed store under kill -9: a process appending three feeds in batches (tests/tools/
feed-writer) is killed at moments spread over its run, again and again; after each kill every
feed is a valid prefix of itself (sequence 1 to its head, each message valid after the last,
heads in step), and the writer resumes from the heads to the end with no gap and no
duplicate."""
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


def check():
    p = subprocess.run([WRITER, "--check", STATE["db"]], capture_output=True, timeout=120)
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


if __name__ == "__main__":
    main("test_feed_store_crash")

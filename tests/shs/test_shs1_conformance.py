#!/usr/bin/env python3
"""Conformance of shoal's secret handshake with the public shs1-test suite (npm; GPL, installed
at test time by scripts/fetch-test-data, never vendored). The suite drives tests/tools/shs1-server
and tests/tools/shs1-client over stdin and stdout, well-behaved and misbehaving in every way it
knows, and each role must pass. Fixed seeds keep the runs reproducible; one random seed a run
widens them."""
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from clitest import CASES, eq, main  # noqa: E402

SERVER, CLIENT, MODULES = (os.path.abspath(a) for a in sys.argv[1:4])
SUITE = os.path.join(MODULES, "shs1-test")


def suite(script, adapter, seed):
    def run():
        p = subprocess.run(["node", os.path.join(SUITE, script), adapter, seed],
                           capture_output=True, timeout=120)
        out = p.stdout.decode()
        eq(p.returncode, 0, f"seed {seed}:\n{out}")
        assert "Passed the" in out, out
    run.__name__ = f"{script[:-3].replace('-', '_')}_passes_with_seed_{seed}"
    return run


seeds = ["shoal", "1", "2", str(random.randrange(1 << 30))]
for s in seeds:
    CASES.append(suite("test-server.js", SERVER, s))
    CASES.append(suite("test-client.js", CLIENT, s))

if __name__ == "__main__":
    main("test_shs1_conformance")

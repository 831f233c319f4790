#!/usr/bin/env python3
"""`shoal demo` starts a hub and peers on 127.0.0.1 that find each other through the state
manager and the hub, tells the story and ends with a summary, exit 0."""
import subprocess
import sys

from clitest import case, eq, main

SHOAL = sys.argv[1]


@case
def every_pair_finds_each_other():
    p = subprocess.run([SHOAL, "demo", "--peers", "4"], capture_output=True, timeout=60)
    eq(p.returncode, 0, p.stderr.decode())
    out = p.stdout.decode()
    assert "a signal hub listens on http://127.0.0.1:" in out, out
    for name in ("alice", "bob", "carol", "dave"):
        assert f"{name}: the stream from the hub is open" in out, out
    eq(out.count("found each other through the hub\n") >= 6, True, out)
    assert "did not meet" not in out, out
    assert "alice hears bob announce @" in out, out


@case
def bad_options_are_usage_errors():
    for args in (["--peers", "1"], ["--peers", "9"], ["--bogus"]):
        eq(subprocess.run([SHOAL, "demo", *args], capture_output=True).returncode, 2, args)


if __name__ == "__main__":
    main("test_shoal_demo_cli")

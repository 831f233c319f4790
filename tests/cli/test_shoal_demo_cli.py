#!/usr/bin/env python3
"""`shoal demo` starts a hub and peers on 127.0.0.1 that find each other through the state
manager and the hub, connect over WebRTC data channels with the secret handshake, ask each other
whoami, replicate each other's feeds, tell the story and end with a summary, exit 0."""
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
    names = ("alice", "bob", "carol", "dave")
    for name in names:
        assert f"{name:<5} hub 0: joined" in out, out
    summary = out.split("summary after", 1)[1]
    eq(summary.count("connected over WebRTC, identities proven"), 6, out)
    assert "did not connect" not in out, out
    # each of the twelve ordered pairs asked and was answered over its channel, and each peer
    # holds each other's feed
    for a in names:
        for b in names:
            if a != b:
                assert f"{a:<5} asked whoami over the channel: {b} answers" in out, out
                assert f"{a:<5} holds all 5 of {b}'s messages, each one verified" in out, out
    assert "every peer holds every other's 5 messages (60 replicated, verified)" in summary, out


@case
def bad_options_are_usage_errors():
    for args in (["--peers", "1"], ["--peers", "9"], ["--bogus"]):
        eq(subprocess.run([SHOAL, "demo", *args], capture_output=True).returncode, 2, args)


if __name__ == "__main__":
    main("test_shoal_demo_cli")

#!/usr/bin/env python3
"""Interop of shoal's data channels with stock simple-peer 9 on @roamhq/wrtc (libwebrtc; npm,
installed at test time, never vendored): either side offers, the channel opens, text and binary
messages cross and come back, and shoal's close reaches simple-peer as a clean close. Runs in a
fresh network namespace with only loopback (`unshare -n`), so nothing leaves 127.0.0.1."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from clitest import case, eq, isolate_network, main  # noqa: E402

RTC_ECHO, MODULES = (os.path.abspath(a) for a in sys.argv[1:3])
HERE = os.path.dirname(os.path.abspath(__file__))


def pair(who_offers):
    p = subprocess.run(["node", os.path.join(HERE, "simple_peer_pair.js"), MODULES, RTC_ECHO,
                        who_offers], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    assert b"ERROR" not in p.stderr, p.stderr.decode()  # sanitizer reports from rtc-echo
    return json.loads(p.stdout.decode().strip().splitlines()[-1])


@case
def simple_peer_offers_and_shoal_answers():
    r = pair("simple-peer-initiates")
    eq(r["errors"], [])
    eq(r["received"], ["hello shoal", "\u0000\u0001\u0002\u0003"])
    # the two closes are told by two processes: either may come first
    eq(r["events"][:3], ["open", "message", "message"])
    eq(sorted(r["events"][3:]), ["closed", "simple-peer-closed"])


@case
def shoal_offers_and_simple_peer_answers():
    r = pair("shoal-initiates")
    eq(r["errors"], [])
    eq(r["received"], ["hello"])
    eq(r["events"][:2], ["open", "message"])
    eq(sorted(r["events"][2:]), ["closed", "simple-peer-closed"])


if __name__ == "__main__":
    isolate_network()
    main("test_simple_peer_interop")

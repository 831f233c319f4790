#!/usr/bin/env python3
"""Interop with the stock WebRTC swarm: webrtc-swarm 2.9 + simple-peer 9 (installed at test time
by scripts/fetch-test-data, never vendored) signal through `shoal hub` unchanged, and every pair
of peers opens a data channel. The same run against signalhub's own server shows the script
asks nothing signalhub would not give.

The test re-runs itself in a fresh network namespace (`unshare -n`, loopback only) when it can,
so the WebRTC traffic cannot leave 127.0.0.1."""
import json
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from clitest import case, eq, isolate_network, main  # noqa: E402

SHOAL = os.path.abspath(sys.argv[1])
MODULES = os.path.abspath(sys.argv[2])
HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = 3


def swarm(url):
    """Runs the swarm once more only when node itself died of a signal: @roamhq/wrtc's native
    code now and then segfaults on a loaded machine (seen about once in 30 runs, with nothing on
    stderr), which says nothing about the hub. A swarm that runs and fails is a failure."""
    for _ in range(2):
        p = subprocess.run(
            ["node", os.path.join(HERE, "webrtc_swarm.js"), MODULES, url, str(PEERS)],
            capture_output=True, timeout=90)
        if p.returncode >= 0:
            break
    assert p.returncode == 0, f"node exited {p.returncode}: {p.stderr.decode()}"
    return json.loads(p.stdout.decode().strip().splitlines()[-1])


def expected():
    return [sorted(f"hello from {j}" for j in range(PEERS) if j != i) for i in range(PEERS)]


@case
def webrtc_swarm_peers_meet_through_shoal_hub():
    hub = subprocess.Popen([SHOAL, "hub", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    try:
        port = int(hub.stdout.readline().decode().rsplit(":", 1)[1])
        eq(swarm(f"http://127.0.0.1:{port}"), expected())
    finally:
        hub.send_signal(signal.SIGTERM)
        _, err = hub.communicate(timeout=20)
        eq(hub.returncode, 0, err.decode())


@case
def the_same_swarm_meets_through_signalhubs_own_server():
    server = subprocess.Popen(
        ["node", os.path.join(MODULES, "signalhub", "bin.js"), "listen", "-p", "0",
         "-h", "127.0.0.1", "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        port = int(server.stdout.readline().decode().strip().rsplit(" ", 1)[1])
        eq(swarm(f"http://127.0.0.1:{port}"), expected())
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    isolate_network()
    main("test_webrtc_swarm_interop")

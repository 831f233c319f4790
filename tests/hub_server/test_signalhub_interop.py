#!/usr/bin/env python3
"""Interop with software nobody here wrote: the npm signalhub 4.9 client subscribes and
broadcasts through `shoal hub`, and gets exactly what signalhub's own server would give it.
signalhub is installed at test time by scripts/fetch-test-data (npm), never vendored."""
import json
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from clitest import case, eq, main  # noqa: E402

SHOAL = sys.argv[1]
MODULES = os.path.abspath(sys.argv[2])
HERE = os.path.dirname(os.path.abspath(__file__))


def run_client(url):
    p = subprocess.run(["node", os.path.join(HERE, "signalhub_client.js"), MODULES, url],
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    return json.loads(p.stdout.decode().strip().splitlines()[-1])


def check(results):
    eq(results["errors"], [])
    connect = {"type": "connect", "from": "peer-0"}
    offer = {"from": "peer-0", "signal": {"type": "offer", "sdp": "v=0\r\n"}}
    eq(results["received"]["0"], [connect])
    eq(results["received"]["1"], [connect, offer])
    eq(results["received"]["2"], [])


@case
def the_signalhub_client_works_through_shoal_hub():
    hub = subprocess.Popen([SHOAL, "hub", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    try:
        port = int(hub.stdout.readline().decode().rsplit(":", 1)[1])
        check(run_client(f"http://127.0.0.1:{port}"))
    finally:
        hub.send_signal(signal.SIGTERM)
        _, err = hub.communicate(timeout=20)
        eq(hub.returncode, 0, err.decode())


@case
def the_same_client_gets_the_same_from_signalhubs_own_server():
    server = subprocess.Popen(
        ["node", os.path.join(MODULES, "signalhub", "bin.js"), "listen", "-p", "0",
         "-h", "127.0.0.1", "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = server.stdout.readline().decode()
        port = int(line.strip().rsplit(" ", 1)[1])
        check(run_client(f"http://127.0.0.1:{port}"))
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    main("test_signalhub_interop")

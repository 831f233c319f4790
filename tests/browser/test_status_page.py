#!/usr/bin/env python3
"""The daemon's status page: two `shoal run` daemons meet at a `shoal hub`; A's page (on
127.0.0.1, the port `shoal status` tells) serves JSON with A's state and an HTML page that
Debian's Chromium, headless, draws — A's id, its hub connected, B among its peers, B's feed
(which A follows) held as far as B holds it, the recent changes — and screenshots (the path is
printed). Anything but GET and HEAD, and unknown paths, are refused
(tests/cli/test_status_page_hostile.py tries harder). In a network namespace with a veth pair,
as the daemons gather on every interface."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from clitest import ShoalHub, case, eq, isolate_network, main  # noqa: E402

SHOAL, MODULES, OUT = (os.path.abspath(a) for a in sys.argv[1:4])
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = tempfile.mkdtemp(prefix="shoal-page-")
ENV = dict(os.environ, HOME=ROOT)
STATE = {}


def start(name, config):
    home = os.path.join(ROOT, name)
    os.makedirs(home)
    with open(os.path.join(home, "config.json"), "w") as f:
        json.dump(dict(config, statusPort=0, listen=""), f)
    d = subprocess.Popen([SHOAL, "run", "--home", home], env=ENV, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    assert b"running as @" in d.stdout.readline()
    STATE[name] = d
    p = subprocess.run([SHOAL, "status", "--json", "--home", home], env=ENV,
                       capture_output=True, timeout=30)
    return json.loads(p.stdout)


@case
def the_page_shows_the_daemon_in_chromium():
    b = start("b", {"hubs": [STATE["hub"].url]})
    for text in ["one", "two", "three"]:
        p = subprocess.run([SHOAL, "publish", "--type", "post", "--text", text, "--home",
                            os.path.join(ROOT, "b")], env=ENV, capture_output=True, timeout=30)
        eq(p.returncode, 0, p.stderr.decode())
    a = start("a", {"hubs": [STATE["hub"].url], "follow": [b["id"]]})
    assert a["page"].startswith("http://127.0.0.1:"), a
    deadline = time.time() + 30
    while True:  # the JSON the page draws from
        with urllib.request.urlopen(a["page"] + "status.json", timeout=10) as r:
            s = json.loads(r.read())
            eq(r.headers["Content-Type"], "application/json")
        if any(p["id"] == b["id"] and p["state"] == "connected" for p in s["peers"]) and \
                {"id": b["id"], "sequence": 3, "peerSequence": 3} in s["feeds"]:
            break
        assert time.time() < deadline, s
        time.sleep(0.2)
    eq(s["id"], a["id"])
    assert s["recent"], s
    shot = os.path.join(OUT, "status-page.png")
    p = subprocess.run(["node", os.path.join(HERE, "status_page.js"), MODULES, a["page"], shot],
                       capture_output=True, timeout=120)
    eq(p.returncode, 0, p.stderr.decode())
    r = json.loads(p.stdout.decode().splitlines()[-1])
    eq(r["errors"], [])
    shown = r["shown"]
    eq(shown["title"], "shoal")
    assert a["id"] in shown["id"], shown
    assert any(STATE["hub"].url in h and "connected" in h for h in shown["hubs"]), shown
    assert any(b["id"] in p for p in shown["peers"]), shown
    assert any(b["id"] in f and "synced" in f for f in shown["feeds"]), shown
    assert shown["recent"] > 0, shown
    assert os.path.getsize(shot) > 1000, shot
    print(f"# the status page, drawn by Chromium: {shot}")


@case
def only_get_and_known_paths():
    page = start("c", {})["page"]
    for method, path, status in [("POST", "status.json", 405), ("GET", "nothing", 404)]:
        req = urllib.request.Request(page + path, method=method, data=b"" if method == "POST"
                                     else None)
        try:
            urllib.request.urlopen(req, timeout=10)
            raise AssertionError(f"{method} {path} was served")
        except urllib.error.HTTPError as e:
            eq(e.code, status, f"{method} {path}")


if __name__ == "__main__":
    isolate_network(veth=True)
    with ShoalHub(SHOAL) as hub:
        STATE["hub"] = hub
        try:
            main("test_status_page")
        finally:
            for name, d in STATE.items():
                if name != "hub":
                    d.send_signal(signal.SIGTERM)
                    d.communicate(timeout=30)

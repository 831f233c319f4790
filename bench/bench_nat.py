#!/usr/bin/env python3
"""Time to connect per path: two `shoal run` daemons in network namespaces (tests/nat's
topology: NAT routers with nftables, a hub handing out coturn's STUN and TURN on the public
side), reconnected N times per path; each time one daemon restarts on its home, and the other's
watch stream (`shoal peers --follow --json`) times its record of it from "connecting" to
"connected": the negotiation (ICE, DTLS, SCTP) and the secret handshake, no announce period.
Paths: host (one LAN), srflx (cone NATs, STUN from the hub), relay over UDP (symmetric NATs, the
hub offering TURN over UDP only) and relay over TCP (UDP blocked by the routers). Prints p50 and
p95 per path, and each as a ratio to the host path's p50 (the anchor) measured in the same run.

Then a network change, N times, behind cone NATs: A's address changes (the old one goes, a new
one comes) while it is connected to B, and the time is taken from the change to A's connection
to B carrying on: kept by an ICE restart (the default), or, with the restart turned off
(timeoutRestart 0, as every network change was handled before), made anew. The second is the
anchor. Both include the daemon's wait of 1 s for a burst of network changes to settle.

    python3 bench/bench_nat.py build-bench/src/cli/shoal [N]     (root; N defaults to 10)
"""
import json
import os
import queue
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SHOAL = os.path.abspath(sys.argv[1])
N = int(sys.argv[2]) if len(sys.argv) > 2 else 10
sys.argv = [sys.argv[0], SHOAL]
sys.path.insert(0, os.path.join(HERE, "..", "tests", "nat"))
import test_nat as nat  # noqa: E402


def watch(home):
    """A's watch stream: a queue of (arrival time, change)."""
    w = subprocess.Popen([SHOAL, "peers", "--follow", "--json", "--home", home], env=nat.ENV,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    q = queue.Queue()
    threading.Thread(target=lambda: [q.put((time.monotonic(), json.loads(line)))
                                     for line in w.stdout], daemon=True).start()
    return w, q


def restart(w, h):
    """Stops h's daemon (SIGTERM: it leaves, and says goodbye) and starts it on its home."""
    p = w.procs[h]
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=30)
    d, log = w.spawn(h, h, [SHOAL, "run", "--home", w.homes[h]], stdout=subprocess.PIPE)
    nat.readline(d, f"shoal run ({h})", rest=log + ".out")


def samples(w, stay, again, kind, relay):
    """N connect times (s) of `again` as `stay` sees them, each checked to take the path."""
    w.connected()
    watcher, q = watch(w.homes[stay])
    q.get(timeout=30)  # the table first
    other = nat.STATE["ids"][again]
    got = []
    try:
        while len(got) < N:
            restart(w, again)
            began = None
            deadline = time.monotonic() + 60
            while True:
                at, e = q.get(timeout=max(0.1, deadline - time.monotonic()))
                if e.get("event") != "peer" or e.get("id") != other:
                    continue
                if e["state"] == "connecting":
                    began = at
                elif e["state"] == "connected" and began is not None:
                    break
            p = w.peer(stay, again)["path"]
            # through the other's relay alone (ours unused: local prflx), no relay of ours says
            # which transport
            assert p["kind"] == kind and (relay is None or p["relay"] in (relay, None)), p
            got.append(at - began)
    finally:
        watcher.kill()
        watcher.communicate()
    return got


def moves(w, key):
    """N changes of A's address; the time from each to A's connection to B carrying on, as
    A's status counts it under "connections" (key: "keptByRestart" or "made")."""
    w.connected()
    addresses = [nat.HOSTS["a"][1], "192.168.1.12"]
    got = []
    for i in range(N):
        before = nat.ask(w.homes["a"], "status")["connections"][key]
        old, new = addresses[i % 2], addresses[(i + 1) % 2]
        began = time.monotonic()
        nat.move_address("a", old, new)
        nat.wait_for(f"A's connection carrying on ({key})", lambda: (
            nat.ask(w.homes["a"], "status")["connections"][key] > before and
            (w.peer("a", "b") or {}).get("state") == "connected"), seconds=60, every=0.02)
        got.append(time.monotonic() - began)
        time.sleep(3)  # past the restart gap, and B settled
    return got


def table(title, what, results, anchor_name):
    """p50 and p95 of each row's samples (s), and its p50 against the anchor row's."""
    anchor = statistics.median(results[anchor_name])
    print(title)
    print(f"{what:<12} {'p50 ms':>8} {'p95 ms':>8} {'p50 / ' + anchor_name + ' p50':>20}")
    for name, xs in results.items():
        p50, p95 = statistics.median(xs), pct(xs, 0.95)
        print(f"{name:<12} {p50 * 1000:8.0f} {p95 * 1000:8.0f} {p50 / anchor:20.2f}")


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main():
    missing = nat.prerequisites()
    if missing:
        sys.exit("bench_nat: " + "; ".join(missing))
    nat.identities()
    cases = [("host", dict(hosts=("a", "a2")), "a", "a2", "host", None),
             ("srflx", dict(nat="cone"), "a", "b", "srflx", None),
             ("relay udp", dict(nat="symmetric", turn_tcp=False), "a", "b", "relay", "udp"),
             ("relay tcp", dict(nat="cone", block_udp=True), "a", "b", "relay", "tcp")]
    results, changes = {}, {}
    try:
        for name, world, stay, again, kind, relay in cases:
            with nat.World("bench-" + name.replace(" ", "-"), **world) as w:
                results[name] = samples(w, stay, again, kind, relay)
        for name, peers, key in (("ICE restart", None, "keptByRestart"),
                                 ("made anew", {"timeoutRestart": 0}, "made")):
            with nat.World("bench-move-" + key, peers=peers) as w:
                changes[name] = moves(w, key)
    finally:
        shutil.rmtree(nat.ROOT, ignore_errors=True)
    table(f"time to connect ({N} reconnections per path; from the record's 'connecting' to "
          f"'connected')", "path", results, "host")
    print()
    table(f"A's address changes ({N} times, cone NATs); from the change to the connection "
          f"carrying on", "how", changes, "made anew")

if __name__ == "__main__":
    main()

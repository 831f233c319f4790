#!/usr/bin/env python3
"""The soak: many `shoal run` daemons and several `shoal hub`s on one machine for minutes, with
churn, watched from outside through each daemon's control socket.

Peers (replicating each other's feeds, at most 4 connections each, connections rotated every
couple of minutes) meet at every hub. Every CHURN seconds a peer leaves (SIGTERM or SIGKILL, in
turn) and one joins (the same home restarted, or a fresh identity, in turn); every HUB_RESTART
seconds a hub is killed with SIGKILL and started again on its port 3 s later; every few seconds a
peer publishes a message. A core of peers is never churned: their memory is the flatness test.

Every 10 s each daemon's status is read, and the state manager's invariants are checked:
  - no daemon holds more connected peers than maxPeers;
  - no peer record stays "connecting" past its attempt's deadline (by more than 5 s);
  - links agree: when A says B is connected, B (running for 30 s) says A is connected or
    going; a disagreement may last as long as the transport takes to notice a lost close (ICE
    consent freshness: 30 s), not through five samples in a row (40 s and more);
  - every daemon answers; none dies unless the soak killed it, and every SIGTERM ends in exit 0.
Memory: the core peers' and hubs' resident memory, after warm-up against the end.
Prints the figures and exits 0 when every invariant held and memory stayed flat.

Usage: soak.py SHOAL [--peers 50] [--hubs 3] [--minutes 10] [--churn 15] [--hub-restart 150]
Runs in a network namespace of its own with a veth pair (clitest.isolate_network)."""
import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from clitest import isolate_network  # noqa: E402

MAX_PEERS = 4
# A close that never arrives is noticed by ICE consent freshness within 30 s (RFC 7675): a link
# that disagrees through five samples (40 s and more) is past what the transport allows.
MISMATCH_SAMPLES = 5
STUCK_MS = 5000  # a connecting record this far past its deadline is stuck (the manager ticks)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class Soak:
    def __init__(self, args):
        self.a = args
        self.root = tempfile.mkdtemp(prefix="shoal-soak-")
        self.env = dict(os.environ, HOME=self.root, SHOAL_LOG="warn")
        self.hub_ports = [free_port() for _ in range(args.hubs)]
        self.hubs = [None] * args.hubs
        self.peers = {}  # name -> Popen
        self.ids = {}  # name -> feed id
        self.core = []
        self.serial = 0
        self.violations = {"over_max_peers": 0, "stuck": 0, "link_mismatch": 0,
                           "unanswered": 0, "died": 0, "unclean_exit": 0}
        self.stuck_seen = set()
        self.mismatch_runs = {}
        self.started = {}  # name -> time it (re)started
        self.samples = []
        self.rss_first = {}
        self.rss_last = {}
        lifetime = "2m" if args.minutes >= 5 else "30s"
        self.config = {"listen": "", "statusPort": 0, "replicatePeers": True,
                       "hubs": [f"http://127.0.0.1:{p}" for p in self.hub_ports],
                       "peers": {"maxPeers": MAX_PEERS, "lifetime": lifetime,
                                 "restAfterRotation": "1m"}}

    # ---- processes ----
    def start_hub(self, i):
        h = subprocess.Popen([self.a.shoal, "hub", "--listen", f"127.0.0.1:{self.hub_ports[i]}"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert b"listening on" in h.stdout.readline()
        self.hubs[i] = h

    def start_peer(self, name):
        home = os.path.join(self.root, name)
        if not os.path.exists(home):
            os.makedirs(home)
            with open(os.path.join(home, "config.json"), "w") as f:
                json.dump(self.config, f)
        d = subprocess.Popen([self.a.shoal, "run", "--home", home], env=self.env,
                             stdout=subprocess.PIPE,
                             stderr=open(os.path.join(self.root, name + ".log"), "ab"))
        line = d.stdout.readline().decode()
        assert "running as @" in line, (name, open(os.path.join(self.root, name + ".log")).read())
        self.ids[name] = line.split("running as ")[1].split()[0]
        self.peers[name] = d
        self.started[name] = time.time()

    def stop_peer(self, name, sig):
        d = self.peers.pop(name)
        d.send_signal(sig)
        d.communicate(timeout=60)
        if sig == signal.SIGTERM and d.returncode != 0:
            self.violations["unclean_exit"] += 1
            print(f"# {name} exited {d.returncode} on SIGTERM", flush=True)

    def ask(self, name, request):
        home = os.path.join(self.root, name)
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(10)
            s.connect(os.path.join(home, "control.sock"))
            s.sendall(json.dumps(request).encode() + b"\n")
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        return json.loads(buf)

    def violation(self, kind, what):
        self.violations[kind] += 1
        print(f"# violation, {kind}: {what}", flush=True)

    # ---- the checks ----
    def sample(self, now):
        statuses = {}
        for name, d in list(self.peers.items()):
            if d.poll() is not None:
                self.violations["died"] += 1
                print(f"# {name} died: exit {d.returncode}", flush=True)
                del self.peers[name]
                continue
            try:
                statuses[name] = self.ask(name, {"cmd": "status"})
            except (OSError, ValueError):
                self.violations["unanswered"] += 1
        by_id = {self.ids[n]: n for n in statuses}
        connected_counts, isolated = [], 0
        for name, s in statuses.items():
            states = {p["id"]: p["state"] for p in s["peers"]}
            n = sum(1 for st in states.values() if st == "connected")
            connected_counts.append(n)
            isolated += n == 0
            if n > MAX_PEERS:
                self.violation("over_max_peers", f"{name} holds {n} connected peers")
            for pid, st in states.items():
                key = (name, pid)
                late = -next((p.get("deadlineIn", 0) for p in s["peers"] if p["id"] == pid), 0)
                if st == "connecting" and late > STUCK_MS and key not in self.stuck_seen:
                    self.stuck_seen.add(key)
                    self.violation("stuck", f"{name} is connecting to {pid} {late} ms past the "
                                   "attempt's deadline")
                other = by_id.get(pid)
                agree, back = True, {}
                if st == "connected" and other and now - self.started[other] > 30:
                    back = {p["id"]: p["state"] for p in statuses[other]["peers"]}
                    agree = back.get(s["id"]) in ("connected", "disconnecting")
                before = self.mismatch_runs.get(key, 0)
                runs = 0 if agree else before + 1
                self.mismatch_runs[key] = runs
                if runs == MISMATCH_SAMPLES:
                    self.violation("link_mismatch", f"{name} says {other} is connected; {other} "
                                   f"says {back.get(s['id'])} for {10 * (runs - 1)} s")
                elif runs == 0 and before >= 2:  # within the transport's window: told, not judged
                    print(f"# a link disagreed for {10 * (before - 1)}-{10 * before} s, then "
                          f"agreed ({name}, {by_id.get(pid, pid[:9])})", flush=True)
        mean = sum(connected_counts) / len(connected_counts) if connected_counts else 0
        self.samples.append((now, len(statuses), mean, isolated))
        warm = now - self.t0 > min(120, self.a.minutes * 60 / 4)
        procs = {n: self.peers[n].pid for n in self.core if n in self.peers}
        procs.update({f"hub{i}": h.pid for i, h in enumerate(self.hubs) if h})
        for n, pid in procs.items():
            r = rss_kib(pid)
            if r is None:
                continue
            if warm:
                self.rss_first.setdefault(n, r)
            self.rss_last[n] = r
        print(f"# t={now - self.t0:5.0f}s peers {len(statuses)}, connected each {mean:.2f}, "
              f"isolated {isolated}, violations {sum(self.violations.values())}", flush=True)

    # ---- the run ----
    def run(self):
        a = self.a
        for i in range(a.hubs):
            self.start_hub(i)
        for i in range(a.peers):
            name = f"p{i}"
            self.start_peer(name)
        self.serial = a.peers
        self.core = [f"p{i}" for i in range(max(1, a.peers // 5))]
        self.t0 = time.time()
        end = self.t0 + a.minutes * 60
        next_sample, next_churn = self.t0 + 10, self.t0 + a.churn
        next_hub, next_post = self.t0 + a.hub_restart, self.t0 + 3
        churns = hub_restarts = posts = 0
        hub_down = None
        rng = random.Random(1)
        while time.time() < end:
            now = time.time()
            if now >= next_churn:
                next_churn += a.churn
                movable = [n for n in self.peers if n not in self.core]
                if movable:
                    leaving = rng.choice(movable)
                    self.stop_peer(leaving, signal.SIGKILL if churns % 2 else signal.SIGTERM)
                    if churns % 4 < 2:  # the same home comes back
                        self.start_peer(leaving)
                    else:  # a new identity joins
                        self.start_peer(f"p{self.serial}")
                        self.serial += 1
                    churns += 1
            if now >= next_hub and hub_down is None:
                next_hub += a.hub_restart
                hub_down = (hub_restarts % a.hubs, now + 3)
                self.hubs[hub_down[0]].kill()
                self.hubs[hub_down[0]].wait()
                self.hubs[hub_down[0]] = None
                hub_restarts += 1
            if hub_down and now >= hub_down[1]:
                self.start_hub(hub_down[0])
                hub_down = None
            if now >= next_post:
                next_post += 5
                name = rng.choice(list(self.peers))
                try:
                    r = self.ask(name, {"cmd": "publish",
                                        "content": {"type": "post", "text": f"soak {posts}"}})
                    posts += bool(r.get("ok"))
                except (OSError, ValueError):
                    self.violations["unanswered"] += 1
            if now >= next_sample:
                next_sample += 10
                self.sample(now)
            time.sleep(0.2)
        if hub_down:
            self.start_hub(hub_down[0])
        for name in list(self.peers):
            self.stop_peer(name, signal.SIGTERM)
        for h in self.hubs:
            h.send_signal(signal.SIGTERM)
            h.wait(timeout=30)
        crashes = [n for n in os.listdir(self.root) if n.endswith(".log") and any(
            w in open(os.path.join(self.root, n), errors="replace").read()
            for w in ("AddressSanitizer", "runtime error", "Segmentation"))]
        growth = {n: (self.rss_last[n] - self.rss_first[n]) / self.rss_first[n]
                  for n in self.rss_first if n in self.rss_last}
        core = [growth[n] for n in growth if not n.startswith("hub")]
        hubs = [growth[n] for n in growth if n.startswith("hub")]
        warm = [s for s in self.samples if s[0] - self.t0 > 60]
        summary = {
            "peers": a.peers, "hubs": a.hubs, "minutes": a.minutes, "churns": churns,
            "hub_restarts": hub_restarts, "messages_published": posts,
            "violations": self.violations, "crash_logs": crashes,
            "connected_per_peer_mean": round(sum(s[2] for s in warm) / len(warm), 2) if warm
            else None,
            "isolated_share_mean": round(sum(s[3] / max(1, s[1]) for s in warm) / len(warm), 3)
            if warm else None,
            "core_rss_growth_mean": round(sum(core) / len(core), 3) if core else None,
            "core_rss_kib_end_mean": round(sum(self.rss_last[n] for n in self.rss_first
                                               if not n.startswith("hub")) / max(1, len(core))),
            "hub_rss_growth_max": round(max(hubs), 3) if hubs else None,
        }
        print(json.dumps(summary), flush=True)
        flat = all(g < 0.25 for g in core) and all(g < 0.5 for g in hubs)
        ok = sum(self.violations.values()) == 0 and not crashes and flat
        print(f"# soak: {1 if ok else 0} passed, {0 if ok else 1} failed", flush=True)
        if ok:
            shutil.rmtree(self.root, ignore_errors=True)
        else:  # the daemons' logs, for whoever looks into it
            print(f"# kept {self.root} (each peer's log is <name>.log)", flush=True)
        return ok


def main():
    p = argparse.ArgumentParser()
    p.add_argument("shoal")
    p.add_argument("--peers", type=int, default=50)
    p.add_argument("--hubs", type=int, default=3)
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--churn", type=float, default=15)
    p.add_argument("--hub-restart", type=float, default=150)
    args = p.parse_args()
    args.shoal = os.path.abspath(args.shoal)
    isolate_network(veth=True)
    soak = Soak(args)
    try:
        ok = soak.run()
    finally:
        for d in list(soak.peers.values()) + [h for h in soak.hubs if h]:
            if d.poll() is None:
                d.kill()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

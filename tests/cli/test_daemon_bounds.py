#!/usr/bin/env python3
"""`shoal run` within its bounds, on 127.0.0.1 in a network namespace, peers over net: alone:

- its home and files are the user's alone: a home made 0755 (with a config.json 0644 in it) is
  narrowed to 0700, said in the log, and every file in it is 0600 (the control socket too is the
  user's alone), as are those made later (blocked-hubs.json, the -wal and -shm files);
- what `shoal publish` answers for is on disk: the daemon syncs feeds.db-wal before it answers;
- hubs named in feeds are bounded: A publishes 64 rtc-hub messages and holds 32 of them (half the
  table), and `shoal hubs add` still finds room; B replicates A's feed (replicatePeers) without
  following it and takes none of its hubs, takes 3 once it follows A, still takes a hub by
  command, and drops A's once it unfollows A;
- `shoal publish --text` with bytes that are not UTF-8 is refused (2) and publishes nothing;
- a hub listed 64 times in config.json is held once, without a word on standard error;
- "listen": "localhost:8008" is refused by the configuration check (2) with the reason;
- the control socket answers a line longer than 1 MiB with "request too long" once 1 MiB of it
  is read, and closes: 64 MiB sent its way are not read, and the daemon's RSS does not grow by
  16 MiB; two requests sent at once get their two answers in order."""
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from clitest import case, commands, eq, isolate_network, main, wait_for  # noqa: E402

SHOAL = os.path.abspath(sys.argv[1])
ROOT = tempfile.mkdtemp(prefix="shoal-bounds-")
ENV = dict(os.environ, HOME=ROOT, SHOAL_LOG="warn")
STATE = {}


shoal, ask = commands(SHOAL, ENV, timeout=60)


def start(name, config, mode=0o700):
    home = os.path.join(ROOT, name)
    os.makedirs(home)
    os.chmod(home, mode)
    with open(os.path.join(home, "config.json"), "w") as f:
        json.dump(dict({"statusPort": 0, "listen": ""}, **config), f)
    os.chmod(os.path.join(home, "config.json"), 0o600)
    d = subprocess.Popen([SHOAL, "run", "--home", home], env=ENV, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    assert b"running as @" in d.stdout.readline(), d.stderr.read()
    STATE[name] = d
    return home


def stop(name):
    d = STATE.pop(name)
    d.send_signal(signal.SIGTERM)
    _, err = d.communicate(timeout=30)
    eq(d.returncode, 0, err.decode())
    return err.decode()


def rss_kib(name):
    with open(f"/proc/{STATE[name].pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


def modes(home):
    return {n: stat.S_IMODE(os.lstat(os.path.join(home, n)).st_mode) for n in os.listdir(home)}


def check_private(home):
    eq(stat.S_IMODE(os.stat(home).st_mode), 0o700)
    found = modes(home)
    for name in ["config.json", "secret", "feeds.db", "feeds.db-wal", "feeds.db-shm", "conn.db",
                 "blocked-hubs.json", "control.sock"]:
        assert name in found, (name, found)
    for name, mode in found.items():
        if name == "control.sock":
            eq(mode & 0o077, 0, name)
        else:
            eq(mode, 0o600, name)


@case
def the_home_and_its_files_are_the_users_alone():
    home = os.path.join(ROOT, "private")
    os.makedirs(home, mode=0o755)
    os.chmod(home, 0o755)
    with open(os.path.join(home, "config.json"), "w") as f:
        json.dump({"statusPort": 0, "listen": ""}, f)
    os.chmod(os.path.join(home, "config.json"), 0o644)
    for round in range(2):
        d = subprocess.Popen([SHOAL, "run", "--home", home], env=ENV, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        assert b"running as @" in d.stdout.readline()
        STATE["private"] = d
        rc, out, err = shoal("publish", "--home", home, "--type", "post", "--text", "hello")
        eq(rc, 0, err)
        rc, out, err = shoal("hubs", "block", f"http://127.0.0.1:{9 + round}", "--home", home)
        eq(rc, 0, err)
        check_private(home)
        log = stop("private")
        assert f"{home} was mode 755, open to others: now 700" in log, log
        if round == 0:
            assert "config.json was mode 644, open to others: now 600" in log, log
        else:  # files an older shoal left open to others are narrowed too
            assert "feeds.db was mode 644, open to others: now 600" in log, log
        os.chmod(home, 0o755)
        os.chmod(os.path.join(home, "feeds.db"), 0o644)


@case
def a_publish_is_on_disk_before_it_is_answered():
    home = start("durable", {})
    strace = subprocess.Popen(["strace", "-f", "-y", "-e", "trace=fsync,fdatasync", "-p",
                               str(STATE["durable"].pid)], stderr=subprocess.PIPE)
    seen = b""
    while b"attached" not in seen:  # strace says so for each thread it attached to
        line = strace.stderr.readline()
        assert line, seen
        seen += line
    rc, out, err = shoal("publish", "--home", home, "--type", "post", "--text", "kept")
    eq(rc, 0, err)
    strace.send_signal(signal.SIGINT)
    _, trace = strace.communicate(timeout=30)
    trace = seen + trace
    synced = [l for l in trace.decode().splitlines() if "feeds.db-wal" in l and "sync" in l]
    assert synced, trace.decode()
    stop("durable")


@case
def hubs_named_in_feeds_are_bounded():
    a = start("a", {"listen": "127.0.0.1:0"})
    s = ask(a, "status")
    for i in range(64):
        rc, out, err = shoal("publish", "--home", a, "--content",
                             json.dumps({"type": "rtc-hub", "address": f"http://127.0.0.1:{i + 1}"}))
        eq(rc, 0, err)
    # A's own feed names 64: it holds half the table of them, and a command still finds room
    eq(len([h for h in ask(a, "status")["hubs"] if h["source"] == s["id"]]), 32)
    rc, out, err = shoal("hubs", "add", "http://127.0.0.1:7000", "--home", a)
    eq(rc, 0, err)
    # B replicates A's feed without following it: none of A's hubs
    b = start("b", {"replicatePeers": True})
    rc, out, err = shoal("connect", s["net"], "--home", b)
    eq(rc, 0, err)
    wait_for("B holds A's feed", lambda: len(ask(b, "feed", s["id"])["messages"]) == 64)
    eq(ask(b, "status")["hubs"], [])
    # followed: three of them
    rc, out, err = shoal("follow", s["id"], "--home", b)
    eq(rc, 0, err)
    named = [h["address"] for h in ask(b, "status")["hubs"] if h["source"] == s["id"]]
    eq(len(named), 3, named)
    rc, out, err = shoal("hubs", "add", "http://127.0.0.1:7001", "--home", b)
    eq(rc, 0, err)
    # unfollowed: they go, the command's stays
    rc, out, err = shoal("unfollow", s["id"], "--home", b)
    eq(rc, 0, err)
    eq([(h["address"], h["source"]) for h in ask(b, "status")["hubs"]],
       [("http://127.0.0.1:7001", "command")])
    stop("b")
    stop("a")


@case
def text_that_is_not_utf8_is_refused():
    home = start("utf8", {})
    p = subprocess.run([SHOAL, "publish", "--home", home, "--type", "post", "--text", b"a\xff"],
                       env=ENV, capture_output=True, timeout=30)
    eq(p.returncode, 2, p.stderr)
    assert b"must be UTF-8" in p.stderr, p.stderr
    eq(ask(home, "status")["sequence"], 0)
    stop("utf8")


@case
def a_hub_listed_64_times_is_held_once_quietly():
    home = start("copies", {"hubs": ["http://127.0.0.1:9"] * 63 + ["http://127.0.0.1:9/"]})
    eq([h["address"] for h in ask(home, "status")["hubs"]], ["http://127.0.0.1:9"])
    eq(stop("copies"), "")


@case
def listen_must_be_an_ip_address():
    home = os.path.join(ROOT, "named")
    os.makedirs(home)
    with open(os.path.join(home, "config.json"), "w") as f:
        json.dump({"listen": "localhost:8008", "statusPort": 0}, f)
    rc, out, err = shoal("run", "--home", home)
    eq(rc, 2, out + err)
    assert 'listen: "localhost" is a name: an IP address to listen on is expected' in err, err


@case
def the_control_socket_reads_one_line_of_a_mib_at_most():
    home = start("control", {})
    path = os.path.join(home, "control.sock")
    before = rss_kib("control")
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    sent = [0]

    def flood():
        chunk = b"x" * 65536
        s.settimeout(5)
        try:
            while sent[0] < 64 << 20:
                sent[0] += s.send(chunk)
        except OSError:
            pass  # cut off, or nobody reads

    t = threading.Thread(target=flood)
    t.start()
    s.settimeout(30)
    answer = b""
    while not answer.endswith(b"\n"):
        more = s.recv(4096)
        assert more, answer
        answer += more
    eq(json.loads(answer), {"ok": False, "error": "request too long"})
    t.join(60)
    try:  # closed: an end, or a reset (what the daemon left unread is thrown away)
        eq(s.recv(4096), b"", "the connection stays open")
    except ConnectionResetError:
        pass
    s.close()
    after = rss_kib("control")
    print(f"# 64 MiB on one line: {sent[0] >> 10} KiB went out; the daemon's RSS {before} KiB "
          f"before, {after} KiB after")
    assert sent[0] < 32 << 20, sent[0]
    assert after - before < 16 << 10, (before, after)
    # two requests at once: two answers, in order
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall(b'{"cmd":"status"}\n{"cmd":"nothing"}\n')
    f = s.makefile("rb")
    assert json.loads(f.readline())["ok"] is True
    eq(json.loads(f.readline()), {"ok": False, "error": 'no command "nothing"'})
    s.close()
    stop("control")


if __name__ == "__main__":
    isolate_network()
    try:
        main("test_daemon_bounds")
    finally:
        for d in STATE.values():
            d.kill()

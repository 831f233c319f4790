"""A tiny harness for the command-line tests: cases are registered with @case, failed checks
say both values, and the run ends with the summary line scripts/test-summary reads."""
import json
import os
import signal
import subprocess
import sys
import time

CASES = []


def case(fn):
    CASES.append(fn)
    return fn


def eq(left, right, what=""):
    assert left == right, f"{what}\n    left:  {left!r}\n    right: {right!r}"


def main(name):
    """Runs every case, or those SHOAL_TEST_CASES names (comma-separated), for a quick look."""
    only = set(filter(None, os.environ.get("SHOAL_TEST_CASES", "").split(",")))
    passed = failed = 0
    for fn in CASES:
        if only and fn.__name__ not in only:
            continue
        try:
            fn()
            passed += 1
            print(f"ok - {fn.__name__}")
        except (AssertionError, ValueError, KeyError, subprocess.TimeoutExpired) as e:
            failed += 1
            print(f"not ok - {fn.__name__}\nFAIL {e}")
    print(f"# {name}: {passed} passed, {failed} failed")
    sys.exit(0 if failed == 0 and passed > 0 else 1)


def commands(shoal, env, timeout=30):
    """The two ways a test talks to `shoal` (the binary at path `shoal`, with `env`):
    run(*args) -> (exit status, stdout, stderr), and ask(home, *args) -> the daemon's JSON
    answer to `shoal ARGS --home HOME --json`, which must succeed."""
    def run(*args, timeout=timeout):
        p = subprocess.run([shoal, *args], env=env, capture_output=True, timeout=timeout)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def ask(home, *args):
        rc, out, err = run(*args, "--home", home, "--json")
        eq(rc, 0, err)
        return json.loads(out)

    return run, ask


def wait_for(what, fn, seconds=60, every=0.2):
    """fn()'s first true answer, asked every `every` s; fails after `seconds` s of false ones."""
    deadline = time.time() + seconds
    while True:
        got = fn()
        if got:
            return got
        assert time.time() < deadline, f"{what}: not within {seconds} s"
        time.sleep(every)


def isolate_network(veth=False):
    """Re-executes the calling script inside a new network namespace with only loopback up
    (`unshare -n`, or `unshare -r -n` without root), so that WebRTC, which gathers candidates on
    every interface it sees, cannot leave 127.0.0.1. With veth, the namespace also gets a veth
    pair, 10.99.0.1 and 10.99.0.2, and a default route over it: Chromium gathers no candidates
    where only loopback exists. The pair is named shoal0/shoal1, since libnice, gathering on every
    interface, leaves out those named veth* (and loopback). It has no IPv6 link-local addresses:
    they would arrive a moment after the daemons start (duplicate address detection), which the
    daemons rightly take for a network change."""
    if os.environ.get("SHOAL_NETNS"):
        return
    os.environ["SHOAL_NETNS"] = "1"
    setup = "ip link set lo up"
    if veth:
        setup += (" && ip link add shoal0 type veth peer name shoal1"
                  " && ip link set shoal0 addrgenmode none && ip link set shoal1 addrgenmode none"
                  " && ip addr add 10.99.0.1/24 dev shoal0 && ip addr add 10.99.0.2/24 dev shoal1"
                  " && ip link set shoal0 up && ip link set shoal1 up"
                  " && ip route add default dev shoal0")
    unshare = ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-r", "-n"]
    os.execvp("unshare", unshare + ["sh", "-c", setup + ' && exec "$@"', "sh", sys.executable]
              + sys.argv)


class ShoalHub:
    """`shoal hub` on 127.0.0.1 (a free port) for the length of a `with`; .url is its address."""

    def __init__(self, shoal):
        self.shoal = shoal

    def __enter__(self):
        self.p = subprocess.Popen([self.shoal, "hub", "--listen", "127.0.0.1:0"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.url = self.p.stdout.readline().decode().split(" ")[-1].strip()
        return self

    def __exit__(self, *exc):
        self.p.send_signal(signal.SIGTERM)
        self.p.communicate(timeout=20)

    def wait_for_subscribers(self, n, seconds=30):
        """Waits until the hub counts n subscriptions (a stream on two channels counts two)."""
        import urllib.request
        deadline = time.time() + seconds
        while True:
            with urllib.request.urlopen(self.url + "/", timeout=5) as r:
                if json.loads(r.read())["subscribers"] >= n:
                    return
            assert time.time() < deadline, f"fewer than {n} subscribers at the hub"
            time.sleep(0.05)

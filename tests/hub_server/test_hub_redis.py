#!/usr/bin/env python3
"""Scale-out: two `shoal hub` processes share their broadcasts through Debian's redis-server
(started here on a free port of 127.0.0.1). The npm signalhub 4.9 client, one instance per hub,
gets exactly what one hub alone would give it: a message posted to hub A reaches the subscribers
on hub B once, and A's own once (A skips its own frames when Redis hands them back). Redis
killed: each hub serves its own clients alone and says so in /metrics; Redis back on its port:
they share again. Frames on the channel that are not shoal's are counted and dropped. A bad
--redis address is a usage error; without --redis a hub has no relay at all."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from clitest import case, eq, main  # noqa: E402

SHOAL = sys.argv[1]
MODULES = os.path.abspath(sys.argv[2])
HERE = os.path.dirname(os.path.abspath(__file__))
STATE = {}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(port):
    r = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save",
                          "", "--appendonly", "no"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return r
        except OSError:
            assert time.time() < deadline, "redis-server did not start"
            time.sleep(0.05)


def start_hub(*extra):
    hub = subprocess.Popen([SHOAL, "hub", "--listen", "127.0.0.1:0", *extra],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = hub.stdout.readline().decode().split(" ")[-1].strip()
    return hub, url


def stop(p):
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=30)
    eq(p.returncode, 0, (err or b"").decode())


def metrics(url):
    with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
        text = r.read().decode()
    return {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines()
            if line and not line.startswith("#")}


def wait_for(what, fn, seconds=30):
    deadline = time.time() + seconds
    while not fn():
        assert time.time() < deadline, f"{what}: not within {seconds} s"
        time.sleep(0.1)


def run_client(urls):
    p = subprocess.run(["node", os.path.join(HERE, "signalhub_client.js"), MODULES,
                        ",".join(urls)], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    return json.loads(p.stdout.decode().strip().splitlines()[-1])


def check_client(results):
    """What signalhub_client.js's three clients must get (as from one hub alone)."""
    eq(results["errors"], [])
    connect = {"type": "connect", "from": "peer-0"}
    offer = {"from": "peer-0", "signal": {"type": "offer", "sdp": "v=0\r\n"}}
    eq(results["received"]["0"], [connect])
    eq(results["received"]["1"], [connect, offer])
    eq(results["received"]["2"], [])


def publish_raw(port, channel, payload):
    """PUBLISH through a raw RESP connection, as any Redis client could."""
    cmd = [b"PUBLISH", channel.encode(), payload]
    wire = b"*%d\r\n" % len(cmd) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in cmd)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(wire)
        assert s.recv(64).startswith(b":"), "PUBLISH was not answered"


@case
def a_message_posted_to_one_hub_reaches_the_subscribers_of_the_other():
    hub_a, url_a = STATE["a"]
    hub_b, url_b = STATE["b"]
    wait_for("both relays up", lambda: metrics(url_a)["shoal_hub_relay_up"] == 1 and
             metrics(url_b)["shoal_hub_relay_up"] == 1)
    # client 0 (which broadcasts) and client 2 on A, client 1 on B
    check_client(run_client([url_a, url_b, url_a]))
    eq(metrics(url_a)["shoal_hub_relay_out_total"], 2)
    eq(metrics(url_b)["shoal_hub_relay_in_total"], 2)
    eq(metrics(url_a)["shoal_hub_relay_in_total"], 0)  # its own frames are skipped
    # and the other way round: the broadcaster on B
    check_client(run_client([url_b, url_a, url_b]))


@case
def frames_that_are_not_shoals_are_counted_and_dropped():
    hub_a, url_a = STATE["a"]
    before = metrics(url_a)
    publish_raw(STATE["redis_port"], "shoal-hub", b"not a frame")
    publish_raw(STATE["redis_port"], "shoal-hub",
                b"shoal-relay-1 " + b"0" * 32 + b" app/bad,channel\nbody")
    wait_for("two malformed frames counted", lambda: metrics(url_a)[
        "shoal_hub_relay_malformed_total"] == before["shoal_hub_relay_malformed_total"] + 2)
    eq(metrics(url_a)["shoal_hub_relay_in_total"], before["shoal_hub_relay_in_total"])


@case
def without_redis_each_hub_serves_alone_and_shares_again_once_it_is_back():
    hub_a, url_a = STATE["a"]
    hub_b, url_b = STATE["b"]
    STATE["redis"].kill()
    STATE["redis"].wait()
    wait_for("both relays down", lambda: metrics(url_a)["shoal_hub_relay_up"] == 0 and
             metrics(url_b)["shoal_hub_relay_up"] == 0)
    # alone, each still serves its own: all three clients on A get what one hub gives
    check_client(run_client([url_a]))
    STATE["redis"] = start_redis(STATE["redis_port"])
    wait_for("both relays up again", lambda: metrics(url_a)["shoal_hub_relay_up"] == 1 and
             metrics(url_b)["shoal_hub_relay_up"] == 1, seconds=30)
    assert metrics(url_a)["shoal_hub_relay_reconnects_total"] >= 1
    check_client(run_client([url_a, url_b, url_a]))


@case
def a_bad_redis_address_is_a_usage_error_and_no_redis_means_no_relay():
    for bad in ["nowhere", "host:0", "host:99999", ":6379", "unix:"]:
        p = subprocess.run([SHOAL, "hub", "--listen", "127.0.0.1:0", "--redis", bad],
                           capture_output=True, timeout=30)
        eq(p.returncode, 2, (bad, p.stderr.decode()))
        assert b"Redis address" in p.stderr, p.stderr
    hub, url = start_hub()
    try:
        assert not [k for k in metrics(url) if "relay" in k]
    finally:
        stop(hub)


if __name__ == "__main__":
    STATE["redis_port"] = free_port()
    STATE["redis"] = start_redis(STATE["redis_port"])
    redis = f"127.0.0.1:{STATE['redis_port']}"
    STATE["a"] = start_hub("--redis", redis)
    STATE["b"] = start_hub("--redis", redis)
    try:
        main("test_hub_redis")
    finally:
        for name in ("a", "b"):
            stop(STATE[name][0])
        STATE["redis"].kill()
        STATE["redis"].wait()

#!/usr/bin/env python3
"""Interop with the reference SSB server: ssb-server 16.0.1 (npm, installed at test time by
scripts/fetch-test-data with ssb-friends 4.1.4 beside it; 127.0.0.1 only, a temporary home,
no multicast). shoal dials it over net: and calls whoami and createHistoryStream, and
replicates its feed; it dials shoal (gossip.connect) and shoal answers gossip.ping and refuses
ebt.replicate and the other methods it does not serve, on which the reference falls back; and,
following shoal's feed, the reference replicates it from shoal."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from clitest import case, eq, main  # noqa: E402

SHOAL, NET_PEER, MODULES, REPL_PEER = (os.path.abspath(a) for a in sys.argv[1:5])
SSB_BIN = os.path.join(MODULES, "ssb-server", "bin.js")
HOME = tempfile.mkdtemp(prefix="shoal-ssb-")
ENV = dict(os.environ, HOME=HOME)
SERVER = None
PORT = 0
KEY = ""  # the server's public key, base64


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def secret_of(path):
    text = "\n".join(l for l in open(path) if not l.strip().startswith("#"))
    return json.loads(text)


def ssb(*args, timeout=60):
    """Runs an ssb-server command-line call against the running server."""
    p = subprocess.run(["node", SSB_BIN, *args], env=ENV, capture_output=True, timeout=timeout)
    assert p.returncode == 0, p.stderr.decode()
    return json.loads(p.stdout.decode())


def json_items(text):
    """The JSON values printed one after another (ssb-server's command line prints a stream so)."""
    decoder, items, at = json.JSONDecoder(), [], 0
    while text[at:].strip():
        item, at = decoder.raw_decode(text, len(text) - len(text[at:].lstrip()))
        items.append(item)
    return items


def shoal_rpc(*args, timeout=60):
    p = subprocess.run([SHOAL, "rpc", *args], capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def address(key=None):
    return f"net:127.0.0.1:{PORT}~shs:{key or KEY}"


def start_server():
    global SERVER, PORT, KEY
    PORT = free_port()
    os.makedirs(os.path.join(HOME, ".ssb"))
    config = {
        "connections": {
            "incoming": {"net": [{"host": "127.0.0.1", "port": PORT, "scope": ["device", "local"],
                                  "transform": "shs"}]},
            "outgoing": {"net": [{"transform": "shs"}]},
        },
        "gossip": {"local": False, "pub": False, "seed": False},
        "local": False,
    }
    json.dump(config, open(os.path.join(HOME, ".ssb", "config"), "w"))
    SERVER = subprocess.Popen(["node", SSB_BIN, "start"], env=ENV, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=1).close()
            break
        except OSError:
            assert SERVER.poll() is None, SERVER.stdout.read().decode()
            time.sleep(0.2)
    else:
        raise AssertionError("ssb-server did not start listening")
    KEY = secret_of(os.path.join(HOME, ".ssb", "secret"))["public"].split(".")[0]


@case
def shoal_calls_whoami_as_the_servers_own_identity():
    # the reference's own secret file, read by shoal, makes shoal the server's master
    rc, out, err = shoal_rpc("--secret", os.path.join(HOME, ".ssb", "secret"), address(),
                             "whoami")
    eq(rc, 0, err)
    eq(json.loads(out), {"id": f"@{KEY}.ed25519"})


@case
def a_stranger_is_refused_whoami_with_the_references_error():
    rc, out, err = shoal_rpc(address(), "whoami")
    eq(rc, 1, err)
    assert "method:whoami is not in list of allowed methods" in err, err


@case
def shoal_reads_the_servers_feed_with_create_history_stream():
    published = [ssb("publish", "--type", "post", "--text", f"hello {i}") for i in range(3)]
    feed = f"@{KEY}.ed25519"
    rc, out, err = shoal_rpc("--type", "source", address(), "createHistoryStream",
                             json.dumps({"id": feed}))
    eq(rc, 0, err)
    items = [json.loads(line) for line in out.splitlines()]
    eq([m["key"] for m in items], [m["key"] for m in published])
    eq([m["value"]["sequence"] for m in items], [1, 2, 3])
    eq(items[2]["value"]["content"], {"type": "post", "text": "hello 2"})
    # seq is an inclusive lower bound; keys false gives bare values; limit caps the count
    rc, out, err = shoal_rpc("--type", "source", address(), "createHistoryStream",
                             json.dumps({"id": feed, "seq": 2, "keys": False, "limit": 1}))
    eq(rc, 0, err)
    eq([json.loads(line)["sequence"] for line in out.splitlines()], [2])


@case
def shoal_replicates_the_servers_feed_validating_every_message():
    for i in range(20):
        ssb("publish", "--type", "post", "--text", f"to replicate {i} é 😀")
    latest = ssb("getLatest", f"@{KEY}.ed25519")
    db = os.path.join(HOME, "shoal-feeds.db")
    p = subprocess.run([REPL_PEER, "--secret", os.path.join(HOME, "shoal-secret"), "--db", db,
                        "--fetch", address(), f"@{KEY}.ed25519"], capture_output=True, timeout=60)
    eq(p.returncode, 0, p.stderr.decode())
    events = [json.loads(l) for l in p.stdout.decode().splitlines()]
    assert not [e for e in events if e["event"] == "refused"], events
    eq([e["head"] for e in events if e["event"] == "fetched"], [latest["value"]["sequence"]])
    # asked again, it continues from its head: nothing more to fetch, nothing refused
    ssb("publish", "--type", "post", "--text", "one more")
    p = subprocess.run([REPL_PEER, "--secret", os.path.join(HOME, "shoal-secret"), "--db", db,
                        "--fetch", address(), f"@{KEY}.ed25519"], capture_output=True, timeout=60)
    events = [json.loads(l) for l in p.stdout.decode().splitlines()]
    eq([e["head"] for e in events if e["event"] == "fetched"], [latest["value"]["sequence"] + 1])
    eq(len([e for e in events if e["event"] == "progress"]), 1)


@case
def dialling_the_wrong_key_fails_the_handshake():
    other = "gYCJpN4eGDjHFnWW2Fcusj8O4QYbVDUW6rNYh7nNEnc="  # a valid key, not the server's
    rc, out, err = shoal_rpc("--timeout", "20000", address(other), "whoami")
    eq(rc, 3, err)
    assert "the peer hung up" in err, err


@case
def the_server_dials_shoal_and_shoal_answers_its_calls():
    peer = subprocess.Popen([NET_PEER], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        listening = json.loads(peer.stdout.readline())
        ssb("gossip.connect", listening["address"])
        calls = {}
        deadline = time.time() + 30
        while time.time() < deadline and not {"gossip.ping", "ebt.replicate"} <= calls.keys():
            event = json.loads(peer.stdout.readline())
            if event["event"] == "call":
                eq(event["from"], f"@{KEY}.ed25519")
                calls[event["name"]] = event
        eq(calls["gossip.ping"]["handled"], True)
        eq(calls["gossip.ping"]["type"], "duplex")
        eq(calls["ebt.replicate"]["handled"], False)  # answered with the unknown-method error
        # the reference measured a round trip on shoal's answer to its ping
        deadline = time.time() + 30
        while True:
            peers = [p for p in ssb("gossip.peers") if p["key"] == listening["id"]]
            if peers and peers[0].get("ping", {}).get("rtt", {}).get("count", 0) >= 1:
                break
            assert time.time() < deadline, peers
            time.sleep(0.5)
        eq(peers[0]["state"], "connected")
    finally:
        peer.send_signal(signal.SIGTERM)
        _, err = peer.communicate(timeout=30)
        eq(peer.returncode, 0, err.decode())
        assert b"ERROR" not in err, err.decode()


@case
def the_server_follows_shoal_and_replicates_its_feed():
    peer = subprocess.Popen([REPL_PEER, "--secret", os.path.join(HOME, "shoal-pub-secret"),
                             "--db", os.path.join(HOME, "shoal-pub.db"), "--publish", "40",
                             "--listen", "--follow", f"@{KEY}.ed25519"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        listening = json.loads(peer.stdout.readline())
        shoal_id = listening["id"]
        ssb("publish", "--type", "contact", "--contact", shoal_id, "--following")
        ssb("gossip.connect", listening["address"])
        deadline = time.time() + 60
        while (ssb("getLatest", shoal_id) or {}).get("value", {}).get("sequence") != 40:
            assert time.time() < deadline, ssb("getLatest", shoal_id)
            time.sleep(0.5)
        # what the reference stored is shoal's feed, message for message
        p = subprocess.run(["node", SSB_BIN, "createHistoryStream", "--id", shoal_id],
                           env=ENV, capture_output=True, timeout=60)
        eq(p.returncode, 0, p.stderr.decode())
        theirs = [m["key"] for m in json_items(p.stdout.decode())]
        rc, out, err = shoal_rpc("--type", "source", listening["address"], "createHistoryStream",
                                 json.dumps({"id": shoal_id}))
        eq(rc, 0, err)
        eq(theirs, [json.loads(line)["key"] for line in out.splitlines()])
        eq(len(theirs), 40)
    finally:
        peer.send_signal(signal.SIGTERM)
        _, err = peer.communicate(timeout=30)
        eq(peer.returncode, 0, err.decode())


if __name__ == "__main__":
    try:
        start_server()
        main("test_ssb_server_interop")
    finally:
        if SERVER:
            SERVER.kill()
            SERVER.wait()
        shutil.rmtree(HOME, ignore_errors=True)

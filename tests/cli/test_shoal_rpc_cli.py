#!/usr/bin/env python3
"""`shoal rpc` against a shoal peer listening on 127.0.0.1 (tests/tools/net-peer): replies and
errors, its identity from a secret file, and each way a connection can fail, with the exit
status the help promises."""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading

from clitest import case, eq, main

SHOAL, NET_PEER = sys.argv[1], sys.argv[2]
PEER = None
LISTENING = {}


def rpc(*args, timeout=60):
    p = subprocess.run([SHOAL, "rpc", *args], capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


@case
def whoami_is_answered_with_the_peers_id():
    rc, out, err = rpc(LISTENING["address"], "whoami")
    eq(rc, 0, err)
    eq(json.loads(out), {"id": LISTENING["id"]})


@case
def the_manifest_lists_what_the_peer_serves():
    rc, out, err = rpc(LISTENING["address"], "manifest")
    eq(rc, 0, err)
    eq(json.loads(out), {"whoami": "async", "gossip": {"ping": "duplex"}, "manifest": "async"})


@case
def an_unknown_method_is_an_error_answer():
    rc, out, err = rpc(LISTENING["address"], "no.such", "1", "two")
    eq(rc, 1, err)
    assert '"message":"no async:no,such"' in err, err


@case
def a_duplex_ends_cleanly_when_the_caller_has_nothing_to_send():
    rc, out, err = rpc("--type", "duplex", LISTENING["address"], "gossip.ping")
    eq((rc, out), (0, ""), err)


@case
def the_identity_comes_from_a_secret_file():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "secret")
        open(path, "w").write("{}")  # not a secret: refused before dialling
        rc, out, err = rpc("--secret", path, LISTENING["address"], "whoami")
        eq(rc, 3, err)
        assert "not an SSB secret file" in err, err


@case
def connection_failures_say_why():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    key = LISTENING["address"].rsplit(":", 1)[1]
    rc, _, err = rpc(f"net:127.0.0.1:{closed_port}~shs:{key}", "whoami")
    eq(rc, 3, err)
    assert "could not connect" in err, err
    # another key than the peer's: it hangs up during the handshake
    wrong = LISTENING["address"].replace(key, "gYCJpN4eGDjHFnWW2Fcusj8O4QYbVDUW6rNYh7nNEnc=")
    rc, _, err = rpc(wrong, "whoami")
    eq(rc, 3, err)
    assert "the peer hung up" in err, err
    # a server that accepts and never speaks
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    held = []
    threading.Thread(target=lambda: held.append(silent.accept()), daemon=True).start()
    rc, _, err = rpc("--timeout", "1500", f"net:127.0.0.1:{silent.getsockname()[1]}~shs:{key}",
                     "whoami")
    eq(rc, 3, err)
    assert "no answer in time" in err, err
    silent.close()


@case
def usage_errors_exit_2():
    for args in ([], ["net:127.0.0.1:1~shs:" + "A" * 43 + "="], ["not an address", "whoami"],
                 ["ws://example.com~shs:" + "A" * 43 + "=", "whoami"],
                 ["--type", "stream", "net:127.0.0.1:1~shs:" + "A" * 43 + "=", "whoami"]):
        rc, _, err = rpc(*args)
        eq(rc, 2, f"{args}: {err}")
    rc, out, _ = rpc("--help")
    eq(rc, 0)
    assert "usage: shoal rpc" in out


if __name__ == "__main__":
    PEER = subprocess.Popen([NET_PEER], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    LISTENING.update(json.loads(PEER.stdout.readline()))
    try:
        main("test_shoal_rpc_cli")
    finally:
        PEER.send_signal(signal.SIGTERM)
        _, err = PEER.communicate(timeout=30)
        if PEER.returncode != 0 or b"ERROR" in err:
            print(f"net-peer did not stop cleanly:\n{err.decode()}")
            sys.exit(1)

#!/usr/bin/env python3
"""`shoal hub` as curl sees it: the bytes a stock HTTP client gets for the status JSON, an event
stream (framing and heartbeat), a broadcast, CORS, 404 and the limits (413, 400, 431)."""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from clitest import case, eq, main  # noqa: E402

SHOAL = sys.argv[1]
HUB = None
URL = ""


def curl(*args, timeout=20):
    p = subprocess.run(["curl", "-sS", "--no-progress-meter", *args], capture_output=True,
                       timeout=timeout)
    return p.returncode, p.stdout


def head_and_body(out):
    head, _, body = out.partition(b"\r\n\r\n")
    return head.split(b"\r\n"), body


def post(path, body):
    rc, out = curl("-i", "--data-binary", body, URL + path)
    eq(rc, 0)
    return head_and_body(out)


@case
def status_json_and_its_headers():
    rc, out = curl("-i", URL + "/")
    eq(rc, 0)
    head, body = head_and_body(out)
    eq(head[0], b"HTTP/1.1 200 OK")
    assert b"Content-Type: application/json; charset=utf-8" in head, head
    assert b"Access-Control-Allow-Origin: *" in head, head
    status = json.loads(body)
    eq((status["name"], status["subscribers"]), ("signalhub", 0))


@case
def an_event_stream_carries_broadcasts_and_heartbeats_framed_as_sse():
    stream = subprocess.Popen(["curl", "-sS", "-N", "-i", "--max-time", "6",
                               URL + "/v1/curlapp/all,me"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL)  # curl says its --max-time ended it
    # the stream is live once the status page counts it: a stream on two channels counts twice,
    # as signalhub counts (on a loaded machine curl takes a while to get there)
    deadline = time.time() + 4
    while json.loads(curl(URL + "/")[1])["subscribers"] != 2:
        assert time.time() < deadline, "the stream never became live"
        time.sleep(0.02)
    head, _ = post("/v1/curlapp/all", b'{"type":"connect","from":"abc"}')
    assert b"X-Shoal-Recipients: 1" in head, head
    post("/v1/curlapp/me", b"one\ntwo")
    head, _ = post("/v1/curlapp/elsewhere", b"nobody")
    assert b"X-Shoal-Recipients: 0" in head, head
    out, _ = stream.communicate(timeout=20)
    head, body = head_and_body(out)
    eq(head[0], b"HTTP/1.1 200 OK")
    for h in (b"Content-Type: text/event-stream; charset=utf-8", b"Cache-Control: no-cache",
              b"Access-Control-Allow-Origin: *"):
        assert h in head, (h, head)
    assert body.endswith(b"\n\n"), body
    events = body[:-2].split(b"\n\n")
    eq([e for e in events if not e.startswith(b":")],
       [b'data: {"type":"connect","from":"abc"}', b"data: one\ndata: two"])
    # the hub runs with a 1 s heartbeat, the stream lasts 6 s
    assert events.count(b":heartbeat signal") >= 2, events


@case
def cors_preflight_and_not_found():
    rc, out = curl("-i", "-X", "OPTIONS", "-H", "Origin: https://app.example",
                   "-H", "Access-Control-Request-Method: POST", URL + "/v1/curlapp/all")
    head, _ = head_and_body(out)
    eq(head[0], b"HTTP/1.1 200 OK")
    assert b"Access-Control-Allow-Methods: GET, POST, PUT, DELETE" in head, head
    for path in ("/nope", "/v2/app/ch"):
        rc, out = curl("-o", "/dev/null", "-w", "%{http_code}", URL + path)
        eq(out, b"404", path)


@case
def limits_answer_with_their_status():
    code = lambda *a: curl("-o", "/dev/null", "-w", "%{http_code}", *a)[1]  # noqa: E731
    eq(code("--data-binary", "x" * 2000, URL + "/v1/curlapp/all"), b"413")
    eq(code(URL + "/v1/curlapp/a\"b"), b"400")
    channels = lambda n: URL + "/v1/curlapp/" + ",".join(f"c{i}" for i in range(n))  # noqa
    eq(code(channels(65)), b"400")  # more channels than one stream may hold
    eq(code(channels(5000)), b"431")  # a request line longer than any head may be
    eq(code("-H", "X-Big: " + "y" * 70000, URL + "/"), b"431")
    # and the hub still serves everyone else
    eq(code(URL + "/"), b"200")


@case
def ice_options_are_checked_before_the_hub_starts():
    """--stun and --turn take URLs of their kind; TURN needs the secret shared with it; and a
    hub without them answers GET /v1/ice 404."""
    eq(curl("-o", "/dev/null", "-w", "%{http_code}", URL + "/v1/ice")[1], b"404")
    secret = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"shoal-turn-secret-{os.getpid()}")
    with open(secret, "w") as f:
        f.write("s3cret\nignored\n")
    try:
        for args, why in [
            (["--stun", "turn:10.0.0.1"], "not a STUN URL"),
            (["--turn", "stun:10.0.0.1"], "not a TURN URL"),
            (["--turn", "turn:10.0.0.1?transport=sctp"], "not a STUN or TURN URL"),
            (["--turn", "turn:10.0.0.1"], "TURN servers need the secret"),
            (["--turn-secret-file", secret + ".missing"], "No such file"),
            (["--ice-ttl", "10", "--turn-secret-file", secret], "--ice-ttl needs a valid value"),
        ]:
            p = subprocess.run([SHOAL, "hub", "--listen", "127.0.0.1:0", *args],
                               capture_output=True, timeout=20)
            eq(p.returncode, 2)
            assert why in p.stderr.decode(), p.stderr.decode()
    finally:
        os.remove(secret)


if __name__ == "__main__":
    HUB = subprocess.Popen([SHOAL, "hub", "--listen", "127.0.0.1:0", "--heartbeat", "1000",
                            "--max-body", "1024"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    URL = HUB.stdout.readline().decode().split(" ")[-1].strip()
    try:
        main("test_shoal_hub_curl")
    finally:
        HUB.send_signal(signal.SIGTERM)
        _, err = HUB.communicate(timeout=20)
        if HUB.returncode != 0 or b"ERROR" in err:  # a sanitizer report fails the run
            print(f"hub did not stop cleanly:\n{err.decode()}")
            sys.exit(1)

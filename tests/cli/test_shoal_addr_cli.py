#!/usr/bin/env python3
"""`shoal addr` prints one JSON line per argument, with the right type, canonical form and
fields, or the reason the argument is invalid; its exit status says whether all were valid."""
import json
import subprocess
import sys

from clitest import case, eq, main

SHOAL = sys.argv[1]
KEY = "gYCJpN4eGDjHFnWW2Fcusj8O4QYbVDUW6rNYh7nNEnc="


def run(*args, stdin=None):
    """Runs `shoal addr ARGS…` and returns its status, parsed output lines and stderr."""
    p = subprocess.run([SHOAL, "addr", *args], input=stdin, capture_output=True, timeout=30)
    lines = [json.loads(l) for l in p.stdout.decode().splitlines()]
    return p.returncode, lines, p.stderr.decode()


@case
def ids_are_explained():
    rc, out, _ = run(f"@{KEY}.ed25519", "%pGzeEydYdHjKW1iIchR0Yumydsr3QSp8+FuYcwVwi8Q=.sha256")
    eq(rc, 0)
    eq(out[0]["type"], "feed")
    eq(out[0]["key"], KEY)
    eq(out[0]["canonical"], f"@{KEY}.ed25519")
    eq(out[1]["type"], "msg")


@case
def hub_addresses_get_one_canonical_form():
    rc, out, _ = run("hub.example.com", "HTTPS://Hub.Example.com:443/", "http://127.0.0.1:9000/")
    eq(rc, 0)
    for o in out[:2]:
        eq(o["type"], "hub")
        eq(o["canonical"], "https://hub.example.com")
        eq(o["rtc"], "rtc:hub.example.com:443")
        eq(o["port"], 443)
        eq(o["tls"], True)
    eq(out[2]["canonical"], "http://127.0.0.1:9000")
    eq(out[2]["rtc"], "rtc:127.0.0.1:9000:http")
    eq(out[2]["host_type"], "ipv4")


@case
def multiserver_addresses_are_typed():
    addr = f"net:145.12.20.3:8080~shs:{KEY};rtc:hub.example.com:443~shs:{KEY}~gzip"
    rc, out, _ = run(addr)
    eq(rc, 0)
    o = out[0]
    eq(o["type"], "multiserver")
    eq(o["canonical"], addr)
    eq(o["ssb"], True)
    net, shs = o["addresses"][0]["protocols"]
    eq(net, {"name": "net", "host": "145.12.20.3", "host_type": "ipv4", "port": 8080})
    eq(shs["feed"], f"@{KEY}.ed25519")
    rtc, _, gzip = o["addresses"][1]["protocols"]
    eq(rtc["hub"], "https://hub.example.com")
    eq(gzip, {"name": "gzip", "known": False, "fields": []})


@case
def invalid_input_says_why_and_exits_1():
    rc, out, _ = run("hub.example.com:99999", "ftp://x.org", f"@{KEY}.sha256", "net:h.com:1~")
    eq(rc, 1)
    eq([o["valid"] for o in out], [False] * 4)
    eq(out[0]["code"], "ADDR_PORT")
    eq(out[0]["offset"], 16)
    eq(out[0]["error"], "the port must be a number from 1 to 65535")
    eq(out[1]["code"], "ADDR_SCHEME")
    eq(out[2]["code"], "ID_SUFFIX")
    eq(out[3]["code"], "MS_EMPTY")
    eq(out[3]["offset"], 12)


@case
def typed_errors_name_the_protocol_and_field():
    rc, out, _ = run(f"net:h.com:1~shs:{KEY}:notaseed")
    eq(rc, 1)
    eq(out[0]["code"], "MS_SHS_KEY")
    eq((out[0]["address"], out[0]["protocol"], out[0]["field"]), (0, 1, 1))


@case
def one_invalid_argument_does_not_hide_the_others():
    rc, out, _ = run("hub.example.com", "bad host", "hub2.example.com")
    eq(rc, 1)
    eq([o["valid"] for o in out], [True, False, True])


@case
def lines_come_from_stdin_without_arguments():
    rc, out, _ = run(stdin=b"hub.example.com\r\nnet:h.com:1~shs:x\n\xff\xfe\n")
    eq(rc, 1)
    eq(len(out), 3)
    eq(out[0]["valid"], True)
    eq(out[1]["code"], "MS_SHS_KEY")
    eq(out[2]["input"], "\ufffd\ufffd")  # not UTF-8: echoed with replacement characters
    eq(out[2]["valid"], False)


@case
def help_and_usage_errors():
    p = subprocess.run([SHOAL, "addr", "--help"], capture_output=True)
    eq(p.returncode, 0)
    assert b"exit status" in p.stdout
    p = subprocess.run([SHOAL, "addr", "--bogus"], capture_output=True)
    eq(p.returncode, 2)
    assert b"usage: shoal addr" in p.stderr
    p = subprocess.run([SHOAL, "frobnicate"], capture_output=True)
    eq(p.returncode, 2)
    assert b"unknown command" in p.stderr
    p = subprocess.run([SHOAL, "--version"], capture_output=True)
    eq(p.returncode, 0)
    assert p.stdout.startswith(b"shoal ")


if __name__ == "__main__":
    main("test_shoal_addr_cli")

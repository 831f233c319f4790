#!/usr/bin/env python3
"""`meson install` into a scratch root, and the installed pieces used as a user would: the
binary answers --version and runs its daemon (status over the control socket), the man page
renders, the pkg-config file names libshoal and the headers it installed are there, and the
systemd units start the installed binary. Then the README's walkthrough ("Two peers on one
machine, by hand"), read from README.md and run line for line by bash on the installed binaries:
a hub, your daemon and a friend's meet, the friend follows you and holds your message. Its first
line, `meson install`, is the install above (into a scratch root, with its bin on PATH, rather
than into /usr/local). In a network namespace with a veth pair, as WebRTC gathers on every
interface."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from clitest import case, eq, isolate_network, main  # noqa: E402

BUILD = os.path.abspath(sys.argv[1])
ROOT = tempfile.mkdtemp(prefix="shoal-install-")
PREFIX = json.loads(subprocess.run(["meson", "introspect", "--buildoptions", BUILD],
                                   capture_output=True, check=True).stdout)
PREFIX = next(o["value"] for o in PREFIX if o["name"] == "prefix")
STAGED = ROOT + PREFIX


def find(name):
    for base, _, files in os.walk(STAGED):
        if name in files:
            return os.path.join(base, name)
    raise AssertionError(f"{name} was not installed")


@case
def meson_install_puts_everything_in_place():
    p = subprocess.run(["meson", "install", "--no-rebuild", "--quiet", "-C", BUILD,
                        "--destdir", ROOT], capture_output=True, timeout=300)
    eq(p.returncode, 0, p.stderr.decode())
    for name in ["shoal", "libshoal.a", "shoal.pc", "shoal.1", "shoal.service",
                 "shoal-hub.service", "config.h", "node.h", "repl.h"]:
        find(name)


@case
def the_installed_binary_runs_its_daemon():
    shoal = find("shoal")
    p = subprocess.run([shoal, "--version"], capture_output=True, timeout=30)
    eq(p.returncode, 0, p.stderr.decode())
    assert b"signalling protocol" in p.stdout, p.stdout
    home = os.path.join(ROOT, "home")
    env = dict(os.environ, HOME=ROOT, SHOAL_HOME=home)
    os.makedirs(home)
    with open(os.path.join(home, "config.json"), "w") as f:
        f.write('{"listen": "127.0.0.1:0", "statusPort": 0}')
    d = subprocess.Popen([shoal, "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert b"running as @" in d.stdout.readline()
        p = subprocess.run([shoal, "status", "--json"], env=env, capture_output=True, timeout=30)
        eq(p.returncode, 0, p.stderr.decode())
        assert json.loads(p.stdout)["net"].startswith("net:127.0.0.1:"), p.stdout
    finally:
        d.send_signal(signal.SIGTERM)
        _, err = d.communicate(timeout=30)
    eq(d.returncode, 0, err.decode())


@case
def the_man_page_the_pkg_config_file_and_the_units():
    page = find("shoal.1")
    p = subprocess.run(["groff", "-man", "-Tascii", "-P-cbou", "-ww", page], capture_output=True,
                       timeout=30)  # groff-base: scripts/setup-debian
    eq(p.returncode, 0, p.stderr.decode())
    eq(p.stderr, b"")  # -ww: no warning either
    assert b"shoal run" in p.stdout and b"CONFIGURATION" in p.stdout, p.stdout[:300]
    pc = open(find("shoal.pc")).read()
    assert "Libs: -L${libdir} -lshoal" in pc and "Name: shoal" in pc, pc
    unit = open(find("shoal.service")).read()
    assert f"ExecStart={PREFIX}/bin/shoal run" in unit, unit
    assert "ExecStart=" in open(find("shoal-hub.service")).read()


def walkthrough():
    """The README's walkthrough: its lines, each with its comment taken off."""
    readme = open(os.path.join(os.path.dirname(__file__), "..", "..", "README.md")).read()
    block = readme.split("### Two peers on one machine, by hand", 1)[1]
    block = block.split("```sh\n", 1)[1].split("```", 1)[0]
    return [re.sub(r"\s+# .*$", "", line) for line in block.splitlines() if line.strip()]


# What a user sees from the lines that tell something, once it has happened (they retry, as a
# user who reads "a moment later" would, for up to a minute).
EXPECTED = {
    "shoal hub &": "listening on http://127.0.0.1:9000",
    "shoal run &": "running as @",
    "HOME=~/friend shoal run &": "running as @",
    "shoal feed": "hello, shoal",
    "HOME=~/friend shoal feed $(shoal whoami)": "hello, shoal",
    "shoal peers": " connected     rtc",
}


@case
def the_readme_walkthrough_runs_as_written():
    lines = walkthrough()
    eq(lines[0], "meson setup build && meson install -C build")  # done: the first case
    missing = [line for line in EXPECTED if line not in lines]
    eq(missing, [])  # the README and this test tell the same story
    user = os.path.join(ROOT, "user")
    os.makedirs(user)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOAL_")}
    env.update(HOME=user, PATH=os.path.dirname(find("shoal")) + ":" + env["PATH"])
    background = []
    try:
        for line in lines[1:]:
            if line.endswith("&"):
                p = subprocess.Popen(["bash", "-c", line[:-1]], env=env, cwd=user,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     start_new_session=True)
                background.append((line, p))
                first = p.stdout.readline().decode()
                assert EXPECTED[line] in first, (line, first, p.stderr.read1().decode())
                continue
            deadline = time.time() + 60
            while True:
                p = subprocess.run(["bash", "-c", line], env=env, cwd=user,
                                   capture_output=True, timeout=60)
                out = p.stdout.decode()
                if p.returncode == 0 and EXPECTED.get(line, "") in out:
                    break
                assert time.time() < deadline, (line, p.returncode, out, p.stderr.decode())
                time.sleep(0.5)
        # the friend follows you: its contact message names your feed
        you = subprocess.run(["shoal", "whoami"], env=env, capture_output=True).stdout.strip()
        friend = dict(env, HOME=os.path.join(user, "friend"))
        feed = json.loads(subprocess.run(["shoal", "feed", "--json"], env=friend,
                                         capture_output=True).stdout)
        eq(feed["messages"][-1]["content"]["contact"], you.decode())
    finally:
        for line, p in reversed(background):  # Ctrl-C in each terminal
            os.killpg(p.pid, signal.SIGINT)
            _, err = p.communicate(timeout=30)
            eq(p.returncode, 0, (line, err.decode()))


if __name__ == "__main__":
    isolate_network(veth=True)
    try:
        main("test_install")
    finally:
        shutil.rmtree(ROOT, ignore_errors=True)

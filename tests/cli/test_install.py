#!/usr/bin/env python3
"""`meson install` into a scratch root, and the installed pieces used as a user would: the
binary answers --version and runs its daemon (status over the control socket), the man page
renders, the pkg-config file names libshoal and the headers it installed are there, and the
systemd units start the installed binary."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from clitest import case, eq, main  # noqa: E402

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


if __name__ == "__main__":
    try:
        main("test_install")
    finally:
        shutil.rmtree(ROOT, ignore_errors=True)

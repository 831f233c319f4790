#!/usr/bin/env python3
"""`shoal sim` prints one JSON summary, the same for the same options, exits 0 when no invariant
was violated, and refuses bad options with exit status 2."""
import json
import subprocess
import sys

from clitest import case, eq, main

SHOAL = sys.argv[1]


def sim(*args):
    return subprocess.run([SHOAL, "sim", *args], capture_output=True, timeout=120)


@case
def a_run_prints_a_summary_and_repeats_exactly():
    args = ["--peers", "20", "--hubs", "2", "--duration", "30m", "--seed", "7", "--churn", "0.2"]
    a, b = sim(*args), sim(*args)
    eq(a.returncode, 0, a.stderr)
    eq(a.stdout, b.stdout)
    report = json.loads(a.stdout)
    eq(report["peers"], 20)
    eq(report["duration_s"], 1800)
    eq(report["invariant_violations"]["total"], 0)
    for key in ("dials", "failures", "cuts", "rotations", "trims", "forgotten"):
        assert key in report["totals"], key
    assert report["time_to_first_connection_ms"]["connected"] > 0


@case
def the_backoff_formula_can_be_chosen():
    report = json.loads(sim("--peers", "10", "--duration", "10m", "--backoff", "ssb-conn").stdout)
    eq(report["backoff"], "ssb-conn")


@case
def negotiate_runs_the_negotiation_core_and_counts_it():
    p = sim("--peers", "12", "--negotiate", "--duration", "20m", "--seed", "3")
    eq(p.returncode, 0, p.stderr)
    report = json.loads(p.stdout)
    for key in ("signals_dropped", "offers_turned_away", "busy", "negotiations_failed",
                "connections", "glare", "offers_over_cap", "outbox_overflows"):
        assert key in report["negotiation"], key
    assert report["negotiation"]["connections"] > 0
    eq(report["invariant_violations"]["total"], 0)
    eq(report["invariant_violations"]["two_current"], 0)
    assert "negotiation" not in json.loads(sim("--peers", "12", "--duration", "20m").stdout)


@case
def bad_options_are_usage_errors():
    for args in (["--peers"], ["--peers", "ten"], ["--duration", "5x"], ["--bogus", "1"],
                 ["--hubs", "2", "--dead-hubs", "3"], ["--connect-failure", "2"],
                 ["--backoff", "fast"], ["--peers", "-3"]):
        p = sim(*args)
        eq(p.returncode, 2, f"{args}: {p.stderr}")
        assert p.stderr, args
        eq(p.stdout, b"")


@case
def help_describes_every_option():
    p = sim("--help")
    eq(p.returncode, 0)
    for opt in (b"--peers", b"--hubs", b"--duration", b"--seed", b"--churn", b"--resets",
                b"--flaky-hubs", b"--dead-hubs", b"--backoff", b"--fanout", b"--negotiate"):
        assert opt in p.stdout, opt


if __name__ == "__main__":
    main("test_shoal_sim_cli")

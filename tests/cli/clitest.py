"""A tiny harness for the command-line tests: cases are registered with @case, failed checks
say both values, and the run ends with the summary line scripts/test-summary reads."""
import subprocess
import sys

CASES = []


def case(fn):
    CASES.append(fn)
    return fn


def eq(left, right, what=""):
    assert left == right, f"{what}\n    left:  {left!r}\n    right: {right!r}"


def main(name):
    passed = failed = 0
    for fn in CASES:
        try:
            fn()
            passed += 1
            print(f"ok - {fn.__name__}")
        except (AssertionError, ValueError, KeyError, subprocess.TimeoutExpired) as e:
            failed += 1
            print(f"not ok - {fn.__name__}\nFAIL {e}")
    print(f"# {name}: {passed} passed, {failed} failed")
    sys.exit(0 if failed == 0 and passed > 0 else 1)

#!/usr/bin/env python3
"""Runs the catalogue of make_malformed.py (issue 13, item 8).

  check_malformed.py OUT/cases.json GOOD.hfp [-v] [NAME...]

Each case's setup commands must succeed. Then an error case must exit with
a status from 1 to 127 (not a signal, not a sanitizer's abort), print
exactly one line on stderr, and that line must contain the case's expected
text; a case without an expected text (a valid input that once crashed a
tool) must exit 0. In either, a report of AddressSanitizer,
LeakSanitizer or UndefinedBehaviorSanitizer (an ASan build of the tools,
tools/sanitize.sh) is a failure. Prints one line per case that fails, then
a summary; exits 1 if any failed. NAMEs run only those cases.
"""
import json
import subprocess
import sys

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "UndefinedBehaviorSanitizer")


def run(command):
    try:
        return subprocess.run(command, capture_output=True, timeout=120,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return None


def main():
    args = [a for a in sys.argv[1:] if a != "-v"]
    verbose = "-v" in sys.argv[1:]
    cases_path, good, only = args[0], args[1], set(args[2:])
    with open(cases_path) as f:
        cases = json.load(f)
    if only:
        cases = [c for c in cases if c["name"] in only]
    failures = 0
    for case in cases:
        def expand(command):
            return [good if a == "{good}" else a for a in command]
        problem = None
        for setup in case.get("setup", []):
            done = run(expand(setup))
            if done is None or done.returncode != 0:
                problem = "setup %s failed: %s" % (
                    " ".join(setup[:2]),
                    "timed out" if done is None else
                    done.stderr.decode("utf-8", "replace")[:300])
                break
        result = None
        if not problem:
            result = run(expand(case["command"]))
            if result is None:
                problem = "timed out"
        lines = []
        if result is not None:
            stderr = result.stderr.decode("utf-8", "replace")
            lines = stderr.splitlines()
            if any(mark in stderr for mark in SANITIZER_MARKS):
                problem = "sanitizer report"
            elif case["expect"] is None:
                if result.returncode != 0:
                    problem = "exit status %d, expected success" % (
                        result.returncode)
            elif not 0 < result.returncode < 128:
                problem = "exit status %d" % result.returncode
            elif len(lines) != 1:
                problem = "%d lines on stderr" % len(lines)
            elif case["expect"] not in lines[0]:
                problem = "expected %r" % case["expect"]
        if problem:
            failures += 1
            print("FAIL %s: %s: %s" % (case["name"], problem,
                                       " | ".join(lines)[:400]))
        elif verbose:
            print("ok   %s: %s" % (case["name"],
                                   lines[0] if case["expect"] else "runs"))
    print("%d cases, %d failed" % (len(cases), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

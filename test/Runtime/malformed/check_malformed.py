#!/usr/bin/env python3
"""Runs the catalogue of make_malformed.py (issue 13, item 8).

  check_malformed.py OUT/cases.json GOOD.hfp

Each case must exit with a status from 1 to 127 (not a signal, not a
sanitizer's abort), print exactly one line on stderr, and that line must
contain the case's expected text. Prints one line per case that does not,
then a summary; exits 1 if any failed.
"""
import json
import subprocess
import sys


def main():
    cases_path, good = sys.argv[1], sys.argv[2]
    with open(cases_path) as f:
        cases = json.load(f)
    failures = 0
    for case in cases:
        command = [good if a == "{good}" else a for a in case["command"]]
        try:
            run = subprocess.run(command, capture_output=True, timeout=120,
                                 stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            print("FAIL %s: timed out" % case["name"])
            failures += 1
            continue
        stderr = run.stderr.decode("utf-8", "replace")
        lines = stderr.splitlines()
        problem = None
        if not 0 < run.returncode < 128:
            problem = "exit status %d" % run.returncode
        elif len(lines) != 1:
            problem = "%d lines on stderr" % len(lines)
        elif case["expect"] not in lines[0]:
            problem = "expected %r" % case["expect"]
        if problem:
            failures += 1
            print("FAIL %s: %s: %s" % (case["name"], problem,
                                       " | ".join(lines)[:400]))
        elif "-v" in sys.argv:
            print("ok   %s: %s" % (case["name"], lines[0]))
    print("%d cases, %d failed" % (len(cases), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

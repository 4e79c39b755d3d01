#!/usr/bin/env python3
"""Copy rule files with short `for:` durations and rate windows, for tests that
run a real Prometheus with short scrape and evaluation intervals (the
end-to-end test): production values (for: 5m, rate windows of minutes) would
make such a test wait many minutes for an alert to fire and to resolve.

    shorten_rules.py --for 10s --window 15s SRC.yml... DEST_DIR
    shorten_rules.py --self-test

Rewrites, line by line (the rule files keep both in a fixed form):
  - every `for: <duration>` line to `for: <--for>`;
  - with --window, every range written in minutes, `[<N>m]`, to `[<--window>]`
    (ranges in hours or days, such as the probe baseline's [1d], are kept).
Choose --window of at least two scrape intervals, so rate() has two samples.
Standard library only; --self-test also needs promtool.
"""
import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FOR_LINE = re.compile(r"^(\s*for:\s*)(\S+)(\s*)$")
MINUTE_RANGE = re.compile(r"\[(\d+)m\]")
DURATION = re.compile(r"(\d+(ms|s|m|h|d))+")


def shorten(text, for_, window):
    out, n_for, n_win = [], 0, 0
    for line in text.splitlines(keepends=True):
        m = FOR_LINE.match(line.rstrip("\n"))
        if m:
            line = "%s%s%s\n" % (m.group(1), for_, m.group(3))
            n_for += 1
        elif window:
            line, n = MINUTE_RANGE.subn("[%s]" % window, line)
            n_win += n
        out.append(line)
    return "".join(out), n_for, n_win


def self_test():
    sources = sorted(glob.glob(os.path.join(ROOT, "alerts", "*.rules.yml")))
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        written = []
        for src in sources:
            with open(src) as f:
                text = f.read()
            short, n_for, n_win = shorten(text, "10s", "15s")
            alerts = len(re.findall(r"^\s*- alert:", text, re.M))
            if n_for != alerts:
                problems.append("%s: rewrote %d for: lines, file has %d alerts" % (src, n_for, alerts))
            if re.search(r"^\s*for:(?!\s*10s\s*$)", short, re.M) or MINUTE_RANGE.search(short):
                problems.append("%s: a for: or minute range was left unchanged" % src)
            dest = os.path.join(tmp, os.path.basename(src))
            with open(dest, "w") as f:
                f.write(short)
            written.append(dest)
            print("%s: %d for: lines, %d ranges shortened" % (os.path.relpath(src, ROOT), n_for, n_win))
        r = subprocess.run(["promtool", "check", "rules"] + written, capture_output=True, text=True)
        if r.returncode != 0:
            problems.append("promtool check rules on the shortened copies failed:\n" + r.stdout + r.stderr)
    for p in problems:
        print("FAIL: " + p)
    return 1 if problems or not sources else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--for", dest="for_", default="10s", help="new for: duration (default 10s)")
    ap.add_argument("--window", default="", help="new range for [<N>m] windows (default: keep)")
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("paths", nargs="*", help="rule files, then the destination directory")
    a = ap.parse_args()
    if a.self_test:
        return self_test()
    if len(a.paths) < 2 or not os.path.isdir(a.paths[-1]):
        ap.error("give rule files and an existing destination directory")
    for d in (a.for_, a.window):
        if d and not DURATION.fullmatch(d):
            ap.error("not a Prometheus duration: %r" % d)
    for src in a.paths[:-1]:
        with open(src) as f:
            short, _, _ = shorten(f.read(), a.for_, a.window)
        with open(os.path.join(a.paths[-1], os.path.basename(src)), "w") as f:
            f.write(short)
    return 0


if __name__ == "__main__":
    sys.exit(main())

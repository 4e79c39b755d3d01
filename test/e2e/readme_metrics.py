#!/usr/bin/env python3
"""The README's metric table must list exactly the metrics the agent exports.

The golden /metrics file (test/golden/metrics_netns.prom, checked against the
real agent by golden_metrics.py) declares every family with HELP/TYPE even
when it has no samples, so its family names are the agent's whole surface.
Types must agree too.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    exported = {}
    with open(os.path.join(ROOT, "test", "golden", "metrics_netns.prom")) as f:
        for line in f:
            m = re.match(r"# TYPE (\S+) (\S+)", line)
            if m:
                exported[m.group(1)] = m.group(2)
    documented = {}
    with open(os.path.join(ROOT, "README.md")) as f:
        for line in f:
            m = re.match(r"\| `(ibpath_[a-z0-9_]+)` \| (\w+) \|", line)
            if m:
                documented[m.group(1)] = m.group(2)
    problems = []
    for name in sorted(set(exported) - set(documented)):
        problems.append(f"exported but not in the README: {name}")
    for name in sorted(set(documented) - set(exported)):
        problems.append(f"in the README but not exported: {name}")
    for name in sorted(set(exported) & set(documented)):
        if exported[name] != documented[name]:
            problems.append(f"{name}: README says {documented[name]}, agent says {exported[name]}")
    if not exported or not documented:
        problems.append("found no metrics to compare")
    for p in problems:
        print("FAIL: " + p)
    if not problems:
        print(f"README metric table matches the agent: {len(exported)} metrics")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

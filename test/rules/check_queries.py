#!/usr/bin/env python3
"""Every PromQL expression in alerts/*.yml and dashboards/*.json names only
metrics the agent exports, and parses.

  check_queries.py names     metric names: each must be in the golden /metrics
                             files (test/golden/metrics*.prom), in the allow-list
                             alerts/pending_metrics.txt, or (names with a colon)
                             be a recording rule defined in alerts/*.yml
  check_queries.py promql    every dashboard expression (Grafana variables
                             replaced) put into a temporary rule file and checked
                             with `promtool check rules`, so a syntax error fails
  check_queries.py runbook   every alert has a runbook_url whose anchor is a
                             heading of docs/runbook.md, and every alert heading
                             there belongs to an alert

Prints, for every name, which list it matched. Standard library plus
python3-yaml (Debian). Exit 1 on any failure.
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RULE_FILES = sorted(glob.glob(os.path.join(ROOT, "alerts", "*.yml")))
DASHBOARDS = sorted(glob.glob(os.path.join(ROOT, "dashboards", "*.json")))
GOLDEN = sorted(glob.glob(os.path.join(ROOT, "test", "golden", "metrics*.prom")))
ALLOW_LIST = os.path.join(ROOT, "alerts", "pending_metrics.txt")
RUNBOOK = os.path.join(ROOT, "docs", "runbook.md")
PROMTOOL = os.environ.get("PROMTOOL", "promtool")

KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
            "group_left", "group_right", "inf", "nan", "atan2"}
GRAFANA_VARS = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h"}


def rel(path):
    return os.path.relpath(path, ROOT)


# --- sources of truth -------------------------------------------------------

def golden_names():
    names = {}
    for path in GOLDEN:
        with open(path) as f:
            for line in f:
                m = re.match(r"# TYPE (\S+) (\S+)", line)
                if m:
                    name, typ = m.groups()
                    names[name] = rel(path)
                    if typ in ("histogram", "summary"):
                        for suffix in ("_bucket", "_sum", "_count"):
                            names[name + suffix] = rel(path)
                m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]", line)
                if m and not line.startswith("#"):
                    names.setdefault(m.group(1), rel(path))
    return names


def allow_list():
    entries, problems = {}, []
    with open(ALLOW_LIST) as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) != 2 or not re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", parts[0]) \
                    or not re.fullmatch(r"prometheus|issue-\d+", parts[1]):
                problems.append("%s:%d: expected '<metric> <prometheus|issue-N>', got %r"
                                % (rel(ALLOW_LIST), n, line))
                continue
            entries[parts[0]] = parts[1]
    return entries, problems


def rules():
    """-> (recording rule names, [(where, expr)], [alert rule dicts])"""
    recorded, exprs, alerts = set(), [], []
    for path in RULE_FILES:
        with open(path) as f:
            doc = yaml.safe_load(f)
        for group in doc.get("groups", []):
            for rule in group.get("rules", []):
                name = rule.get("record") or rule.get("alert")
                exprs.append(("%s: %s" % (rel(path), name), str(rule["expr"])))
                if "record" in rule:
                    recorded.add(rule["record"])
                else:
                    alerts.append(dict(rule, file=rel(path)))
    return recorded, exprs, alerts


def dashboard_exprs():
    """-> [(where, expr, kind)] with kind 'expr' or 'selector' (variable queries)."""
    out = []

    def walk(node, where):
        if isinstance(node, dict):
            if node.get("type") and (node.get("title") or node.get("name")):
                where = "%s [%s]" % (where.split(" [")[0], node.get("title") or node.get("name"))
            for key, value in node.items():
                if key == "expr" and isinstance(value, str):
                    out.append((where, value, "expr"))
                elif key == "definition" and isinstance(value, str):
                    m = re.fullmatch(r"\s*label_values\((.*),\s*\w+\s*\)\s*", value, re.S)
                    if m:
                        out.append((where, m.group(1), "selector"))
                    elif value.strip():
                        out.append((where, value, "expr"))
                else:
                    walk(value, where)
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    for path in DASHBOARDS:
        with open(path) as f:
            walk(json.load(f), rel(path))
    return out


# --- PromQL -----------------------------------------------------------------

def metric_names(expr):
    """Metric names an expression selects. Raises ValueError for a name given
    by a regular expression (cannot be checked)."""
    names = set()
    for m in re.finditer(r'__name__\s*(=~|!=|!~|=)\s*"((?:[^"\\]|\\.)*)"', expr):
        if m.group(1) != "=":
            raise ValueError("__name__%s\"%s\": a metric name by regex cannot be checked"
                             % (m.group(1), m.group(2)))
        names.add(m.group(2))
    s = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)  # strings
    s = re.sub(r"\{[^}]*\}", " ", s)                                          # matchers
    s = re.sub(r"\[[^\]]*\]", " ", s)                                         # ranges
    s = re.sub(r"\$\{?\w+(?::\w+)?\}?", " ", s)                               # Grafana vars
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    s = re.sub(r"(?<![A-Za-z0-9_:])[0-9.][0-9A-Za-z_.+]*", " ", s)            # numbers, durations
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", s):
        token = m.group(0)
        rest = s[m.end():].lstrip()
        if rest.startswith("("):
            continue  # function or aggregation
        if token.lower() in KEYWORDS:
            continue
        names.add(token)
    return names


SELF_TEST = [
    ('sum by (instance, device) (rate(a_total{job=~"$job",x="b:c"}[$__rate_interval]))', {"a_total"}),
    ("x * on (job, instance) group_left (transport) group without (kind) (y) > 1e9", {"x", "y"}),
    ('count(b offset 5m > 0.5) or vector(0) unless on() c:d:e', {"b", "c:d:e"}),
    ('{__name__="n"} + quantile_over_time(0.5, m[1d:5m]) and bool_metric', {"n", "m", "bool_metric"}),
    ('label_replace(increase(p_total[10m]), "counter", "q", "", "") > 0', {"p_total"}),
]


def self_test():
    """The name extractor on known expressions: a broken tokenizer must not pass silently."""
    problems = []
    for expr, want in SELF_TEST:
        got = metric_names(expr)
        if got != want:
            problems.append("metric name extractor: %r gave %s, want %s" % (expr, sorted(got), sorted(want)))
    return problems


def for_promtool(expr):
    for var, value in GRAFANA_VARS.items():
        expr = expr.replace("${%s}" % var, value).replace("$" + var, value)
    return expr


# --- checks -----------------------------------------------------------------

def check_names():
    golden = golden_names()
    allowed, problems = allow_list()
    problems += self_test()
    recorded, rule_exprs, _ = rules()
    exprs = [(w, e) for w, e in rule_exprs] + [(w, e) for w, e, _ in dashboard_exprs()]
    if not golden:
        problems.append("no golden metrics files under test/golden/")
    used = {}
    for where, expr in exprs:
        try:
            found = metric_names(expr)
        except ValueError as e:
            problems.append("%s: %s" % (where, e))
            continue
        if not found and "vector(" not in expr:
            problems.append("%s: found no metric name in %r" % (where, expr))
        for name in found:
            used.setdefault(name, []).append(where)
    for name in sorted(used):
        if ":" in name:
            if name in recorded:
                print("ok   %-55s recording rule in alerts/" % name)
            else:
                problems.append("%s: not a recording rule defined in alerts/ (used in %s)"
                                % (name, "; ".join(used[name])))
        elif name in golden:
            print("ok   %-55s golden %s" % (name, golden[name]))
        elif name in allowed:
            print("ok   %-55s allow-list %s (%s)" % (name, rel(ALLOW_LIST), allowed[name]))
        else:
            problems.append("%s: neither in %s nor in %s (used in %s)"
                            % (name, ", ".join(rel(g) for g in GOLDEN), rel(ALLOW_LIST),
                               "; ".join(used[name])))
    for name in sorted(allowed):
        if allowed[name] != "prometheus" and name in golden:
            print("NOTE %s is now exported (%s): remove it from %s" % (name, golden[name], rel(ALLOW_LIST)))
        elif name not in used:
            print("NOTE %s in %s is used by no rule or dashboard" % (name, rel(ALLOW_LIST)))
    print("%d expressions, %d metric names" % (len(exprs), len(used)))
    return problems


def check_promql():
    problems = []
    rules_out = []
    for where, expr, _ in dashboard_exprs():
        e = for_promtool(expr)
        if "$" in re.sub(r'"(?:[^"\\]|\\.)*"', '""', e):
            problems.append("%s: Grafana variable outside a string left in %r" % (where, e))
            continue
        rules_out.append({"record": "dashboard_expr_%d" % len(rules_out), "expr": e,
                          "labels": {"where": where[:200]}})
    if not rules_out:
        problems.append("found no dashboard expressions")
        return problems
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "dashboard-exprs.yml")
        with open(path, "w") as f:
            yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules_out}]}, f, width=1000)
        r = subprocess.run([PROMTOOL, "check", "rules", path], capture_output=True, text=True)
        print(r.stdout.strip())
        if r.returncode != 0:
            problems.append("promtool check rules on the dashboard expressions failed:\n" + r.stderr)
            for i in sorted({int(n) for n in re.findall(r"dashboard_expr_(\d+)", r.stderr)}):
                problems.append("%s: %s" % (rules_out[i]["labels"]["where"], rules_out[i]["expr"]))
    print("%d dashboard expressions parsed by promtool" % len(rules_out))
    return problems


def slug(heading):
    """GitHub's anchor for a Markdown heading."""
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def check_runbook():
    problems = []
    _, _, alerts = rules()
    with open(RUNBOOK) as f:
        headings = [m.group(1) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*$", f.read(), re.M)]
    anchors = {slug(h) for h in headings}
    names = set()
    for a in alerts:
        name = a["alert"]
        names.add(name)
        url = a.get("annotations", {}).get("runbook_url", "")
        for key in ("summary", "description", "runbook_url"):
            if not a.get("annotations", {}).get(key):
                problems.append("%s: %s has no %s annotation" % (a["file"], name, key))
        if a.get("labels", {}).get("severity") not in ("critical", "warning", "info"):
            problems.append("%s: %s has no severity critical|warning|info" % (a["file"], name))
        if "for" not in a:
            problems.append("%s: %s has no for: duration" % (a["file"], name))
        want = "docs/runbook.md#" + name.lower()
        if url != want:
            problems.append("%s: %s runbook_url is %r, want %r" % (a["file"], name, url, want))
        elif name.lower() not in anchors:
            problems.append("%s: no section '## %s' in %s" % (a["file"], name, rel(RUNBOOK)))
        else:
            print("ok   %-45s %s" % (name, url))
    for h in headings:
        if re.fullmatch(r"Ibpath\w+", h) and h not in names:
            problems.append("%s: section %s names no alert in alerts/" % (rel(RUNBOOK), h))
    if not alerts:
        problems.append("found no alerts")
    return problems


def main():
    checks = {"names": check_names, "promql": check_promql, "runbook": check_runbook}
    which = sys.argv[1:] or list(checks)
    problems = []
    for w in which:
        if w not in checks:
            print("usage: %s [names|promql|runbook]..." % sys.argv[0])
            return 2
        problems += checks[w]()
    for p in problems:
        print("FAIL: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

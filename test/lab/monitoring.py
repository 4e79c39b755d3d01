"""Real monitoring servers for the namespace cluster (cluster.py): a
Prometheus scraping every node's agent with the shipped rules, an
Alertmanager, and a webhook receiver that records each notification, all in
the switch namespace on loopback. Used by the end-to-end test and the demo.

The rules are a copy with `for:` and minute-long rate windows shortened
(test/rules/shorten_rules.py), so that a fault fires and resolves within
seconds at Prometheus's 1 s scrape and evaluation interval.
"""
import glob
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import urllib.parse

from lab import run

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PROM_PORT, AM_PORT, HOOK_PORT = 9090, 9093, 9099


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


class Stack:
    """Prometheus, Alertmanager and a webhook receiver in the switch namespace."""

    def __init__(self, cluster, for_="4s", window="6s", rewrite=None):
        """`rewrite`: a function applied to each rule file's text before
        Prometheus loads it (after the durations are shortened)."""
        self.c = cluster
        self.dir = tempfile.mkdtemp(prefix="ibpath-e2e-", dir=cluster.tmp)
        rules_dir = os.path.join(self.dir, "rules")
        os.makedirs(rules_dir)
        run(sys.executable, os.path.join(ROOT, "test", "rules", "shorten_rules.py"), "--for", for_,
            "--window", window, *sorted(glob.glob(os.path.join(ROOT, "alerts", "*.rules.yml"))),
            rules_dir)
        if rewrite:
            for path in glob.glob(os.path.join(rules_dir, "*.yml")):
                with open(path) as f:
                    text = f.read()
                with open(path, "w") as f:
                    f.write(rewrite(text))
        targets = ",\n".join(
            '        {"targets": ["%s"], "labels": {"node": "%s"}}' % (n.target, n.name)
            for n in cluster.nodes)
        prom_conf = os.path.join(self.dir, "prometheus.yml")
        with open(prom_conf, "w") as f:
            f.write("""global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: ["%s/*.yml"]
alerting:
  alertmanagers:
    - static_configs: [{targets: ["127.0.0.1:%d"]}]
scrape_configs:
  - job_name: ibpath
    static_configs: [
%s
    ]
""" % (rules_dir, AM_PORT, targets))
        r = subprocess.run(["promtool", "check", "config", prom_conf], capture_output=True, text=True)
        check(r.returncode == 0, "promtool check config: " + r.stdout + r.stderr)
        am_conf = os.path.join(self.dir, "alertmanager.yml")
        with open(am_conf, "w") as f:
            f.write("""route:
  receiver: hook
  group_by: [alertname, instance]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:%d/
        send_resolved: true
""" % HOOK_PORT)
        self.hook_file = os.path.join(self.dir, "webhook.jsonl")
        sw = cluster.switch
        self.hook = cluster.spawn(sw, sys.executable, os.path.abspath(__file__), "--webhook",
                                  self.hook_file, name="webhook")
        check(self.hook.stdout.readline().strip() == "ready", "webhook receiver did not start")
        self.am = cluster.spawn(sw, "prometheus-alertmanager", "--config.file=" + am_conf,
                                "--storage.path=" + os.path.join(self.dir, "am"),
                                "--web.listen-address=127.0.0.1:%d" % AM_PORT,
                                "--cluster.listen-address=", name="alertmanager")
        self.prom = cluster.spawn(sw, "prometheus", "--config.file=" + prom_conf,
                                  "--storage.tsdb.path=" + os.path.join(self.dir, "tsdb"),
                                  "--web.listen-address=127.0.0.1:%d" % PROM_PORT,
                                  "--rules.alert.resend-delay=1s", name="prometheus")

    def get(self, path, raw=False, **params):
        url = "http://127.0.0.1:%d%s" % (PROM_PORT, path)
        if params:
            url += "?" + urllib.parse.urlencode(params)
        r = run("ip", "netns", "exec", self.c.switch, "curl", "-sSf", "--max-time", "10", url,
                check=False)
        if r.returncode != 0:
            return None
        return r.stdout if raw else json.loads(r.stdout)

    def query(self, expr):
        doc = self.get("/api/v1/query", query=expr)
        if doc is None or doc.get("status") != "success":
            raise Failure("query %r failed: %s" % (expr, doc))
        return doc["data"]["result"]

    def alerts(self, state=None):
        doc = self.get("/api/v1/alerts")
        alerts = doc["data"]["alerts"] if doc else []
        return [a for a in alerts if state is None or a["state"] == state]

    def notifications(self):
        if not os.path.exists(self.hook_file):
            return []
        with open(self.hook_file) as f:
            return [json.loads(line) for line in f if line.strip()]


def webhook(path):
    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock, open(path, "a") as f:
                f.write(json.dumps(json.loads(body)) + "\n")
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    lock = threading.Lock()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", HOOK_PORT), Hook)
    print("ready", flush=True)
    server.serve_forever()



if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--webhook":
        webhook(sys.argv[2])

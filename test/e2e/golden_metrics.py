#!/usr/bin/env python3
"""Golden-file test of the agent's whole /metrics output.

Runs the real agent in a network namespace of its own that holds only `lo`,
with a fixture alluxio-site.properties, scrapes it, replaces values that
differ from run to run (durations, timestamps, the version, interface byte
counters moved by the scrape itself) with <v>, and compares the text with
test/golden/metrics_netns.prom. The same output must pass `promtool check
metrics`.

Run with --update to rewrite the golden file after an intended change.
"""
import os
import re
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GOLDEN = os.path.join(ROOT, "test", "golden", "metrics_netns.prom")
CONF = os.path.join(ROOT, "test", "fixtures", "golden", "alluxio-site.properties")
# HCAs (one DOWN, one RoCE), IPoIB interfaces and a bond with one member down.
SYSFS = os.path.join(ROOT, "test", "fixtures", "sysfs", "bond_one_down")
AGENT = os.environ.get("IBPATH_AGENT", os.path.join(ROOT, "build", "ibpath-agent"))

VOLATILE = [
    re.compile(r"^(ibpath_collector_duration_seconds\{.*\}) .*$"),
    re.compile(r"^(ibpath_alluxio_config_last_reload_success_timestamp_seconds(\{.*\})?) .*$"),
    re.compile(r"^(ibpath_netdev_(receive|transmit)_(bytes|packets)_total\{.*\}) .*$"),
    # Counts every TCP socket destroyed in the namespace, the test's own
    # readiness polls included.
    re.compile(r"^(ibpath_alluxio_close_notices_total(\{.*\})?) .*$"),
]


def normalize(text):
    out = []
    for line in text.splitlines():
        line = re.sub(r'^ibpath_build_info\{version="[^"]*"\}', 'ibpath_build_info{version="<v>"}', line)
        line = line.replace(ROOT, "<repo>")  # the checkout's path differs from run to run
        line = re.sub(r'inode="\d+"', 'inode="<v>"', line)  # a new namespace each run
        for pat in VOLATILE:
            m = pat.match(line)
            if m:
                line = m.group(1) + " <v>"
                break
        out.append(line)
    return "\n".join(out) + "\n"


def main():
    if os.geteuid() != 0:
        print("FAIL: this test needs root to create a network namespace (CI runs as root)")
        return 1
    if not os.access(AGENT, os.X_OK):
        print(f"FAIL: agent binary {AGENT} not found")
        return 1
    ns = f"ibpath-golden-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    agent = None
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        port = 19879
        agent = subprocess.Popen(
            ["ip", "netns", "exec", ns, AGENT, f"--web.listen-address=127.0.0.1:{port}",
             f"--alluxio.conf={CONF}", f"--path.sysfs={SYSFS}", "--scrape.min-interval=0s",
             "--netns.discover=off"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        text = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and agent.poll() is None:
            r = subprocess.run(["ip", "netns", "exec", ns, "curl", "-sf",
                                f"http://127.0.0.1:{port}/metrics"],
                               capture_output=True, text=True)
            if r.returncode == 0:
                text = r.stdout
                break
            time.sleep(0.05)  # polling for readiness, bounded by the deadline
        if text is None:
            agent.kill()
            print("FAIL: agent never answered /metrics:\n" + agent.communicate()[1])
            return 1
        check = subprocess.run(["promtool", "check", "metrics"], input=text,
                               capture_output=True, text=True)
        if check.returncode != 0:
            print("FAIL: promtool check metrics:\n" + check.stdout + check.stderr)
            return 1
        got = normalize(text)
        if "--update" in sys.argv:
            with open(GOLDEN, "w") as f:
                f.write(got)
            print(f"updated {GOLDEN}")
            return 0
        with open(GOLDEN) as f:
            want = f.read()
        if got != want:
            import difflib
            print("FAIL: /metrics differs from the golden file (run with --update if intended):")
            sys.stdout.writelines(difflib.unified_diff(
                want.splitlines(True), got.splitlines(True), "golden", "agent"))
            return 1
        print("golden /metrics matches; promtool check metrics clean")
        return 0
    finally:
        if agent is not None and agent.poll() is None:
            agent.terminate()
            try:
                rc = agent.wait(10)
            except subprocess.TimeoutExpired:
                agent.kill()
                rc = "killed"
            if rc != 0:
                print(f"FAIL: agent exit status {rc} after SIGTERM")
                sys.exit(1)
        subprocess.run(["ip", "netns", "del", ns])


if __name__ == "__main__":
    sys.exit(main())

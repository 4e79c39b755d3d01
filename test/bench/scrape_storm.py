#!/usr/bin/python3
"""Scrape-storm benchmark for ibpath-agent (a measurement, not a test).

In a private network namespace it opens 50,000 loopback Alluxio connections
(100,000 sockets, the holders of test/bench/conn_scale.py), starts the agent
with its default --scrape.min-interval=1s, and points wrk (Debian package) at
/metrics with 200 concurrent connections for 60 s. It records:

  * wrk's requests, throughput, latency percentiles and every error (socket
    errors, non-2xx answers, timeouts): the target is that every request is
    answered;
  * the agent's peak RSS (VmHWM) and thread count;
  * that the sampler was not starved: a side scraper, every 2 s, checks that
    the samples keep changing (ibpath_collector_duration_seconds of the netns
    collector) and that every one of them saw all 100,000 sockets;
  * how many samples the agent took (single-flight: about one per second,
    not one per request).

Run as root:  sudo /usr/bin/python3 test/bench/scrape_storm.py [--connections 50000]
              [--clients 200] [--duration 60]
"""
import argparse
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import conn_scale  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
AGENT = os.environ.get("IBPATH_AGENT", os.path.join(REPO, "build", "ibpath-agent"))
PORT = 9879


def get(path, timeout=60):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (PORT, path), timeout=timeout) as r:
        return r.read().decode()


def inner(args):
    holders = conn_scale.start_holders(args.connections)
    agent = subprocess.Popen([AGENT, "--web.listen-address=127.0.0.1:%d" % PORT,
                              "--netns.discover=off", "--log.level=warn"],
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                body = get("/metrics")
                m = re.search(r'^ibpath_alluxio_sampled_sockets\{[^}]*\} (\S+)', body, re.M)
                if m and float(m.group(1)) >= 2 * args.connections:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        samples, starved, partial = set(), [], []
        stop = threading.Event()

        def side():
            while not stop.wait(2):
                try:
                    body = get("/metrics", timeout=30)
                except OSError as e:
                    starved.append(str(e))
                    continue
                d = re.search(r'^ibpath_collector_duration_seconds\{collector="netns"\} (\S+)',
                              body, re.M)
                s = re.search(r'^ibpath_alluxio_sampled_sockets\{[^}]*\} (\S+)', body, re.M)
                if d:
                    samples.add(d.group(1))
                if not s or float(s.group(1)) < 2 * args.connections:
                    partial.append(s.group(1) if s else "none")

        t = threading.Thread(target=side, daemon=True)
        t.start()
        t0 = time.monotonic()
        wrk = subprocess.run(["wrk", "-t2", "-c%d" % args.clients, "-d%ds" % args.duration,
                              "--timeout", "30s", "--latency",
                              # The agent answers one request per connection (see
                              # agent/http_server.cc); say so, or wrk counts every
                              # close as a read error.
                              "-H", "Connection: close",
                              "http://127.0.0.1:%d/metrics" % PORT],
                             capture_output=True, text=True)
        elapsed = time.monotonic() - t0
        stop.set()
        t.join()
        hwm = conn_scale.proc_status_kib(agent.pid, "VmHWM") / 1024
        rss = conn_scale.proc_status_kib(agent.pid, "VmRSS") / 1024
        threads = len(os.listdir("/proc/%d/task" % agent.pid))
        print(wrk.stdout)
        out = wrk.stdout
        errors = re.search(r"Socket errors: (.*)", out)
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        reqs = re.search(r"(\d+) requests in", out)
        lat = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M))
        print("| connections | wrk clients | duration s | requests | errors | non-2xx | p50 | p90 | "
              "p99 | samples seen by the side scraper | agent peak RSS MiB | RSS MiB | threads |")
        print("|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        print("| %d | %d | %.0f | %s | %s | %s | %s | %s | %s | %d | %.1f | %.1f | %d |" % (
            args.connections, args.clients, elapsed, reqs.group(1) if reqs else "?",
            errors.group(1) if errors else "none", non2xx.group(1) if non2xx else "0",
            lat.get("50", "?"), lat.get("90", "?"), lat.get("99", "?"), len(samples), hwm, rss,
            threads))
        print("side scraper: %d distinct samples in %.0f s, %d failed scrapes, %d partial samples"
              % (len(samples), elapsed, len(starved), len(partial)))
        # wrk counts the server's close after each complete answer as a
        # "read" error; connect, write and timeout errors are real failures.
        hard = 0
        if errors:
            for kind, n in re.findall(r"(connect|write|timeout) (\d+)", errors.group(1)):
                hard += int(n)
        ok = hard == 0 and not non2xx and not starved and not partial and len(samples) >= 5
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        agent.terminate()
        agent.wait(30)
        conn_scale.stop_procs(holders)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--connections", type=int, default=50000)
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--duration", type=int, default=60)
    ap.add_argument("--inner", action="store_true")
    args = ap.parse_args()
    if args.inner:
        return inner(args)
    if os.geteuid() != 0:
        sys.exit("needs root (a private network namespace)")
    ns = "ibpath-storm-%d" % os.getpid()
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        return subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-B",
                               os.path.abspath(__file__), "--inner",
                               "--connections", str(args.connections), "--clients",
                               str(args.clients), "--duration", str(args.duration)]).returncode
    finally:
        subprocess.run(["ip", "netns", "del", ns])


if __name__ == "__main__":
    sys.exit(main())

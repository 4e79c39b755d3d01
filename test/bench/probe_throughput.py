#!/usr/bin/env python3
"""Probe throughput vs iperf3 over the lab's fabric veth, in the same run.

Builds the namespace lab (test/lab/lab.py), serves a file with sendfile(2)
from the worker namespace (test/fixtures/probe/http_server.py, /sendfile/),
and in the client namespace runs:
  - iperf3 single stream, worker -> client (-R), ib0 addresses, --time s;
  - the agent's on-demand probe (/probe?target=...) reading --bytes per run,
    --runs times, bound to ib0's address like the scheduled probe;
  - iperf3 again, so a drift in the machine's load shows.
It prints the probe's median throughput, the iperf3 mean, and the ratio
(target: >= 0.80). Needs root. Nothing leaves the lab's namespaces.

    sudo IBPATH_AGENT=build/ibpath-agent python3 test/bench/probe_throughput.py
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lab"))
from lab import CLIENT_IB, PYTHON, REPO, WORKER_IB, Lab, Metrics, agent_binary, run  # noqa: E402

SERVER = os.path.join(REPO, "test", "fixtures", "probe", "http_server.py")
HTTP_PORT = 28080
IPERF_PORT = 5201


def iperf(lab, seconds):
    r = run("ip", "netns", "exec", lab.client, "iperf3", "-c", WORKER_IB, "-B", CLIENT_IB,
            "-p", str(IPERF_PORT), "-R", "-t", str(seconds), "-J")
    return json.loads(r.stdout)["end"]["sum_received"]["bits_per_second"] / 8


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bytes", default="1GiB")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--time", type=int, default=5, help="iperf3 seconds")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root (network namespaces)")
        return 1
    lab = Lab()
    try:
        lab.history = []
        srv = lab.spawn(lab.worker, PYTHON, SERVER, "--bind", WORKER_IB, "--port", str(HTTP_PORT),
                        stdin=subprocess.PIPE, name="http")
        if not srv.stdout.readline().startswith("PORTS"):
            raise RuntimeError("HTTP server did not start: " + lab.log_of(srv))
        lab.spawn(lab.worker, "iperf3", "-s", "-B", WORKER_IB, "-p", str(IPERF_PORT), name="iperf3")
        conf = lab.write_conf("alluxio.worker.data.bind.device=ib0\n"
                              "alluxio.user.network.data.bind.device=ib0\n")
        lab.start_agent(lab.client, "--alluxio.conf=" + conf, "--probe.timeout=60s")
        time.sleep(0.5)  # iperf3 server up
        target = "http://%s:%d/sendfile/%d" % (WORKER_IB, HTTP_PORT, 1 << 30)
        q = urllib.parse.urlencode({"target": target, "bytes": args.bytes})
        Metrics(lab.scrape("/probe?" + q))  # warm-up: the server builds its file
        ip = [iperf(lab, args.time)]
        probes = []
        for _ in range(args.runs):
            m = Metrics(lab.scrape("/probe?" + q))
            if m.get("ibpath_probe_success") != 1 or m.get("ibpath_probe_on_data_device") != 1:
                raise RuntimeError("probe failed:\n" + m.text)
            probes.append(m.get("ibpath_probe_throughput_bytes_per_second"))
        ip.append(iperf(lab, args.time))
    finally:
        lab.close()
    probe = statistics.median(probes)
    base = statistics.mean(ip)
    print("kernel %s, %s, %d CPUs, load %s" % (platform.release(),
          time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), os.cpu_count(),
          " ".join("%.2f" % x for x in os.getloadavg())))
    print("iperf3 single stream (-R), MB/s: %s" % ", ".join("%.0f" % (x / 1e6) for x in ip))
    print("probe %s per run, MB/s: %s" % (args.bytes, ", ".join("%.0f" % (x / 1e6) for x in probes)))
    print("probe median %.0f MB/s, iperf3 mean %.0f MB/s, ratio %.2f (target >= 0.80)" %
          (probe / 1e6, base / 1e6, probe / base))
    return 0 if probe / base >= 0.8 else 3


if __name__ == "__main__":
    sys.exit(main())

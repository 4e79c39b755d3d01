#!/usr/bin/python3
"""Namespace-scale benchmark for ibpath-agent (a measurement, not a test).

For N = 1, 10 and 50 pod-like network namespaces, each holding a stand-in
Alluxio worker (its command line names alluxio.worker.AlluxioWorker, so the
agent discovers it) and a client with C established connections to it over
the namespace's loopback, it runs one agent in the caller's namespace with
--netns.discover=on and measures:

  * the CPU time one sample costs the agent (sum over its threads of
    /proc/<pid>/task/*/schedstat, median of 5 scrapes after a warm-up that
    also opens each namespace's sockets), and that per namespace;
  * the agent's VmRSS / VmHWM and thread count;

and checks that the agent saw every namespace (ibpath_netns_info) and
2*C connections in each. Sampling N namespaces should cost about N times one.

Run as root:  sudo /usr/bin/python3 test/bench/netns_scale.py [--sizes 1,10,50] [--conns 100]
Agent binary: $IBPATH_AGENT, else build/ibpath-agent. Prints a Markdown table.
"""
import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import conn_scale  # noqa: E402  (CPU and memory of the agent, read the same way)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STANDIN = os.path.join(REPO, "test", "lab", "standin.py")
AGENT = os.environ.get("IBPATH_AGENT", os.path.join(REPO, "build", "ibpath-agent"))


def scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=60) as r:
        return r.read().decode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(n, conns, tag):
    names = ["ibpb-%s-%d" % (tag, i) for i in range(n)]
    procs = []
    agent = None
    try:
        for ns in names:
            subprocess.run(["ip", "netns", "add", ns], check=True)
            subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
            w = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, STANDIN, "worker",
                                  "--listen", "127.0.0.1", "--port", "29997", "--as",
                                  "alluxio.worker.AlluxioWorker"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            procs.append(w)
            assert w.stdout.readline().strip() == "listening"
            # `conns` connections held open: --count opens them one after
            # another; --hold keeps only the last, so start `conns` clients
            # of one connection each would be many processes. Instead a tiny
            # holder in Python.
            h = subprocess.Popen(
                ["ip", "netns", "exec", ns, sys.executable, "-c",
                 "import socket,sys\n"
                 "s=[socket.create_connection(('127.0.0.1',29997)) for _ in range(%d)]\n"
                 "[c.sendall(b'1\\n') for c in s]\n"
                 "[c.recv(1) for c in s]\n"
                 "print('ready',flush=True); sys.stdin.read()" % conns],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            procs.append(h)
            assert h.stdout.readline().strip() == "ready"
        port = free_port()
        agent = subprocess.Popen([AGENT, "--web.listen-address=127.0.0.1:%d" % port,
                                  "--scrape.min-interval=0s", "--netns.discover=on",
                                  "--log.level=warn"], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        text = None
        while time.monotonic() < deadline:
            try:
                text = scrape(port)
                if len(re.findall(r'^ibpath_netns_info\{netns="ibpb-', text, re.M)) == n:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        seen = len(re.findall(r'^ibpath_netns_info\{netns="ibpb-', text or "", re.M))
        samples = []
        for _ in range(5):
            before = conn_scale.agent_cpu_ns(agent.pid)
            text = scrape(port)
            samples.append((conn_scale.agent_cpu_ns(agent.pid) - before) / 1e6)
        per_ns = {}
        for m in re.finditer(r'^ibpath_alluxio_connections\{netns="(ibpb-[^"]+)"[^}]*\} (\S+)$', text, re.M):
            per_ns[m.group(1)] = per_ns.get(m.group(1), 0) + float(m.group(2))
        ok = seen == n and all(per_ns.get(ns) == 2 * conns for ns in names)
        return {
            "n": n, "seen": seen, "ok": ok, "cpu_ms": statistics.median(samples),
            "rss": conn_scale.proc_status_kib(agent.pid, "VmRSS") / 1024,
            "hwm": conn_scale.proc_status_kib(agent.pid, "VmHWM") / 1024,
            "threads": len(os.listdir("/proc/%d/task" % agent.pid)),
        }
    finally:
        if agent:
            agent.terminate()
            agent.wait(10)
        for p in procs:
            if p.stdin:
                p.stdin.close()
            p.terminate()
            p.wait(10)
        for ns in names:
            subprocess.run(["ip", "netns", "del", ns])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1,10,50")
    ap.add_argument("--conns", type=int, default=100)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root")
    rows = [measure(int(n), args.conns, "%d" % os.getpid()) for n in args.sizes.split(",")]
    base = rows[0]["cpu_ms"] / rows[0]["n"]
    print("| namespaces | connections each | seen | sample CPU ms | per namespace ms | vs 1 namespace | RSS MiB | peak RSS MiB | threads |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        per = r["cpu_ms"] / r["n"]
        print("| %d | %d | %d%s | %.1f | %.2f | %.2fx | %.1f | %.1f | %d |" % (
            r["n"], 2 * args.conns, r["seen"], "" if r["ok"] else " (MISMATCH)", r["cpu_ms"], per,
            per / base, r["rss"], r["hwm"], r["threads"]))
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

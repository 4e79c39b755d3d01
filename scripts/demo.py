#!/usr/bin/python3
"""ibpath demo: what the agent sees when Alluxio data falls back to Ethernet.

Builds a small cluster in network namespaces (3 stand-in Alluxio workers, 3
clients, each node with an `ib0` on a "fabric" bridge and an `eth0` on an
"Ethernet" bridge; see test/lab/cluster.py), runs ibpath-agent on every node,
a real Prometheus with the shipped alert rules and a real Alertmanager, then:

  1. drives healthy reads over the fabric;
  2. breaks the path on one worker with a route that sends its replies over
     Ethernet while both ends stay bound to fabric addresses (the fault that
     `ss` alone cannot show);
  3. restores the route;

and says in plain words, at each step, what the agent measured and what the
alert did. Everything is removed at the end, also on Ctrl-C.

  sudo scripts/demo.py [--keep]     (scripts/demo.sh also installs and builds)

--keep leaves the cluster running after the demo, with Prometheus,
Alertmanager and worker w1's agent forwarded to 127.0.0.1 ports of this host,
until Ctrl-C. Alert `for:` durations are shortened to seconds for the demo;
the shipped rules wait minutes so that a blip does not page.
"""
import argparse
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "test", "lab"))

from cluster import AGENT_PORT, Cluster, wait_for  # noqa: E402
from lab import agent_binary, run  # noqa: E402
from monitoring import AM_PORT, PROM_PORT, Stack  # noqa: E402

FALLBACK = "IbpathAlluxioDataPathFallback"
CLONE_NEWNET = 0x40000000


def say(text="", indent=0):
    print("  " * indent + text, flush=True)


def mib(v):
    return "%.1f MiB/s" % (v / (1 << 20))


def scalar(stack, expr):
    r = stack.query(expr)
    return float(r[0]["value"][1]) if r else 0.0


def by_instance(stack, expr):
    return {r["metric"].get("instance"): float(r["value"][1]) for r in stack.query(expr)}


def report_workers(stack, cluster):
    conns = {}
    for r in stack.query('sum by (instance, device) (ibpath_alluxio_connections{side="server"})'):
        conns.setdefault(r["metric"]["instance"], []).append(
            "%d on %s" % (float(r["value"][1]), r["metric"]["device"]))
    rates = {}
    for r in stack.query('sum by (instance, device) (rate(ibpath_alluxio_bytes_total'
                         '{side="server",direction="transmit"}[6s]))'):
        if float(r["value"][1]) > 0:
            rates.setdefault(r["metric"]["instance"], []).append(
                "%s on %s" % (mib(float(r["value"][1])), r["metric"]["device"]))
    fallback = by_instance(stack, "ibpath_alluxio_fallback_connections")
    for w in cluster.workers:
        t = w.target
        say("%s: data connections %s; sending %s; fallback connections: %d" % (
            w.name, ", ".join(sorted(conns.get(t, ["none"]))), ", ".join(sorted(rates.get(t, ["nothing"]))),
            fallback.get(t, 0)), 2)


def report_alerts(stack, cluster):
    names = {n.target: n.name for n in cluster.nodes}
    alerts = stack.alerts()
    if not alerts:
        say("Prometheus: no alerts pending or firing", 2)
    for a in alerts:
        say("Prometheus: %s %s for %s (%s): %s" % (
            a["labels"]["alertname"], a["state"], names.get(a["labels"].get("instance"), "?"),
            a["labels"].get("severity"), a["annotations"].get("summary")), 2)


def run_check(node):
    r = subprocess.run(["ip", "netns", "exec", node.ns, agent_binary(), "check",
                        "--alluxio.conf=" + node.conf, "--netns.discover=off"],
                       capture_output=True, text=True, timeout=60)
    say("`ibpath-agent check` on %s (exit %d):" % (node.name, r.returncode), 2)
    for line in r.stdout.splitlines():
        if "SKIP" not in line:
            say(line, 3)


def webhook_saw(stack, status, instance):
    for note in stack.notifications():
        for a in note["alerts"]:
            if a["status"] == status and a["labels"]["alertname"] == FALLBACK and \
                    a["labels"].get("instance") == instance:
                return a
    return None


class Forwarder(threading.Thread):
    """Listens on 127.0.0.1:<port> of this host and relays each connection to
    an address inside a lab namespace (the lab's addresses are not routed
    from the host). setns() only affects this thread, so the listener stays
    in the host namespace while the outgoing sockets open in the lab's."""

    def __init__(self, port, netns, dest):
        super().__init__(daemon=True)
        self.listener = socket.create_server(("127.0.0.1", port))
        self.netns, self.dest = netns, dest

    def run(self):
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open("/run/netns/" + self.netns, os.O_RDONLY)
        if libc.setns(fd, CLONE_NEWNET) != 0:
            say("forwarder: setns failed: %s" % os.strerror(ctypes.get_errno()))
            return
        while True:
            client, _ = self.listener.accept()
            try:
                upstream = socket.create_connection(self.dest, timeout=5)
            except OSError:
                client.close()
                continue
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self.pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--keep", action="store_true", help="keep the cluster running until Ctrl-C")
    args = p.parse_args()
    if os.geteuid() != 0:
        sys.exit("demo: needs root to create network namespaces (run it with sudo)")
    agent_binary()  # fails early with a clear message if the agent is not built
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))

    say("ibpath demo: 3 Alluxio workers and 3 clients in network namespaces")
    say("ib0 stands for the IPoIB fabric (198.18.0.0/24), eth0 for Ethernet (198.19.0.0/24)", 1)
    cluster = Cluster()
    try:
        stack = Stack(cluster, for_="5s", window="6s")
        cluster.start_agents()
        cluster.start_traffic()
        w1, c1 = cluster.workers[0], cluster.clients[0]

        say()
        say("[1/3] Healthy: each client reads from its worker, both bound to ib0")
        wait_for(lambda: stack.get("/-/ready", raw=True), "Prometheus to start", 30)
        wait_for(lambda: len(stack.query('up{job="ibpath"} == 1')) == len(cluster.nodes),
                 "Prometheus to scrape all agents", 30)
        wait_for(lambda: len(by_instance(stack, 'sum by (instance) (rate(ibpath_alluxio_bytes_total'
                                         '{device="ib0",side="server"}[6s])) > 0')) == 3,
                 "data on ib0", 30)
        report_workers(stack, cluster)
        report_alerts(stack, cluster)
        run_check(w1)

        say()
        say("[2/3] Breaking the path on %s: a /32 route sends its replies to %s (%s) over eth0" % (
            w1.name, c1.name, c1.ib))
        cluster.hijack(w1, c1)
        route = run("ip", "netns", "exec", w1.ns, "ip", "route", "get", c1.ib, "from", w1.ib).stdout
        say("ip route get %s from %s -> %s" % (c1.ib, w1.ib, route.split("\n")[0].strip()), 2)
        say("`ss` on %s still shows %s:29997 <-> %s: both ends look like the fabric" % (
            w1.name, w1.ib, c1.ib), 2)
        t0 = time.monotonic()
        wait_for(lambda: scalar(stack, 'ibpath_alluxio_fallback_connections{instance="%s"}' % w1.target) > 0,
                 "the agent to see the fallback", 30)
        say("after %.1fs the agent on %s reports the connection's egress on eth0 (fallback)" % (
            time.monotonic() - t0, w1.name), 2)
        wait_for(lambda: webhook_saw(stack, "firing", w1.target), "the alert to arrive", 60)
        say("after %.1fs Alertmanager delivered %s for %s to the on-call webhook" % (
            time.monotonic() - t0, FALLBACK, w1.name), 2)
        report_workers(stack, cluster)
        report_alerts(stack, cluster)
        run_check(w1)

        say()
        say("[3/3] Restoring the route on %s" % w1.name)
        cluster.restore(w1, c1)
        t1 = time.monotonic()
        wait_for(lambda: webhook_saw(stack, "resolved", w1.target), "the alert to resolve", 90)
        say("after %.1fs the alert resolved and the webhook was told" % (time.monotonic() - t1), 2)
        report_workers(stack, cluster)

        if args.keep:
            fw = [Forwarder(19090, cluster.switch, ("127.0.0.1", PROM_PORT)),
                  Forwarder(19093, cluster.switch, ("127.0.0.1", AM_PORT)),
                  Forwarder(19879, w1.ns, ("127.0.0.1", AGENT_PORT))]
            for f in fw:
                f.start()
            say()
            say("Running until Ctrl-C. From this host:")
            say("Prometheus    http://127.0.0.1:19090/alerts", 1)
            say("Alertmanager  http://127.0.0.1:19093/", 1)
            say("agent on w1   http://127.0.0.1:19879/  and /metrics", 1)
            say("break it again: sudo ip -n %s route add %s/32 via %s dev eth0" % (w1.ns, c1.ib, c1.eth), 1)
            say("a shell on w1:  sudo ip netns exec %s bash" % w1.ns, 1)
            signal.pause()
        return 0
    except KeyboardInterrupt:
        return 130
    finally:
        say()
        say("cleaning up the namespaces and processes")
        cluster.close()


if __name__ == "__main__":
    sys.exit(main())

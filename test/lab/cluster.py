"""A small Alluxio-like cluster in network namespaces, for end-to-end tests
and the demo.

A switch namespace holds two Linux bridges, one standing for the IPoIB
fabric and one for Ethernet; every node namespace has an `ib0` on the first
and an `eth0` on the second:

    node   ib0 (fabric)      eth0 (Ethernet)
    w1..   198.18.0.11..     198.19.0.11..      stand-in workers on ib0:29997
    c1..   198.18.0.21..     198.19.0.21..      clients reading from w<i>
    switch                   198.19.0.254       Prometheus, Alertmanager

Every node runs an ibpath-agent on 0.0.0.0:9879 with an alluxio-site.properties
that names ib0 as the data device (a veth is link type Ethernet whatever its
name), and a hosts file that resolves the workers' hostnames to their fabric
addresses. Monitoring reaches the agents over "Ethernet", as it would on a
real cluster's management network.

Cluster.close() stops everything and deletes what it created, also on error.
"""
import os
import subprocess

from lab import (DATA_PORT, PYTHON, STANDIN, NamespaceLab, agent_binary, run, wait_for,  # noqa: F401
                 wait_links_up)

AGENT_PORT = 9879
SWITCH_ETH = "198.19.0.254"

CONF = """alluxio.worker.data.bind.device=ib0
alluxio.worker.rpc.bind.device=ib0
alluxio.user.network.data.bind.device=ib0
alluxio.worker.hostname={hostname}
"""


class Node:
    def __init__(self, cluster, name, index):
        self.name = name
        self.ns = "%s-%s" % (cluster.tag, name)
        self.ib = "198.18.0.%d" % index
        self.eth = "198.19.0.%d" % index
        self.target = "%s:%d" % (self.eth, AGENT_PORT)
        self.is_worker = name.startswith("w")
        self.agent_flags = []  # per node, after the cluster's own


class Cluster(NamespaceLab):
    def __init__(self, workers=3, clients=3, agent_flags=()):
        self.tag = "ibpx%d" % (os.getpid() % 100000)
        self.switch = self.tag + "-sw"
        super().__init__("ibpath-cluster-")
        self.workers = [Node(self, "w%d" % (i + 1), 11 + i) for i in range(workers)]
        self.clients = [Node(self, "c%d" % (i + 1), 21 + i) for i in range(clients)]
        self.nodes = self.workers + self.clients
        self.agent_flags = list(agent_flags)
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    # --- topology ---------------------------------------------------------

    def _build(self):
        self.add_netns(self.switch)
        for br in ("br-ib", "br-eth"):
            run("ip", "-n", self.switch, "link", "add", br, "type", "bridge")
            run("ip", "-n", self.switch, "link", "set", br, "up")
        run("ip", "-n", self.switch, "addr", "add", SWITCH_ETH + "/24", "dev", "br-eth")
        hosts = "127.0.0.1 localhost\n" + "".join(
            "%s %s.lab\n" % (w.ib, w.name) for w in self.workers)
        for node in self.nodes:
            self.add_netns(node.ns)
            with open("/etc/netns/%s/hosts" % node.ns, "w") as f:
                f.write(hosts)
            for dev, br, addr in (("ib0", "br-ib", node.ib), ("eth0", "br-eth", node.eth)):
                port = "%s-%s" % (node.name, dev)
                run("ip", "link", "add", "name", port, "netns", self.switch, "type", "veth",
                    "peer", "name", dev, "netns", node.ns)
                run("ip", "-n", self.switch, "link", "set", port, "master", br, "up")
                run("ip", "-n", node.ns, "addr", "add", addr + "/24", "dev", dev)
                run("ip", "-n", node.ns, "link", "set", dev, "up")
                run("ip", "netns", "exec", node.ns, "sysctl", "-qw",
                    "net.ipv4.conf.%s.rp_filter=0" % dev)
            wait_links_up(node.ns, ("ib0", "eth0"))
            node.conf = os.path.join(self.tmp, node.name + "-alluxio-site.properties")
            with open(node.conf, "w") as f:
                f.write(CONF.format(hostname=node.name + ".lab" if node.is_worker else ""))

    # --- processes --------------------------------------------------------

    def start_agents(self):
        for node in self.nodes:
            node.agent = self.spawn(node.ns, agent_binary(),
                                    "--web.listen-address=0.0.0.0:%d" % AGENT_PORT,
                                    "--alluxio.conf=" + node.conf, "--netns.discover=off",
                                    *self.agent_flags, *node.agent_flags,
                                    name="agent-" + node.name)

    def start_traffic(self, nbytes=256 * 1024, every=0.2):
        """Stand-in workers on their fabric address; client i reads from
        worker i over the fabric, bound to its own fabric address."""
        for w in self.workers:
            p = self.spawn(w.ns, PYTHON, STANDIN, "worker", "--listen", w.ib, "--port",
                           str(DATA_PORT), name="worker-" + w.name)
            if p.stdout.readline().strip() != "listening":
                raise RuntimeError("stand-in worker on %s did not start: %s" % (w.name, self.log_of(p)))
        for c, w in zip(self.clients, self.workers):
            p = self.spawn(c.ns, PYTHON, STANDIN, "client", "--src", c.ib, "--dst", w.ib, "--port",
                           str(DATA_PORT), "--bytes", str(nbytes), "--every", str(every),
                           stdin=subprocess.PIPE, name="client-" + c.name)
            if not p.stdout.readline().startswith("done "):
                raise RuntimeError("client %s failed: %s" % (c.name, self.log_of(p)))

    def start_http_workers(self, port=28080):
        """An HTTP server on every worker's fabric address, serving range reads
        the way a worker's HTTP server does (test/fixtures/probe/http_server.py),
        for the probe. Returns the URL path that reads `n` bytes."""
        server = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                              "fixtures", "probe", "http_server.py")
        for w in self.workers:
            p = self.spawn(w.ns, PYTHON, server, "--bind", w.ib, "--port", str(port),
                           stdin=subprocess.PIPE, name="http-" + w.name)
            if not p.stdout.readline().startswith("PORTS"):
                raise RuntimeError("HTTP worker on %s did not start: %s" % (w.name, self.log_of(p)))

    def hijack(self, worker, client):
        """The worker's replies to the client's fabric address leave over
        Ethernet: both ends stay bound to fabric addresses."""
        run("ip", "-n", worker.ns, "route", "add", client.ib + "/32", "via", client.eth, "dev", "eth0")

    def restore(self, worker, client):
        run("ip", "-n", worker.ns, "route", "del", client.ib + "/32")

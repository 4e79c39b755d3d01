"""A two-host lab in network namespaces for ibpath's integration tests.

Lab() creates two namespaces standing for an Alluxio worker node and a
client (FUSE) node, joined by two veth pairs:

    worker ib0  198.18.0.1/24  <->  client ib0  198.18.0.2/24   "IPoIB fabric"
    worker eth0 198.19.0.1/24  <->  client eth0 198.19.0.2/24   "Ethernet"

A veth's link type is Ethernet whatever its name, so the tests tell the agent
which device stands for the fabric through alluxio-site.properties, as an
operator would with alluxio.worker.data.bind.device. rp_filter is off in both
namespaces so that asymmetric routes (the route hijack) deliver.

Each namespace gets its own /etc/netns/<name>/hosts, which `ip netns exec`
binds over /etc/hosts: that is how a test makes the worker's hostname resolve
to its Ethernet address.

Everything a Lab starts is stopped and everything it created is deleted on
close(), also when a test fails. Names carry the pid, so labs of tests that
ctest runs in parallel never meet. Needs root: without it a test fails
(CI runs as root; a skipped lab test would hide a regression).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
STANDIN = os.path.join(HERE, "standin.py")
PYTHON = "/usr/bin/python3"

WORKER_IB, CLIENT_IB = "198.18.0.1", "198.18.0.2"
WORKER_ETH, CLIENT_ETH = "198.19.0.1", "198.19.0.2"
DATA_PORT = 29997  # alluxio.worker.data.port default
AGENT_PORT = 9879

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def agent_binary():
    path = os.environ.get("IBPATH_AGENT", os.path.join(REPO, "build", "ibpath-agent"))
    if not os.access(path, os.X_OK):
        raise RuntimeError("agent binary %s not found; set IBPATH_AGENT" % path)
    return path


def parse_metrics(text):
    """Exposition text -> {(name, frozenset(labels.items())): value}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ValueError("unparseable exposition line: %r" % line)
        labels = frozenset(_LABEL.findall(m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


class Metrics:
    """One scrape, with lookups by name and label subset."""

    def __init__(self, text):
        self.text = text
        self.samples = parse_metrics(text)

    def get(self, name, default=None, **labels):
        """Sum of the series of `name` whose labels include `labels`."""
        vals = [v for (n, l), v in self.samples.items() if n == name and set(labels.items()) <= set(l)]
        return sum(vals) if vals else default

    def has(self, name, **labels):
        return self.get(name, None, **labels) is not None

    def series_with_label(self, key, value):
        return [n for (n, l) in self.samples if (key, value) in l]


def wait_links_up(ns, devices, timeout=10):
    """The kernel reports a new veth's operstate as up a moment after both
    ends are set up (linkwatch runs deferred); tests start once it has."""
    deadline = time.monotonic() + timeout
    while True:
        links = json.loads(run("ip", "-n", ns, "-j", "link", "show").stdout)
        state = {l["ifname"]: l.get("operstate") for l in links}
        if all(state.get(d) == "UP" for d in devices):
            return
        if time.monotonic() > deadline:
            raise RuntimeError("links in %s not up after %ss: %s" % (ns, timeout, state))
        time.sleep(0.05)


def run(*cmd, check=True):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr.strip()))
    return r


class NamespaceLab:
    """What every lab of namespaces shares: a scratch directory, the
    namespaces it created, and the processes it started, each with its
    stderr in a log file. close() stops the processes (SIGTERM, then
    SIGKILL) in reverse order, deletes the namespaces and the directory."""

    def __init__(self, prefix):
        self.tmp = tempfile.mkdtemp(prefix=prefix)
        self.procs = []
        self.namespaces = []

    def add_netns(self, ns):
        """A namespace with lo up, rp_filter off (asymmetric routes deliver)
        and its own /etc/netns/<ns>/ for a hosts file."""
        run("ip", "netns", "add", ns)
        self.namespaces.append(ns)
        os.makedirs("/etc/netns/" + ns, exist_ok=True)
        run("ip", "-n", ns, "link", "set", "lo", "up")
        for key in ("all", "default"):
            run("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.conf.%s.rp_filter=0" % key)

    def spawn(self, ns, *cmd, stdin=subprocess.DEVNULL, name="proc", env=None):
        """Starts `cmd` in namespace `ns` (None: the caller's own namespace)."""
        log = open(os.path.join(self.tmp, "%s-%d.log" % (name, len(self.procs))), "w+")
        prefix = ("ip", "netns", "exec", ns) if ns else ()
        p = subprocess.Popen(prefix + tuple(cmd), stdin=stdin, stdout=subprocess.PIPE, stderr=log,
                             text=True, env=None if env is None else dict(os.environ, **env))
        p.log = log
        self.procs.append(p)
        return p

    def log_of(self, p):
        p.log.flush()
        p.log.seek(0)
        return p.log.read()[-4000:]

    @staticmethod
    def wait_for(predicate, what, timeout=30, interval=0.1):
        """Polls `predicate` until it returns something truthy; the value is
        returned. Fails with `what` after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            v = predicate()
            if v:
                return v
            if time.monotonic() > deadline:
                raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
            time.sleep(interval)

    def close(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                if p.stdin:
                    try:
                        p.stdin.close()
                    except OSError:
                        pass
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            p.log.close()
            if p.stdout:
                p.stdout.close()
        for ns in reversed(self.namespaces):
            run("ip", "netns", "del", ns, check=False)
            shutil.rmtree("/etc/netns/" + ns, ignore_errors=True)
        shutil.rmtree(self.tmp, ignore_errors=True)


wait_for = NamespaceLab.wait_for


class Lab(NamespaceLab):
    def __init__(self, fabric="ib0"):
        """`fabric`: the fabric device's name on both nodes (ib0; net1 for
        pod-like namespaces, as Multus names the second interface)."""
        self.fabric = fabric
        tag = "%d-%d" % (os.getpid(), int(time.monotonic_ns() % 100000))
        self.worker = "ibpw-" + tag
        self.client = "ibpc-" + tag
        super().__init__("ibpath-lab-")
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def _build(self):
        for ns in (self.worker, self.client):
            self.add_netns(ns)
            self.write_hosts(ns, {})
        for dev, w, c in ((self.fabric, WORKER_IB, CLIENT_IB), ("eth0", WORKER_ETH, CLIENT_ETH)):
            run("ip", "link", "add", "name", dev, "netns", self.worker, "type", "veth",
                "peer", "name", dev, "netns", self.client)
            for ns, addr in ((self.worker, w), (self.client, c)):
                run("ip", "-n", ns, "addr", "add", addr + "/24", "dev", dev)
                run("ip", "-n", ns, "link", "set", dev, "up")
                run("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.conf.%s.rp_filter=0" % dev)
        for ns in (self.worker, self.client):
            wait_links_up(ns, (self.fabric, "eth0"))

    # --- configuration ---------------------------------------------------

    def write_hosts(self, ns, names):
        """Rewrites the namespace's hosts file in place (the bind mount that
        `ip netns exec` makes follows the inode, so no rename)."""
        lines = ["127.0.0.1 localhost"] + ["%s %s" % (addr, name) for name, addr in names.items()]
        with open("/etc/netns/%s/hosts" % ns, "w") as f:
            f.write("\n".join(lines) + "\n")

    def write_conf(self, text, name="alluxio-site.properties"):
        """Writes a config file in place and returns its path."""
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    # --- processes --------------------------------------------------------

    def start_worker(self, listen="0.0.0.0", port=DATA_PORT, extra=(), env=None):
        p = self.spawn(self.worker, PYTHON, STANDIN, "worker", "--listen", listen, "--port",
                       str(port), *extra, name="worker", env=env)
        line = p.stdout.readline()
        if line.strip() != "listening":
            raise RuntimeError("stand-in worker did not start: " + self.log_of(p))
        return p

    def read(self, dst, nbytes, src=None, count=1, hold=False, port=DATA_PORT, timeout=60,
             extra=(), env=None):
        """Runs a client in the client namespace. Without hold, waits for it
        and returns the bytes read; with hold, returns the process once its
        bytes arrived (close its stdin to end the last connection)."""
        cmd = [PYTHON, STANDIN, "client", "--dst", dst, "--port", str(port), "--bytes",
               str(nbytes), "--count", str(count)]
        if src:
            cmd += ["--src", src]
        if hold:
            cmd.append("--hold")
        cmd += list(extra)
        p = self.spawn(self.client, *cmd, stdin=subprocess.PIPE if hold else subprocess.DEVNULL,
                       name="client", env=env)
        line = p.stdout.readline()
        if not line.startswith("done "):
            p.wait(timeout)
            raise RuntimeError("client failed: " + self.log_of(p))
        if hold:
            return p
        p.wait(timeout)
        return int(line.split()[1])

    def start_agent(self, ns, *flags, port=AGENT_PORT, wrapper=(), binary=None):
        """Starts the agent in `ns` (None: the test's own namespace, where
        the port must be one nobody else uses). `wrapper` prefixes the
        command (e.g. setpriv, to run it as another user)."""
        self.agent_port = port
        # Other tests' "pods" run on the same machine at the same time: an
        # agent follows other namespaces only when the test says so.
        if not any(f.startswith("--netns.discover") for f in flags):
            flags = flags + ("--netns.discover=off",)
        self.agent = self.spawn(ns, *wrapper, binary or agent_binary(),
                                "--web.listen-address=127.0.0.1:%d" % port,
                                "--scrape.min-interval=0s", *flags, name="agent")
        self.agent_ns = ns
        self.wait_for(lambda: self.scrape(check=False) is not None, "the agent to answer /metrics")
        return self.agent

    # --- observation ------------------------------------------------------

    def scrape(self, path="/metrics", check=True):
        # One scrape at a time, so that `history` is in collection order even
        # when a test scrapes from a background thread too.
        with self.scrape_lock:
            return self._scrape(path, check)

    scrape_lock = threading.Lock()

    def _scrape(self, path, check):
        if self.agent.poll() is not None:
            raise AssertionError("agent exited with %s:\n%s" % (self.agent.returncode,
                                                                self.log_of(self.agent)))
        prefix = ("ip", "netns", "exec", self.agent_ns) if self.agent_ns else ()
        r = run(*prefix, "curl", "-sf", "--max-time", "10",
                "http://127.0.0.1:%d%s" % (self.agent_port, path), check=False)
        if r.returncode != 0:
            if check:
                raise AssertionError("scrape of %s failed: curl exit %d" % (path, r.returncode))
            return None
        if path != "/metrics":
            return r.stdout
        m = Metrics(r.stdout)
        self.history.append(m)
        return m

    history = []

    def wait_metric(self, what, predicate, timeout=30):
        """Scrapes until predicate(metrics) is truthy; returns that scrape."""
        box = {}

        def attempt():
            m = self.scrape()
            box["m"] = m
            return predicate(m)

        try:
            self.wait_for(attempt, what, timeout)
        except AssertionError as e:
            raise AssertionError("%s\nlast scrape:\n%s" % (e, box["m"].text if box else "")) from None
        return box["m"]

    def link_stats(self, ns, dev):
        """The kernel's own counters for a device: {'rx_bytes':..., 'tx_bytes':...}."""
        out = json.loads(run("ip", "-n", ns, "-j", "-s", "link", "show", "dev", dev).stdout)[0]
        s = out["stats64"]
        return {"rx_bytes": s["rx"]["bytes"], "tx_bytes": s["tx"]["bytes"],
                "rx_packets": s["rx"]["packets"], "tx_packets": s["tx"]["packets"]}

    def assert_counters_monotonic(self):
        """Across every scrape this lab took: no *_total series ever went down."""
        seen = {}
        for m in self.history:
            for key, v in m.samples.items():
                if not key[0].endswith("_total"):
                    continue
                if key in seen and v < seen[key]:
                    raise AssertionError("counter went backwards: %s %s: %s -> %s" %
                                         (key[0], dict(key[1]), seen[key], v))
                seen[key] = v


class LabTestCase(unittest.TestCase):
    """Gives each test a fresh Lab in self.lab and checks, after every test,
    that no counter the agent exported ever decreased."""

    def setUp(self):
        if os.geteuid() != 0:
            self.fail("lab tests need root to create network namespaces (CI runs as root)")
        try:
            agent_binary()
        except RuntimeError as e:
            self.fail(str(e))
        self.lab = Lab()
        self.lab.history = []
        self.addCleanup(self.lab.close)

    def tearDown(self):
        self.lab.assert_counters_monotonic()
        agent = getattr(self.lab, "agent", None)
        if agent is not None:
            self.assertIsNone(agent.poll(), "agent died:\n" + self.lab.log_of(agent))
            agent.send_signal(signal.SIGTERM)
            self.assertEqual(agent.wait(15), 0, "agent did not exit cleanly on SIGTERM:\n" +
                             self.lab.log_of(agent))

"""The agent as an unprivileged user (setpriv, uid 65534), with and without
each capability it can use: it drops what it does not use, says what is
missing in ibpath_capability_missing, and degrades instead of failing.
"""
import os
import shutil
import unittest

from lab import CLIENT_IB, WORKER_IB, LabTestCase, agent_binary
from test_agent_lab import CONF_IB

MiB = 1 << 20
SERVER_TX = dict(role="worker_data", side="server", direction="transmit")


def setpriv(*caps):
    """Run as nobody with exactly `caps` (e.g. "net_admin") available."""
    w = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    if caps:
        spec = ",".join("+" + c for c in caps)
        w += ["--inh-caps=-all," + spec, "--ambient-caps=-all," + spec]
    else:
        w += ["--inh-caps=-all"]
    return w


class PrivilegesLab(LabTestCase):

    def start(self, *caps, flags=()):
        lab = self.lab
        # The unprivileged agent must be able to read its configuration.
        os.chmod(lab.tmp, 0o755)
        lab.write_hosts(lab.worker, {"worker.lab": WORKER_IB})
        self.conf = lab.write_conf(CONF_IB)
        os.chmod(self.conf, 0o644)
        lab.start_worker(listen=WORKER_IB)
        # Nor may it reach the build tree (a checkout under /root is 0700).
        binary = os.path.join(lab.tmp, "ibpath-agent")
        shutil.copy(agent_binary(), binary)
        os.chmod(binary, 0o755)
        lab.start_agent(lab.worker, "--alluxio.conf=" + self.conf, *flags, wrapper=setpriv(*caps),
                        binary=binary)
        return lab.scrape()

    def counts_bytes(self):
        lab = self.lab
        m0 = lab.scrape()
        base = m0.get("ibpath_alluxio_bytes_total", 0, device="ib0", **SERVER_TX)
        # Short-lived connections too: they need the destroy notices.
        self.assertEqual(lab.read(WORKER_IB, MiB, src=CLIENT_IB, count=20), 20 * MiB)
        return lab.wait_metric(
            "20 short connections' bytes on ib0",
            lambda m: m.get("ibpath_alluxio_bytes_total", 0, device="ib0", **SERVER_TX) - base
            >= 0.95 * 20 * MiB)

    def test_no_capabilities_at_all(self):
        m = self.start()
        self.assertEqual(m.get("ibpath_capability_missing", capability="cap_net_admin",
                               feature="close_notices_buffer"), 1, m.text)
        self.assertFalse(m.has("ibpath_capability_effective"))
        # The destroy notices still come (joining needs no capability on
        # current kernels), with a buffer capped by rmem_max (the kernel
        # doubles what it grants for bookkeeping).
        self.assertEqual(m.get("ibpath_alluxio_close_notices_enabled"), 1)
        with open("/proc/sys/net/core/rmem_max") as f:
            rmem_max = int(f.read())
        self.assertLessEqual(m.get("ibpath_alluxio_close_notice_buffer_bytes"), 2 * rmem_max)
        m = self.counts_bytes()
        self.assertEqual(m.get("ibpath_collector_success", collector="alluxio_connections"), 1)
        self.assertEqual(m.get("ibpath_alluxio_fallback_connections", 0), 0)

    def test_net_admin_only(self):
        m = self.start("net_admin")
        self.assertEqual(m.get("ibpath_capability_effective", capability="cap_net_admin"), 1)
        self.assertFalse(m.has("ibpath_capability_missing"))
        self.assertGreaterEqual(m.get("ibpath_alluxio_close_notice_buffer_bytes"), 8 << 20)
        self.counts_bytes()

    def test_unused_capabilities_are_dropped(self):
        # Given more than it uses, it keeps only cap_net_admin.
        m = self.start("net_admin", "sys_admin", "sys_ptrace", "dac_override",
                       flags=("--netns.discover=off",))
        kept = {dict(l)["capability"] for (n, l) in m.samples if n == "ibpath_capability_effective"}
        self.assertEqual(kept, {"cap_net_admin"})
        status = open("/proc/%d/status" % self.lab.agent.pid).read()
        eff = int(next(l for l in status.splitlines() if l.startswith("CapEff:")).split()[1], 16)
        self.assertEqual(eff, 1 << 12, "CapEff %x: only CAP_NET_ADMIN (bit 12)" % eff)

    def test_netns_discovery_without_sys_admin_degrades(self):
        m = self.start("net_admin", flags=("--netns.discover=on",))
        self.assertEqual(m.get("ibpath_capability_missing", capability="cap_sys_admin",
                               feature="netns_discovery"), 1, m.text)
        self.assertEqual(m.get("ibpath_capability_missing", capability="cap_sys_ptrace",
                               feature="netns_discovery"), 1)
        # Its own namespace is still fully sampled.
        self.counts_bytes()
        self.assertEqual(self.lab.agent.poll(), None)


if __name__ == "__main__":
    unittest.main()

"""The FUSE probe in the namespace lab (see lab.py).

A small FUSE file system (fuse_forwarder.c, standing in for alluxio-fuse)
runs in the client namespace and forwards reads over TCP to the stand-in
worker (standin.py) in the worker namespace, from the client's fabric
address. The agent reads a file on that mount past the page cache and judges
the path from the FUSE daemon's connections to the worker's data port.

FUSE mounts live in a mount namespace, and `ip netns exec` makes a new one
for each command: the FUSE daemon and the agent are started by one shell
under a single `ip netns exec` (lab.start_agent's wrapper), the daemon in
the background, the agent exec'd once the mount answers, so both see it.
"""
import os
import signal
import subprocess
import urllib.parse

from lab import (CLIENT_ETH, CLIENT_IB, DATA_PORT, WORKER_ETH, WORKER_IB, LabTestCase, Metrics,
                 run)

MiB = 1 << 20
FILE_SIZE = 64 * MiB

CONF_IB = """# the fabric is ib0 on both ends
alluxio.worker.data.bind.device=ib0
alluxio.user.network.data.bind.device=ib0
"""

# Starts the FUSE daemon in the background, waits for its file, then execs
# the agent ("$@") in the same mount namespace.
START = """
"$FW" -f "--worker=$WORKER" "--src=$SRC" "--file=probe.bin:$SIZE" "$MNT" &
echo $! > "$PIDFILE"
for i in $(seq 100); do
  if [ -f "$MNT/probe.bin" ]; then exec "$@"; fi
  sleep 0.1
done
echo "the FUSE mount did not appear" >&2
exit 1
"""


def forwarder_binary():
    path = os.environ.get("IBPATH_FUSE_FORWARDER", "")
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError("IBPATH_FUSE_FORWARDER does not name the built fuse_forwarder (%r); "
                           "install libfuse3-dev and fuse3, then rebuild" % path)
    return path


class FuseProbeLab(LabTestCase):

    def start(self, *flags):
        lab = self.lab
        try:
            fw = forwarder_binary()
        except RuntimeError as e:
            self.fail(str(e))
        if not os.path.exists("/dev/fuse"):
            self.fail("/dev/fuse is missing")
        lab.start_worker()
        conf = lab.write_conf(CONF_IB)
        self.mnt = os.path.join(lab.tmp, "mnt")
        os.makedirs(self.mnt)
        self.path = os.path.join(self.mnt, "probe.bin")
        pidfile = os.path.join(lab.tmp, "fuse.pid")
        self.addCleanup(self.stop_forwarder, pidfile)
        wrapper = ("env", "FW=" + fw, "WORKER=%s:%d" % (WORKER_IB, DATA_PORT), "SRC=" + CLIENT_IB,
                   "SIZE=%d" % FILE_SIZE, "MNT=" + self.mnt, "PIDFILE=" + pidfile,
                   "sh", "-c", START, "sh")
        lab.start_agent(lab.client, "--alluxio.conf=" + conf, "--probe.bytes=8MiB",
                        "--probe.timeout=10s", *flags, wrapper=wrapper)

    def stop_forwarder(self, pidfile):
        try:
            with open(pidfile) as f:
                pid = int(f.read())
        except (OSError, ValueError):
            return
        try:
            os.kill(pid, signal.SIGTERM)  # unmounts on the way out
        except ProcessLookupError:
            pass

    def probe(self, **params):
        return Metrics(self.lab.scrape("/probe?" + urllib.parse.urlencode(params)))

    def test_fuse_probe_over_fabric_is_on_data_device(self):
        lab = self.lab
        before = lab.link_stats(lab.client, "ib0")
        self.start("--probe.fuse-path=" + os.path.join(lab.tmp, "mnt", "probe.bin"),
                   "--probe.interval=10s")
        m = lab.wait_metric("a scheduled FUSE probe",
                            lambda m: m.has("ibpath_probe_success", kind="fuse"))
        after = lab.link_stats(lab.client, "ib0")
        self.assertEqual(m.get("ibpath_probe_success", kind="fuse"), 1, m.text)
        self.assertEqual(m.get("ibpath_probe_on_data_device", kind="fuse"), 1, m.text)
        self.assertEqual(m.get("ibpath_probe_device_info", kind="fuse", device="ib0"), 1, m.text)
        self.assertEqual(m.get("ibpath_probe_bytes", kind="fuse"), 8 * MiB)
        self.assertGreater(m.get("ibpath_probe_throughput_bytes_per_second", kind="fuse"), 0)
        self.assertGreater(m.get("ibpath_probe_duration_seconds", kind="fuse", phase="transfer"), 0)
        # The FUSE daemon's connections moved the bytes, and ib0 received them.
        self.assertGreaterEqual(m.get("ibpath_probe_tcp_received_bytes", kind="fuse"), 0.9 * 8 * MiB)
        self.assertGreaterEqual(after["rx_bytes"] - before["rx_bytes"], 8 * MiB)
        self.assertEqual(m.get("ibpath_probe_scheduled"), 1)
        self.assertFalse(m.has("ibpath_probe_http_status_code"), m.text)  # no HTTP probe here
        methods = [dict(l)["method"] for (n, l) in m.samples
                   if n == "ibpath_probe_cache_bypass_info"]
        self.assertEqual(len(methods), 1, m.text)
        self.assertIn(methods[0], ("o_direct", "fadvise"))
        self.assertGreater(m.get("ibpath_alluxio_bytes_total", role="worker_data", side="client",
                                 device="ib0", direction="receive"), 8 * MiB)
        print("FUSE probe: %.0f MB/s, page cache bypassed with %s" %
              (m.get("ibpath_probe_throughput_bytes_per_second", kind="fuse") / 1e6, methods[0]))
        # On demand: twice in a row, so the second cannot be served from a cache.
        for _ in range(2):
            d = self.probe(fuse_path=self.path, bytes="4MiB")
            self.assertEqual(d.get("ibpath_probe_success", kind="fuse"), 1, d.text)
            self.assertEqual(d.get("ibpath_probe_bytes", kind="fuse"), 4 * MiB, d.text)
            self.assertEqual(d.get("ibpath_probe_device_info", kind="fuse", device="ib0"), 1)
        # Bad requests are refused; a file off the mount is not a FUSE probe.
        self.assertIsNone(lab.scrape("/probe?fuse_path=relative", check=False))
        d = self.probe(fuse_path="/etc/hostname")
        self.assertEqual(d.get("ibpath_probe_failure_info", kind="fuse", reason="not_fuse"), 1,
                         d.text)

    def off_fabric_probe(self, reason):
        """One FUSE probe that must find the bytes on eth0, for `reason`."""
        m = self.probe(fuse_path=self.path)
        self.assertEqual(m.get("ibpath_probe_success", kind="fuse"), 0, m.text)
        self.assertEqual(m.get("ibpath_probe_on_data_device", kind="fuse"), 0, m.text)
        self.assertEqual(m.get("ibpath_probe_failure_info", kind="fuse", reason=reason), 1, m.text)
        self.assertEqual(m.get("ibpath_probe_device_info", kind="fuse", device="eth0",
                               transport="ethernet"), 1, m.text)
        return m

    def test_fuse_probe_fabric_address_routed_over_ethernet(self):
        lab = self.lab
        self.start()
        # The worker's fabric address reached over Ethernet: the daemon still
        # binds to the client's ib0 address, but the kernel sends it out eth0.
        run("ip", "-n", lab.client, "route", "add", WORKER_IB + "/32", "via", WORKER_ETH, "dev",
            "eth0")
        m = self.off_fabric_probe("route_not_data_device")
        self.assertEqual(m.get("ibpath_probe_bytes", kind="fuse"), 8 * MiB)

    def test_fuse_probe_reply_over_ethernet_is_not_on_data_device(self):
        lab = self.lab
        self.start()
        # The worker's route back to the client's fabric address goes over
        # eth0: requests leave on ib0, the bytes arrive on eth0.
        run("ip", "-n", lab.worker, "route", "add", CLIENT_IB + "/32", "via", CLIENT_ETH, "dev",
            "eth0")
        m = self.off_fabric_probe("rx_not_on_data_device")
        self.assertGreaterEqual(m.get("ibpath_probe_interface_receive_bytes", kind="fuse",
                                      device="eth0"), 8 * MiB)


if __name__ == "__main__":
    import unittest
    unittest.main()

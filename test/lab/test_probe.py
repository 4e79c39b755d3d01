"""The data-path probe in the namespace lab (see lab.py).

The agent runs in the client namespace, as on a FUSE/client node, and reads
from an HTTP server in the worker namespace standing in for the worker's
HTTP data server (test/fixtures/probe/http_server.py). Verdicts are checked
against the route the lab sets up and against the kernel's counters.
"""
import os
import subprocess
import time
import unittest
import urllib.parse

from lab import (CLIENT_ETH, CLIENT_IB, PYTHON, REPO, WORKER_ETH, WORKER_IB, LabTestCase, Metrics,
                 run)

MiB = 1 << 20
HTTP_PORT = 28080  # alluxio.worker.http.server.port default
SERVER = os.path.join(REPO, "test", "fixtures", "probe", "http_server.py")

CONF_IB = """# the fabric is ib0 on both ends
alluxio.worker.data.bind.device=ib0
alluxio.user.network.data.bind.device=ib0
"""


class ProbeLab(LabTestCase):

    def start(self, *flags, probe_path=None):
        lab = self.lab
        p = lab.spawn(lab.worker, PYTHON, SERVER, "--bind", "0.0.0.0", "--port", str(HTTP_PORT),
                      stdin=subprocess.PIPE, name="http")
        line = p.stdout.readline()
        if not line.startswith("PORTS"):
            raise RuntimeError("probe HTTP server did not start: " + lab.log_of(p))
        conf = lab.write_conf(CONF_IB)
        args = ["--alluxio.conf=" + conf, "--probe.bytes=8MiB", "--probe.timeout=5s"]
        if probe_path:
            args += ["--probe.url=http://%s:%d%s" % (WORKER_IB, HTTP_PORT, probe_path),
                     "--probe.interval=10s"]
        lab.start_agent(lab.client, *(args + list(flags)))

    def query(self, **params):
        return Metrics(self.lab.scrape("/probe?" + urllib.parse.urlencode(params)))

    def probe(self, target, **params):
        return self.query(target=target, **params)

    def url(self, path, addr=WORKER_IB, port=HTTP_PORT):
        return "http://%s:%d%s" % (addr, port, path)

    def test_probe_over_fabric_is_on_data_device(self):
        lab = self.lab
        before = lab.link_stats(lab.client, "ib0")
        self.start(probe_path="/data/%d" % (64 * MiB))
        m = lab.wait_metric("a scheduled probe", lambda m: m.has("ibpath_probe_success"))
        after = lab.link_stats(lab.client, "ib0")
        self.assertEqual(m.get("ibpath_probe_success"), 1, m.text)
        self.assertEqual(m.get("ibpath_probe_on_data_device"), 1, m.text)
        self.assertEqual(m.get("ibpath_probe_device_info", device="ib0"), 1, m.text)
        self.assertEqual(m.get("ibpath_probe_bytes"), 8 * MiB)
        self.assertEqual(m.get("ibpath_probe_http_status_code"), 206)
        self.assertGreater(m.get("ibpath_probe_throughput_bytes_per_second"), 0)
        self.assertGreaterEqual(m.get("ibpath_probe_interface_receive_bytes", device="ib0"), 8 * MiB)
        self.assertLess(m.get("ibpath_probe_interface_receive_bytes", 0, device="eth0"), 64 * 1024)
        # The kernel agrees: ib0 received the body.
        self.assertGreaterEqual(after["rx_bytes"] - before["rx_bytes"], 8 * MiB)
        self.assertEqual(m.get("ibpath_collector_success", collector="probe"), 1)
        self.assertEqual(m.get("ibpath_probe_runs_total"), 1, m.text)
        print("probe throughput over the fabric veth: %.0f MB/s" %
              (m.get("ibpath_probe_throughput_bytes_per_second") / 1e6))

    def test_fabric_address_routed_over_ethernet_is_not_on_data_device(self):
        lab = self.lab
        self.start()
        # The worker's fabric address reached over Ethernet: the probe still
        # binds to the client's ib0 address, but the kernel sends it out eth0.
        run("ip", "-n", lab.client, "route", "add", WORKER_IB + "/32", "via", WORKER_ETH, "dev",
            "eth0")
        route = run("ip", "netns", "exec", lab.client, "ip", "route", "get", WORKER_IB, "from",
                    CLIENT_IB).stdout
        self.assertIn("dev eth0", route, "the lab's hijack route is not in effect")
        m = self.probe(self.url("/data/%d" % (4 * MiB)))
        self.assertEqual(m.get("ibpath_probe_success"), 0, m.text)
        self.assertEqual(m.get("ibpath_probe_on_data_device"), 0, m.text)
        self.assertEqual(m.get("ibpath_probe_failure_info", reason="route_not_data_device"), 1, m.text)
        self.assertEqual(m.get("ibpath_probe_device_info", device="eth0", transport="ethernet"), 1,
                         m.text)
        self.assertEqual(m.get("ibpath_probe_bytes"), 4 * MiB)

    def test_reply_over_ethernet_is_not_on_data_device(self):
        lab = self.lab
        self.start()
        # Requests leave on ib0, but the worker answers the client's fabric
        # address over Ethernet: the body arrives on eth0.
        run("ip", "-n", lab.worker, "route", "add", CLIENT_IB + "/32", "via", CLIENT_ETH, "dev",
            "eth0")
        m = self.probe(self.url("/data/%d" % (4 * MiB)))
        self.assertEqual(m.get("ibpath_probe_on_data_device"), 0, m.text)
        self.assertEqual(m.get("ibpath_probe_failure_info", reason="rx_not_on_data_device"), 1, m.text)
        self.assertEqual(m.get("ibpath_probe_device_info", device="ib0"), 1, m.text)
        self.assertGreaterEqual(m.get("ibpath_probe_interface_receive_bytes", device="eth0"), 4 * MiB)

    def test_worker_down_is_connect(self):
        self.start()
        m = self.probe(self.url("/data/100", port=HTTP_PORT + 1))  # nothing listens there
        self.assertEqual(m.get("ibpath_probe_success"), 0, m.text)
        self.assertEqual(m.get("ibpath_probe_failure_info", reason="connect"), 1, m.text)
        self.assertEqual(m.get("ibpath_probe_http_status_code"), 0)

    def test_stall_times_out_and_scrapes_still_answer(self):
        lab = self.lab
        self.start("--probe.timeout=3s", "--probe.interval=30s", probe_path="/stall/%d" % (8 * MiB))
        time.sleep(0.5)  # the first scheduled probe is now stuck mid-body
        for _ in range(3):
            t0 = time.monotonic()
            lab.scrape()
            self.assertLess(time.monotonic() - t0, 1.0, "a scrape waited for the probe")
        m = lab.wait_metric("the stalled probe to time out",
                            lambda m: m.has("ibpath_probe_failure_info"), timeout=10)
        self.assertEqual(m.get("ibpath_probe_failure_info", reason="timeout"), 1, m.text)
        self.assertEqual(m.get("ibpath_probe_bytes"), 4 * MiB)
        self.assertEqual(m.get("ibpath_probe_on_data_device"), 0)
        total = sum(m.get("ibpath_probe_duration_seconds", phase=p)
                    for p in ("connect", "first_byte", "transfer"))
        self.assertGreater(total, 2.5)
        self.assertLess(total, 4.5)

    def test_short_body(self):
        self.start()
        m = self.probe(self.url("/short/%d" % MiB))
        self.assertEqual(m.get("ibpath_probe_failure_info", reason="short_read"), 1, m.text)
        self.assertEqual(m.get("ibpath_probe_success"), 0)

    def test_http_404_and_500(self):
        self.start()
        for code in (404, 500):
            m = self.probe(self.url("/status/%d" % code))
            self.assertEqual(m.get("ibpath_probe_failure_info", reason="http_status"), 1, m.text)
            self.assertEqual(m.get("ibpath_probe_http_status_code"), code)
            self.assertEqual(m.get("ibpath_probe_success"), 0)

    def test_alluxio_range_read_and_redirect(self):
        self.start()
        # The worker/path form: /v1/range/<sha256 of the path>?ufsFullPath=...
        m = self.query(worker="%s:%d" % (WORKER_IB, HTTP_PORT), path="s3://bucket/probe.bin",
                       bytes="2MiB")
        self.assertEqual(m.get("ibpath_probe_success"), 1, m.text)
        self.assertEqual(m.get("ibpath_probe_bytes"), 2 * MiB)
        # Asked on the Ethernet address, redirected to the fabric address (as
        # an S3 API 307 to the owning worker would): the verdict is about the
        # connection that carried the body, the second one.
        m = self.probe(self.url("/redirect-to/%s/%d/data/%d" % (WORKER_IB, HTTP_PORT, 2 * MiB),
                                addr=WORKER_ETH))
        self.assertEqual(m.get("ibpath_probe_success"), 1, m.text)
        self.assertEqual(m.get("ibpath_probe_on_data_device"), 1, m.text)
        self.assertEqual(m.get("ibpath_probe_device_info", device="ib0"), 1, m.text)

if __name__ == "__main__":
    unittest.main()

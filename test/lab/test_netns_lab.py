"""One agent in the test's own ("host") namespace follows Alluxio processes
into pod-like namespaces: each has its own netns with the fabric device
named net1 (as Multus names it), and finds its alluxio-site.properties
through its own environment (ALLUXIO_CONF_DIR). The agent must give the same
per-device truth as an agent run inside the namespace, report a route hijack
in the worker's namespace as fallback for that namespace only, and drop the
namespace's series when the "pod" goes away.
"""
import json
import os
import socket
import unittest

from lab import CLIENT_ETH, CLIENT_IB, WORKER_IB, LabTestCase, agent_binary, run

MiB = 1 << 20


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NetnsLab(LabTestCase):

    def setUp(self):
        # Replace the default lab with one whose fabric device is net1.
        super().setUp()
        self.lab.close()
        from lab import Lab
        self.lab = Lab(fabric="net1")
        self.lab.history = []
        self.addCleanup(self.lab.close)

    def pod_env(self, name, text):
        d = os.path.join(self.lab.tmp, name)
        os.makedirs(d)
        with open(os.path.join(d, "alluxio-site.properties"), "w") as f:
            f.write(text)
        return {"ALLUXIO_CONF_DIR": d}

    def test_pods_followed_from_the_host(self):
        lab = self.lab
        W, C = lab.worker, lab.client
        worker_env = self.pod_env("worker-conf", "alluxio.worker.data.bind.device=net1\n")
        client_env = self.pod_env("client-conf", "alluxio.user.network.data.bind.device=net1\n")
        worker = lab.start_worker(listen=WORKER_IB, extra=("--as", "alluxio.worker.AlluxioWorker"),
                                  env=worker_env)
        host_conf = lab.write_conf("# the host runs no Alluxio\n")
        lab.start_agent(None, "--netns.discover=on", "--alluxio.conf=" + host_conf,
                        port=free_port())
        lab.wait_metric("the worker's namespace to be discovered",
                        lambda m: m.get("ibpath_netns_info", netns=W, processes="worker"))
        # A client that keeps reading: its namespace is discovered once it
        # runs, and its later bytes must be counted there.
        client = lab.read(WORKER_IB, MiB, src=CLIENT_IB, hold=True,
                          extra=("--as", "alluxio.fuse.AlluxioFuse", "--every", "0.05"),
                          env=client_env)

        def tx(m, ns, device):
            return m.get("ibpath_alluxio_bytes_total", 0, netns=ns, device=device, side="server",
                         direction="transmit")

        n = 8 * MiB
        m = lab.wait_metric("both pods' bytes on net1",
                            lambda m: tx(m, W, "net1") >= n and m.get(
                                "ibpath_alluxio_bytes_total", 0, netns=C, device="net1",
                                side="client", direction="receive") >= n / 2)
        self.assertEqual(m.get("ibpath_netns_info", netns=W, processes="worker"), 1, m.text)
        self.assertEqual(m.get("ibpath_netns_info", netns=C, processes="fuse"), 1, m.text)
        self.assertEqual(m.get("ibpath_netns_collector_success", netns=W), 1)
        self.assertEqual(m.get("ibpath_netns_collector_success", netns=C), 1)
        # Each pod judged against its own configuration and devices.
        self.assertEqual(m.get("ibpath_datapath_expected_device", netns=W, device="net1",
                               source="alluxio-conf"), 1, m.text)
        self.assertEqual(m.get("ibpath_netdev_info", netns=W, device="net1"), 1)
        self.assertEqual(m.get("ibpath_alluxio_listener_info", netns=W, role="worker_data",
                               device="net1", on_data_device="true"), 1, m.text)
        self.assertEqual(m.get("ibpath_alluxio_fallback_connections", netns=W), 0)
        self.assertEqual(m.get("ibpath_alluxio_fallback_connections", netns=C), 0)
        self.assertFalse(m.has("ibpath_alluxio_connections", netns="host"))

        # Hijack inside the worker's namespace: fallback there only, and the
        # bytes from then on attributed to its eth0.
        run("ip", "-n", W, "route", "add", CLIENT_IB + "/32", "via", CLIENT_ETH, "dev", "eth0")
        m = lab.wait_metric("fallback in the worker's namespace",
                            lambda m: m.get("ibpath_alluxio_fallback_connections", netns=W) == 1
                            and tx(m, W, "eth0") >= n / 2)
        self.assertEqual(m.get("ibpath_alluxio_fallback_connections", netns=C), 0)

        # The same truth as an agent inside the worker's namespace.
        inside_conf = os.path.join(worker_env["ALLUXIO_CONF_DIR"], "alluxio-site.properties")
        r = run("ip", "netns", "exec", W, agent_binary(), "check", "--alluxio.conf=" + inside_conf,
                "--netns.discover=off", "--output=json", check=False)
        doc = json.loads(r.stdout)
        conn = next(c for c in doc["checks"] if c["name"] == "data_connections")
        self.assertIn("leave on eth0 instead of net1", conn["detail"])
        self.assertEqual(m.get("ibpath_alluxio_connections", netns=W, side="server", device="eth0"), 1)

        # The "pods" go away: their namespaces' series go with them.
        client.stdin.close()
        client.wait(10)
        worker.terminate()
        worker.wait(10)
        m = lab.wait_metric("the pods' series to disappear",
                            lambda m: not m.series_with_label("netns", W)
                            and not m.series_with_label("netns", C))
        self.assertGreaterEqual(m.get("ibpath_netns_vanished_total"), 2)
        self.assertEqual(m.get("ibpath_collector_success", collector="netns"), 1)


if __name__ == "__main__":
    unittest.main()

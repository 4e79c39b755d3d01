"""Integration tests of ibpath-agent in the namespace lab (see lab.py).

The agent runs in the worker namespace, as it would on a worker node, and
judges the stand-in worker's connections on the Alluxio data port. Every
claim it makes about bytes is checked against the kernel's own counters.
"""
import subprocess
import unittest

from lab import (CLIENT_ETH, CLIENT_IB, DATA_PORT, WORKER_ETH, WORKER_IB, LabTestCase, run)

MiB = 1 << 20

CONF_IB = """# the fabric is ib0 on both ends
alluxio.worker.data.bind.device=ib0
alluxio.user.network.data.bind.device=ib0
alluxio.worker.hostname=worker.lab
"""

SERVER_TX = dict(role="worker_data", side="server", direction="transmit")


class AgentLab(LabTestCase):

    def start(self, conf=CONF_IB, hosts=None, listen=WORKER_IB):
        lab = self.lab
        lab.write_hosts(lab.worker, hosts or {"worker.lab": WORKER_IB})
        self.conf = lab.write_conf(conf)
        lab.start_worker(listen=listen)
        lab.start_agent(lab.worker, "--alluxio.conf=" + self.conf)

    def bytes_on(self, m, device, **extra):
        return m.get("ibpath_alluxio_bytes_total", 0, device=device, **dict(SERVER_TX, **extra))

    def test_healthy_all_data_bytes_on_fabric(self):
        lab = self.lab
        self.start()
        m = lab.scrape()
        self.assertEqual(m.get("ibpath_datapath_expected_device", device="ib0", source="alluxio-conf"), 1)
        self.assertEqual(m.get("ibpath_alluxio_listener_info", role="worker_data", address=WORKER_IB,
                               device="ib0", on_data_device="true"), 1, m.text)
        self.assertEqual(m.get("ibpath_alluxio_advertised_address_info", host="worker.lab",
                               address=WORKER_IB, device="ib0", on_data_device="true"), 1, m.text)
        before = {d: lab.link_stats(lab.worker, d) for d in ("ib0", "eth0")}

        n = 32 * MiB
        client = lab.read(WORKER_IB, n, src=CLIENT_IB, hold=True)
        m = lab.wait_metric("32 MiB attributed to ib0", lambda m: self.bytes_on(m, "ib0") >= n)
        after = {d: lab.link_stats(lab.worker, d) for d in ("ib0", "eth0")}

        self.assertEqual(m.get("ibpath_alluxio_connections", side="server", device="ib0"), 1)
        self.assertEqual(self.bytes_on(m, "eth0"), 0)
        self.assertEqual(m.get("ibpath_alluxio_fallback_connections"), 0)
        self.assertEqual(m.get("ibpath_alluxio_fallback_bytes_total", direction="transmit"), 0)
        self.assertEqual(m.get("ibpath_alluxio_fallback_bytes_total", direction="receive"), 0)
        # Never more than the kernel sent: bytes are not counted twice.
        ib_tx = after["ib0"]["tx_bytes"] - before["ib0"]["tx_bytes"]
        self.assertLessEqual(self.bytes_on(m, "ib0"), ib_tx)
        self.assertLess(after["eth0"]["tx_bytes"] - before["eth0"]["tx_bytes"], 64 * 1024)
        # The agent's interface counters are the kernel's.
        self.assertGreaterEqual(m.get("ibpath_netdev_transmit_bytes_total", device="ib0"),
                                before["ib0"]["tx_bytes"] + n)
        self.assertEqual(m.get("ibpath_collector_success", collector="alluxio_connections"), 1)
        client.stdin.close()
        client.wait(10)

    def test_client_dialing_the_ethernet_address_is_fallback(self):
        lab = self.lab
        self.start(listen="0.0.0.0")
        m = lab.scrape()
        self.assertEqual(m.get("ibpath_alluxio_listener_info", role="worker_data", device="any"), 1,
                         m.text)
        n = 16 * MiB
        client = lab.read(WORKER_ETH, n, hold=True)
        m = lab.wait_metric("bytes attributed to eth0", lambda m: self.bytes_on(m, "eth0") >= n)
        self.assertEqual(m.get("ibpath_alluxio_connections", side="server", device="eth0"), 1)
        self.assertEqual(m.get("ibpath_alluxio_fallback_connections"), 1)
        self.assertGreaterEqual(m.get("ibpath_alluxio_fallback_bytes_total", direction="transmit"), n)
        self.assertEqual(self.bytes_on(m, "ib0"), 0)
        client.stdin.close()
        client.wait(10)

    def test_route_hijack_attributes_bytes_to_the_egress_device(self):
        """Both ends bound to fabric addresses, but a /32 route on the worker
        sends its egress over Ethernet: the local address's device (ib0) is
        the wrong answer, the route's (eth0) the right one."""
        lab = self.lab
        self.start()
        run("ip", "-n", lab.worker, "route", "add", CLIENT_IB + "/32", "via", CLIENT_ETH, "dev", "eth0")
        route = run("ip", "netns", "exec", lab.worker, "ip", "route", "get", CLIENT_IB, "from",
                    WORKER_IB).stdout
        self.assertIn("dev eth0", route, "the lab's hijack route is not in effect")
        before = {d: lab.link_stats(lab.worker, d) for d in ("ib0", "eth0")}

        n = 32 * MiB
        client = lab.read(WORKER_IB, n, src=CLIENT_IB, hold=True)
        m = lab.wait_metric("bytes attributed to eth0", lambda m: self.bytes_on(m, "eth0") >= n)
        after = {d: lab.link_stats(lab.worker, d) for d in ("ib0", "eth0")}

        self.assertEqual(m.get("ibpath_alluxio_connections", side="server", device="eth0"), 1)
        self.assertEqual(m.get("ibpath_alluxio_fallback_connections"), 1)
        self.assertGreaterEqual(m.get("ibpath_alluxio_fallback_bytes_total", direction="transmit"), n)
        self.assertEqual(self.bytes_on(m, "ib0"), 0)
        # What the agent attributes to eth0 matches what eth0 sent: all of
        # the payload, and the kernel's count exceeds it only by headers.
        agent_eth = self.bytes_on(m, "eth0")
        eth_tx = after["eth0"]["tx_bytes"] - before["eth0"]["tx_bytes"]
        ib_tx = after["ib0"]["tx_bytes"] - before["ib0"]["tx_bytes"]
        self.assertLessEqual(agent_eth, eth_tx)
        self.assertLessEqual(eth_tx, agent_eth * 1.05 + 64 * 1024,
                             "eth0 sent much more than the agent attributed to it")
        self.assertLess(ib_tx, 0.05 * n, "the worker's fabric device carried the data after all")
        client.stdin.close()
        client.wait(10)

    def test_short_lived_connections_are_counted(self):
        """50 connections that open, move 1 MiB and close between two
        samples: the destroy notices must bring their bytes in."""
        lab = self.lab
        self.start()
        m0 = lab.scrape()
        base = self.bytes_on(m0, "ib0")
        notices0 = m0.get("ibpath_alluxio_close_notices_total")
        self.assertEqual(m0.get("ibpath_alluxio_close_notices_enabled"), 1)
        count, n = 50, MiB
        self.assertEqual(lab.read(WORKER_IB, n, src=CLIENT_IB, count=count), count * n)
        want = 0.95 * count * n
        m = lab.wait_metric(">= 95% of 50 short-lived connections' bytes",
                            lambda m: self.bytes_on(m, "ib0") - base >= want)
        got = self.bytes_on(m, "ib0") - base
        print("short-lived: counted %d of %d bytes (%.2f%%)" % (got, count * n, 100 * got / (count * n)))
        # bytes_acked may include the FIN's sequence number, never more.
        self.assertLessEqual(got, count * (n + 2), "bytes counted twice")
        self.assertGreaterEqual(m.get("ibpath_alluxio_close_notices_total") - notices0, 1)
        self.assertEqual(m.get("ibpath_alluxio_fallback_bytes_total", direction="transmit"), 0)

    def test_interface_deleted_while_running(self):
        lab = self.lab
        self.start(listen="0.0.0.0")
        client = lab.read(WORKER_ETH, MiB, hold=True)
        lab.wait_metric("a connection on eth0",
                        lambda m: m.get("ibpath_alluxio_connections", side="server", device="eth0"))
        self.assertTrue(lab.scrape().has("ibpath_netdev_info", device="eth0"))
        run("ip", "-n", lab.worker, "link", "del", "eth0")
        m = lab.wait_metric("eth0's series to disappear",
                            lambda m: not any(n.startswith("ibpath_netdev_")
                                              for n in m.series_with_label("device", "eth0")))
        self.assertTrue(m.has("ibpath_netdev_info", device="ib0"))
        self.assertEqual(m.get("ibpath_collector_success", collector="netdev"), 1)
        self.assertFalse(m.has("ibpath_alluxio_connections", device="eth0"))
        client.stdin.close()
        client.wait(10)
        # Still serving after the fact.
        self.assertIsNotNone(lab.scrape().get("ibpath_build_info"))

    def test_worker_hostname_resolving_to_ethernet(self):
        lab = self.lab
        self.start(hosts={"worker.lab": WORKER_ETH})
        m = lab.scrape()
        self.assertEqual(m.get("ibpath_alluxio_advertised_address_info", property="alluxio.worker.hostname",
                               host="worker.lab", address=WORKER_ETH, device="eth0",
                               on_data_device="false"), 1, m.text)
        # The operator fixes /etc/hosts and tells the agent.
        lab.write_hosts(lab.worker, {"worker.lab": WORKER_IB})
        lab.agent.send_signal(1)  # SIGHUP
        m = lab.wait_metric("the hostname to resolve to the fabric address",
                            lambda m: m.get("ibpath_alluxio_advertised_address_info", host="worker.lab",
                                            address=WORKER_IB, device="ib0", on_data_device="true"))
        self.assertFalse(m.has("ibpath_alluxio_advertised_address_info", address=WORKER_ETH))

    def test_config_edited_while_running(self):
        lab = self.lab
        self.start()
        client = lab.read(WORKER_IB, MiB, src=CLIENT_IB, hold=True)
        m = lab.wait_metric("the fabric connection",
                            lambda m: m.get("ibpath_alluxio_connections", side="server", device="ib0"))
        self.assertEqual(m.get("ibpath_alluxio_fallback_connections"), 0)
        self.assertEqual(m.get("ibpath_alluxio_config_last_reload_success"), 1)

        # Edited: the data path is now declared to be eth0; the same
        # connection on ib0 becomes fallback. Noticed without a signal.
        lab.write_conf(CONF_IB.replace("=ib0", "=eth0"))
        m = lab.wait_metric("eth0 to become the expected device",
                            lambda m: m.get("ibpath_datapath_expected_device", device="eth0"))
        self.assertFalse(m.has("ibpath_datapath_expected_device", device="ib0"))
        self.assertEqual(m.get("ibpath_alluxio_fallback_connections"), 1)

        # Broken: an unknown substitution and a bad escape. The last good
        # configuration stays, the failure is visible.
        failures = m.get("ibpath_alluxio_config_reload_failures_total")
        lab.write_conf("alluxio.worker.data.bind.device=${no.such.key}\n"
                       "alluxio.worker.data.port=\\uZZZZ\n")
        m = lab.wait_metric("the reload to fail",
                            lambda m: m.get("ibpath_alluxio_config_last_reload_success") == 0)
        self.assertGreater(m.get("ibpath_alluxio_config_reload_failures_total"), failures)
        self.assertGreaterEqual(m.get("ibpath_alluxio_config_problems"), 2)
        self.assertEqual(m.get("ibpath_datapath_expected_device", device="eth0"), 1)
        self.assertEqual(m.get("ibpath_alluxio_port_info", role="worker_data", port=str(DATA_PORT)), 1)
        client.stdin.close()
        client.wait(10)


if __name__ == "__main__":
    unittest.main()

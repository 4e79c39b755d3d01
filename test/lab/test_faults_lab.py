"""Faults injected while the agent runs in the lab, scraped all the way
through: every scrape must answer, and no counter series may ever decrease
(LabTestCase checks that over every scrape taken, the background ones too).
"""
import os
import signal
import threading
import time
import unittest

from lab import CLIENT_IB, WORKER_ETH, WORKER_IB, LabTestCase, run
from test_agent_lab import CONF_IB

MiB = 1 << 20
SERVER_TX = dict(role="worker_data", side="server", direction="transmit")


class Scraper:
    """Scrapes the agent in a loop on a thread until stopped."""

    def __init__(self, lab):
        self.lab, self.stop_ev, self.count, self.errors = lab, threading.Event(), 0, []
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        while not self.stop_ev.is_set():
            try:
                self.lab.scrape()
                self.count += 1
            except Exception as e:  # noqa: BLE001 - reported by stop()
                if not self.stop_ev.is_set():
                    self.errors.append(str(e))
            self.stop_ev.wait(0.02)

    def wait_more(self, n, timeout=30):
        """Awaits n more scrapes: the fault was scraped through."""
        target = self.count + n
        self.lab.wait_for(lambda: self.count >= target or self.errors, "%d more scrapes" % n,
                          timeout)

    def stop(self):
        self.stop_ev.set()
        self.t.join(30)
        return self.count


class FaultsLab(LabTestCase):

    def start(self, listen=WORKER_IB, env=None):
        lab = self.lab
        lab.write_hosts(lab.worker, {"worker.lab": WORKER_IB})
        self.conf = lab.write_conf(CONF_IB)
        lab.start_worker(listen=listen)
        if env:
            os.environ.update(env)
            self.addCleanup(lambda: [os.environ.pop(k, None) for k in env])
        lab.start_agent(lab.worker, "--alluxio.conf=" + self.conf)
        self.scraper = Scraper(lab)
        self.addCleanup(self.scraper.stop)

    def finish(self):
        self.scraper.wait_more(3)
        n = self.scraper.stop()
        self.assertEqual(self.scraper.errors, [], "scrapes failed during the fault")
        return n

    def bytes_on(self, m, device):
        return m.get("ibpath_alluxio_bytes_total", 0, device=device, **SERVER_TX)

    def burst(self, count, n):
        """`count` connections to the worker from its own namespace (so that
        every socket is the agent's to hear about), `n` bytes read on each,
        then all reset at once (linger 0): one burst of destroy notices."""
        lab = self.lab
        p = lab.spawn(lab.worker, "python3", "-c", (
            "import socket,struct\n"
            "s=[socket.create_connection(('%s',29997)) for _ in range(%d)]\n"
            "for c in s: c.sendall(b'%d\\n')\n"
            "for c in s:\n"
            "  got=0\n"
            "  while got<%d: got+=len(c.recv(65536))\n"
            "for c in s: c.setsockopt(socket.SOL_SOCKET,socket.SO_LINGER,struct.pack('ii',1,0))\n"
            "for c in s: c.close()\n"
            "print('done',flush=True)\n") % (WORKER_IB, count, n, n), name="burst")
        self.assertEqual(p.stdout.readline().strip(), "done", lab.log_of(p))

    def test_burst_of_closes_with_the_agents_buffer_loses_nothing(self):
        """The same burst as below with the buffer the agent asks for (8 MiB
        with CAP_NET_ADMIN): no notice lost, every byte counted once."""
        lab = self.lab
        self.start()
        # Connections to the node's own address leave on lo.
        m0 = lab.scrape()
        base = self.bytes_on(m0, "lo")
        count, n = 400, 16 * 1024
        self.burst(count, n)
        m = lab.wait_metric("every burst connection's bytes",
                            lambda m: self.bytes_on(m, "lo") - base >= count * n)
        self.assertLessEqual(self.bytes_on(m, "lo") - base, count * (n + 2), "bytes counted twice")
        self.assertEqual(m.get("ibpath_socket_events_lost_total"), 0)
        print("burst: server sent %d, counted %d; client received, counted %d; unaccounted %d" % (
            count * n, self.bytes_on(m, "lo") - base,
            m.get("ibpath_alluxio_bytes_total", 0, device="lo", side="client", direction="receive"),
            m.get("ibpath_alluxio_unaccounted_closes_total")))
        self.finish()

    def test_lost_close_notices_resynchronise(self):
        """A tiny notice buffer (what an agent without CAP_NET_ADMIN gets on a
        host with a small rmem_max, shrunk further) and 400 connections reset
        at once: the kernel drops notices (ENOBUFS), the agent counts the
        loss, takes a dump at once, keeps running, and never counts a byte
        twice. The bytes of connections whose notice was lost are lost: they
        show in ibpath_alluxio_unaccounted_closes_total."""
        lab = self.lab
        self.start(env={"IBPATH_TEST_NOTICE_RCVBUF": "2048"})
        m0 = lab.scrape()
        self.assertLessEqual(m0.get("ibpath_alluxio_close_notice_buffer_bytes"), 16384, m0.text)
        base = self.bytes_on(m0, "ib0")
        count, n = 400, 16 * 1024
        self.burst(count, n)
        m = lab.wait_metric("the loss to be counted",
                            lambda m: m.get("ibpath_socket_events_lost_total", 0) > 0)
        self.assertGreaterEqual(m.get("ibpath_socket_resyncs_total"), 1)
        got = self.bytes_on(lab.scrape(), "ib0") - base
        print("lost notices: %d overflow(s), %d resync(s), %d of %d bytes counted, %d unaccounted "
              "closes" % (m.get("ibpath_socket_events_lost_total"),
                          m.get("ibpath_socket_resyncs_total"), got, count * n,
                          m.get("ibpath_alluxio_unaccounted_closes_total")))
        self.assertLessEqual(got, count * (n + 2), "bytes counted twice")
        self.finish()

    def test_interface_renamed_mid_traffic(self):
        lab = self.lab
        self.start(listen="0.0.0.0")
        client = lab.read(WORKER_ETH, MiB, hold=True)
        lab.wait_metric("a connection on eth0",
                        lambda m: m.get("ibpath_alluxio_connections", side="server", device="eth0"))
        run("ip", "-n", lab.worker, "link", "set", "eth0", "down")
        run("ip", "-n", lab.worker, "link", "set", "eth0", "name", "eth9")
        run("ip", "-n", lab.worker, "link", "set", "eth9", "up")
        m = lab.wait_metric("the renamed device",
                            lambda m: m.has("ibpath_netdev_info", device="eth9")
                            and not m.has("ibpath_netdev_info", device="eth0")
                            and m.get("ibpath_alluxio_connections", side="server", device="eth9"))
        self.assertEqual(m.get("ibpath_collector_success", collector="netdev"), 1)
        client.stdin.close()
        client.wait(10)
        self.finish()

    def test_sighup_storm(self):
        lab = self.lab
        self.start()
        before = lab.scrape().get("ibpath_alluxio_config_reloads_total")
        for _ in range(300):
            lab.agent.send_signal(signal.SIGHUP)
        m = lab.wait_metric("reloads after the storm",
                            lambda m: m.get("ibpath_alluxio_config_reloads_total") > before)
        self.assertEqual(m.get("ibpath_alluxio_config_last_reload_success"), 1)
        self.assertEqual(m.get("ibpath_datapath_expected_device", device="ib0"), 1)
        self.finish()

    def test_config_replaced_atomically_then_truncated(self):
        lab = self.lab
        self.start()
        # Replaced by rename (a new inode), as configuration management does.
        tmp = self.conf + ".new"
        with open(tmp, "w") as f:
            f.write(CONF_IB.replace("=ib0", "=eth0"))
        os.rename(tmp, self.conf)
        m = lab.wait_metric("the renamed-in file",
                            lambda m: m.get("ibpath_datapath_expected_device", device="eth0"))
        # Truncated (an in-place rewrite caught half way): the last good
        # configuration stays, the failure shows.
        failures = m.get("ibpath_alluxio_config_reload_failures_total")
        open(self.conf, "w").close()
        m = lab.wait_metric("the truncated file to be refused",
                            lambda m: m.get("ibpath_alluxio_config_reload_failures_total") > failures)
        self.assertEqual(m.get("ibpath_alluxio_config_last_reload_success"), 0)
        self.assertEqual(m.get("ibpath_datapath_expected_device", device="eth0"), 1)
        # The rewrite completes.
        with open(self.conf, "w") as f:
            f.write(CONF_IB)
        m = lab.wait_metric("the completed file",
                            lambda m: m.get("ibpath_alluxio_config_last_reload_success") == 1
                            and m.get("ibpath_datapath_expected_device", device="ib0"))
        self.finish()

    def test_worker_that_never_answers(self):
        """A peer that accepts and then says nothing: the connection is
        tracked with zero bytes, scrapes keep answering promptly."""
        lab = self.lab
        self.start()
        # The stand-in worker answers only after a request line; this client
        # connects and never sends one, so nothing ever moves.
        p = lab.spawn(lab.client, "python3", "-c",
                      "import socket,sys; s=socket.create_connection(('%s',29997)); "
                      "print('connected',flush=True); sys.stdin.read()" % WORKER_IB,
                      stdin=__import__("subprocess").PIPE, name="silent")
        self.assertEqual(p.stdout.readline().strip(), "connected")
        m = lab.wait_metric("the silent connection",
                            lambda m: m.get("ibpath_alluxio_connections", side="server", device="ib0"))
        t0 = time.monotonic()
        for _ in range(10):
            lab.scrape()
        self.assertLess((time.monotonic() - t0) / 10, 1.0, "scrapes slowed down")
        self.assertEqual(self.bytes_on(m, "ib0"), 0)
        p.stdin.close()
        p.wait(10)
        self.finish()


if __name__ == "__main__":
    unittest.main()

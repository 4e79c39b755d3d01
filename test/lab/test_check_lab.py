"""`ibpath-agent check` in the namespace lab: the checklist says healthy on
a healthy path and names the device and the fix when the route is hijacked.
"""
import json
import os
import subprocess
import sys
import unittest

from lab import CLIENT_ETH, CLIENT_IB, WORKER_IB, LabTestCase, agent_binary, run
from test_agent_lab import CONF_IB


class CheckLab(LabTestCase):

    def check(self, *flags):
        r = subprocess.run(["ip", "netns", "exec", self.lab.worker, agent_binary(), "check",
                            "--alluxio.conf=" + self.conf, "--netns.discover=off", *flags],
                           capture_output=True, text=True, timeout=60)
        return r.returncode, r.stdout, r.stderr

    def setUp(self):
        super().setUp()
        lab = self.lab
        lab.write_hosts(lab.worker, {"worker.lab": WORKER_IB})
        self.conf = lab.write_conf(CONF_IB)
        lab.start_worker(listen=WORKER_IB)

    def test_healthy_then_hijacked(self):
        lab = self.lab
        client = lab.read(WORKER_IB, 1 << 20, src=CLIENT_IB, hold=True)
        rc, out, err = self.check()
        self.assertEqual(rc, 0, out + err)
        self.assertRegex(out, r"\[OK  \] listeners .*worker_data 198\.18\.0\.1:29997 on ib0")
        self.assertRegex(out, r"\[OK  \] data_connections +1 data connection\(s\): 1 on ib0")
        self.assertIn("data path: healthy", out)
        client.stdin.close()
        client.wait(10)

        run("ip", "-n", lab.worker, "route", "add", CLIENT_IB + "/32", "via", CLIENT_ETH, "dev", "eth0")
        client = lab.read(WORKER_IB, 1 << 20, src=CLIENT_IB, hold=True)
        rc, out, err = self.check("--output=json")
        self.assertEqual(rc, 1, out + err)
        doc = json.loads(out)
        self.assertFalse(doc["healthy"])
        conn = next(c for c in doc["checks"] if c["name"] == "data_connections")
        self.assertEqual(conn["status"], "FAIL")
        self.assertIn("1 of 1 data connection(s) leave on eth0 instead of ib0", conn["detail"])
        self.assertIn("alluxio.worker.data.bind.device=ib0", conn["fix"])
        client.stdin.close()
        client.wait(10)

    def test_check_runs_one_probe(self):
        lab = self.lab
        server = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                              "fixtures", "probe", "http_server.py")
        p = lab.spawn(lab.worker, sys.executable, server, "--bind", WORKER_IB, "--port", "28080",
                      stdin=subprocess.PIPE, name="http")
        self.assertTrue(p.stdout.readline().startswith("PORTS"), lab.log_of(p))
        url = "--probe.url=http://%s:28080/data/%d" % (WORKER_IB, 8 << 20)
        # From the client node, bound to its fabric address (the client conf).
        conf = lab.write_conf("alluxio.user.network.data.bind.device=ib0\n", name="client.properties")

        def check_client():
            r = subprocess.run(["ip", "netns", "exec", lab.client, agent_binary(), "check",
                                "--alluxio.conf=" + conf, "--netns.discover=off", url,
                                "--output=json"], capture_output=True, text=True, timeout=60)
            doc = json.loads(r.stdout)
            failed = [c for c in doc["checks"] if c["status"] == "FAIL" and c["name"] != "probe"]
            self.assertEqual(failed, [], "only the probe is under test here")
            return r.returncode, next(c for c in doc["checks"] if c["name"] == "probe")

        rc, probe = check_client()
        self.assertEqual(rc, 0, probe)
        self.assertEqual(probe["status"], "OK", probe)
        self.assertRegex(probe["detail"], r"MiB/s over ib0")
        # The worker's replies to the client leave over Ethernet.
        run("ip", "-n", lab.worker, "route", "add", CLIENT_IB + "/32", "via", CLIENT_ETH, "dev", "eth0")
        rc, probe = check_client()
        self.assertEqual(rc, 1, probe)
        self.assertEqual(probe["status"], "FAIL", probe)
        self.assertIn("eth0", probe["detail"])

    def test_usage_and_config_errors_exit_2(self):
        rc, out, err = self.check("--output=yaml")
        self.assertEqual(rc, 2)
        self.assertIn("--output", err)
        r = subprocess.run([agent_binary(), "check", "--alluxio.conf=/nonexistent/alluxio-site.properties"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("/nonexistent/alluxio-site.properties", r.stderr)


if __name__ == "__main__":
    unittest.main()

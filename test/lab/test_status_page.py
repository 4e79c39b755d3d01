"""The node status page at `/` in headless Chromium (Debian `chromium`).

The agent runs in the worker namespace of the lab (see lab.py); Chromium runs
in the same namespace and loads http://127.0.0.1:9879/ as a browser would:
`--dump-dom` gives the DOM it built (the verdict and the device names are
asserted in it) and `--screenshot` a PNG, whose path and size are printed.
Screenshots are kept in $IBPATH_STATUS_PAGE_DIR (CMake sets the build
directory) as status-page-{healthy,fallback}.png, else under /tmp.
"""
import os
import re
import shutil
import struct
import subprocess
import tempfile
import unittest

from lab import AGENT_PORT, CLIENT_ETH, CLIENT_IB, WORKER_IB, LabTestCase, run
from test_agent_lab import CONF_IB

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
MiB = 1 << 20


def png_size(path):
    """(width, height) from a PNG's IHDR chunk; fails on anything else."""
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise AssertionError("%s is not a PNG" % path)
    return struct.unpack(">II", head[16:24])


def text_of(dom, element_id):
    """The text inside the element with `element_id` (tags dropped)."""
    m = re.search(r'<div id="%s"[^>]*>(.*?)</div>\s*(?:<h2|$)' % element_id, dom, re.S)
    if not m:
        raise AssertionError("no #%s in the DOM:\n%s" % (element_id, dom[:3000]))
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", m.group(1))).strip()


class StatusPageLab(LabTestCase):

    def setUp(self):
        super().setUp()
        if not os.access(CHROMIUM, os.X_OK):
            self.fail("chromium not installed (scripts/install-deps.sh installs it)")
        lab = self.lab
        lab.write_hosts(lab.worker, {"worker.lab": WORKER_IB})
        self.conf = lab.write_conf(CONF_IB)
        lab.start_worker(listen=WORKER_IB)
        lab.start_agent(lab.worker, "--alluxio.conf=" + self.conf)
        self.url = "http://127.0.0.1:%d/" % AGENT_PORT

    def chromium(self, *args):
        """Runs headless Chromium in the agent's namespace on the page; its
        stdout. Chromium's stderr (dbus complaints) is only shown on failure."""
        profile = tempfile.mkdtemp(prefix="chromium-", dir=self.lab.tmp)
        cmd = ["ip", "netns", "exec", self.lab.worker, CHROMIUM, "--headless", "--no-sandbox",
               "--disable-gpu", "--no-first-run", "--user-data-dir=" + profile, *args, self.url]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
        self.assertEqual(r.returncode, 0, "chromium failed:\n" + r.stderr[-3000:])
        return r.stdout

    def render(self, state):
        """The DOM Chromium built, and a screenshot kept under `state`'s name."""
        dom = self.chromium("--dump-dom")
        shot = os.path.join(self.lab.tmp, "status-page-%s.png" % state)
        self.chromium("--screenshot=" + shot, "--window-size=1200,1600", "--hide-scrollbars")
        self.assertTrue(os.path.exists(shot), "chromium wrote no screenshot")
        width, height = png_size(shot)
        self.assertEqual((width, height), (1200, 1600))
        keep = os.environ.get("IBPATH_STATUS_PAGE_DIR") or tempfile.gettempdir()
        os.makedirs(keep, exist_ok=True)
        kept = os.path.join(keep, "status-page-%s.png" % state)
        shutil.copyfile(shot, kept)
        print("screenshot (%s): %s, %d bytes, %dx%d" % (state, kept, os.path.getsize(kept), width,
                                                          height))
        return dom

    def hold_connection(self, device):
        client = self.lab.read(WORKER_IB, 4 * MiB, src=CLIENT_IB, hold=True)
        self.addCleanup(lambda: (client.stdin.close(), client.wait(10)))
        self.lab.wait_metric("the data connection on " + device,
                             lambda m: m.get("ibpath_alluxio_connections", side="server",
                                             device=device))

    def test_healthy(self):
        self.hold_connection("ib0")
        page = self.lab.scrape("/")  # curl: the same page, before any browser
        self.assertIn('<meta http-equiv="refresh" content="10">', page)
        dom = self.render("healthy")
        self.assertIn('class="verdict fabric"', dom)
        verdict = text_of(dom, "verdict")
        self.assertIn("Data path on fabric", verdict)
        self.assertIn("1 data connection(s): 1 on ib0", verdict)
        self.assertNotIn("FALLBACK", dom)
        # Expected device and its source, the listener on the fabric address.
        self.assertRegex(dom, r"<td>ib0</td><td>alluxio-conf</td><td class=\"ok\">yes</td>")
        self.assertRegex(dom, r"<td>worker_data</td><td>198\.18\.0\.1</td><td>29997</td>"
                              r"<td>ib0</td><td class=\"ok\">yes</td>")
        self.assertRegex(dom, r"<td>worker_data</td><td>yes</td><td>server</td><td>ib0</td>"
                              r"<td class=\"num\">1</td>")
        self.assertIn("checklist: healthy", dom)

    def test_fallback_route_hijack(self):
        """The worker's route to the client's fabric address goes over eth0:
        the page says FALLBACK and names eth0, as `check` does."""
        lab = self.lab
        run("ip", "-n", lab.worker, "route", "add", CLIENT_IB + "/32", "via", CLIENT_ETH, "dev",
            "eth0")
        self.hold_connection("eth0")
        dom = self.render("fallback")
        self.assertIn('class="verdict fallback"', dom)
        verdict = text_of(dom, "verdict")
        self.assertIn("FALLBACK", verdict)
        self.assertIn("1 of 1 data connection(s) leave on eth0 instead of ib0", verdict)
        self.assertIn("checklist: UNHEALTHY", verdict)
        self.assertRegex(dom, r"<td>worker_data</td><td>yes</td><td>server</td><td>eth0</td>")
        self.assertRegex(dom, r'<td class="fail">FAIL</td><td>data_connections')
        self.assertIn("fix: verify alluxio.worker.data.bind.device=ib0", dom)


if __name__ == "__main__":
    unittest.main()

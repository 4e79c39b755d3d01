#!/usr/bin/env python3
"""--web.config.file end to end, on loopback, no root needed.

Makes a test CA, a server certificate and client certificates with openssl,
bcrypt hashes with libxcrypt (ctypes), starts the real agent with a web
configuration and checks with curl: basic auth (401 without or with wrong
credentials, 200 with the right ones on /metrics, / and /probe; /healthz
open), the TLS handshake against the test CA, plain HTTP refused on the TLS
port, min_version TLS13 refusing TLS 1.2, client certificates when required,
a bad new configuration keeping the old one (reload metric 0), a good one
with a new password taking over. Then a real Prometheus scrapes the agent
through TLS, a client certificate and basic auth, and `up` must be 1.
"""
import ctypes
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import json

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
AGENT = os.environ.get("IBPATH_AGENT", os.path.join(ROOT, "build", "ibpath-agent"))
SYSFS = os.path.join(ROOT, "test", "fixtures", "sysfs", "bond_one_down")

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def bcrypt(password):
    lib = ctypes.CDLL("libcrypt.so.1")
    lib.crypt_gensalt.restype = ctypes.c_char_p
    lib.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int]
    lib.crypt.restype = ctypes.c_char_p
    lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    salt = lib.crypt_gensalt(b"$2b$", 5, None, 0)
    return lib.crypt(password.encode(), salt).decode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(d):
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    for ca in ("ca", "rogue-ca"):
        openssl("req", "-x509", *ec, "-keyout", f"{ca}.key", "-out", f"{ca}.crt", "-days", "2",
                "-subj", f"/CN=ibpath {ca}", cwd=d)
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    with open(os.path.join(d, "client.ext"), "w") as f:
        f.write("extendedKeyUsage=clientAuth\n")
    for name, ca, ext in (("server", "ca", "server.ext"), ("client", "ca", "client.ext"),
                          ("rogue", "rogue-ca", "client.ext")):
        openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj",
                f"/CN=ibpath {name}", cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
                "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", ext, cwd=d)


def write_atomically(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def web_config(user, hash_, min_version="TLS12", client_auth=None):
    text = ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
            f"  min_version: {min_version}\n")
    if client_auth:
        text += f"  client_auth_type: {client_auth}\n  client_ca_file: ca.crt\n"
    return text + f"basic_auth_users:\n  {user}: {hash_}\n"


class Curl:
    def __init__(self, d, port):
        self.d, self.port = d, port

    def run(self, path, user=None, scheme="https", cert=None, extra=()):
        """(curl exit code, HTTP status or 0)."""
        cmd = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5",
               "--cacert", os.path.join(self.d, "ca.crt"), *extra]
        if user:
            cmd += ["-u", user]
        if cert:
            cmd += ["--cert", os.path.join(self.d, cert + ".crt"),
                    "--key", os.path.join(self.d, cert + ".key")]
        cmd.append(f"{scheme}://127.0.0.1:{self.port}{path}")
        r = subprocess.run(cmd, capture_output=True, text=True)
        return r.returncode, int(r.stdout or 0)

    def metric(self, name, user, cert=None):
        cmd = ["curl", "-sf", "--max-time", "5", "--cacert", os.path.join(self.d, "ca.crt"),
               "-u", user, f"https://127.0.0.1:{self.port}/metrics"]
        if cert:
            cmd += ["--cert", os.path.join(self.d, cert + ".crt"),
                    "--key", os.path.join(self.d, cert + ".key")]
        r = subprocess.run(cmd, capture_output=True, text=True)
        for line in r.stdout.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return None


def wait_reload(curl, user, before, cert=None, timeout=10):
    """Waits until ibpath_web_config_reloads_total passes `before`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = curl.metric("ibpath_web_config_reloads_total", user, cert)
        if v is not None and v > before:
            return v
        time.sleep(0.2)  # the agent looks every 2 s
    return None


def prometheus_up(d, agent_port):
    prom = shutil.which("prometheus")
    if prom is None:
        check(False, "prometheus is installed (Debian package prometheus)")
        return
    port = free_port()
    with open(os.path.join(d, "prometheus.yml"), "w") as f:
        f.write(f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: ibpath
    scheme: https
    tls_config:
      ca_file: {d}/ca.crt
      cert_file: {d}/client.crt
      key_file: {d}/client.key
    basic_auth:
      username: scraper
      password: second
    static_configs:
      - targets: ['127.0.0.1:{agent_port}']
""")
    proc = subprocess.Popen(
        [prom, f"--config.file={d}/prometheus.yml", f"--storage.tsdb.path={d}/tsdb",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "prometheus.log"), "w"))
    try:
        url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode(
            {"query": 'up{job="ibpath"}'})
        value = None
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and value != "1":
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    result = json.load(r)["data"]["result"]
                    value = result[0]["value"][1] if result else None
            except OSError:
                pass
            time.sleep(0.5)  # scrapes every second
        check(value == "1", f"Prometheus scrapes through TLS + client cert + basic auth: up={value}")
        if value != "1":
            with open(os.path.join(d, "prometheus.log")) as f:
                print(f.read()[-3000:])
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main():
    if not os.access(AGENT, os.X_OK):
        print(f"FAIL: agent binary {AGENT} not found")
        return 1
    d = tempfile.mkdtemp(prefix="ibpath-web-tls-")
    agent = None
    try:
        make_pki(d)
        cfg = os.path.join(d, "web.yml")
        write_atomically(cfg, web_config("prometheus", bcrypt("first")))
        port = free_port()
        log = open(os.path.join(d, "agent.log"), "w")
        agent = subprocess.Popen(
            [AGENT, f"--web.listen-address=127.0.0.1:{port}", f"--web.config.file={cfg}",
             f"--path.sysfs={SYSFS}", "--netns.discover=off", "--scrape.min-interval=0s"],
            stdout=log, stderr=subprocess.STDOUT)
        curl = Curl(d, port)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and agent.poll() is None:
            if curl.run("/healthz")[1] == 200:
                break
            time.sleep(0.1)  # readiness, bounded by the deadline
        check(curl.run("/healthz") == (0, 200), "/healthz answers over TLS without credentials")

        good = "prometheus:first"
        for path in ("/metrics", "/", "/probe?target=http://127.0.0.1:1/"):
            check(curl.run(path)[1] == 401, f"{path} without credentials: 401")
            check(curl.run(path, "prometheus:wrong")[1] == 401, f"{path} wrong password: 401")
            check(curl.run(path, "nobody:first")[1] == 401, f"{path} unknown user: 401")
            check(curl.run(path, good) == (0, 200), f"{path} right password: 200")
        r = subprocess.run(["curl", "-si", "--cacert", f"{d}/ca.crt",
                            f"https://127.0.0.1:{port}/metrics"], capture_output=True, text=True)
        check('WWW-Authenticate: Basic realm="ibpath"' in r.stdout, "401 carries WWW-Authenticate")
        rc, status = curl.run("/metrics", good, scheme="http")
        check(rc != 0 and status == 0, f"plain HTTP on the TLS port refused (curl rc={rc})")
        check(curl.run("/metrics", good, extra=["--tls-max", "1.2"]) == (0, 200),
              "TLS 1.2 accepted with min_version TLS12")
        rc, _ = subprocess.run(["curl", "-sf", "-o", "/dev/null", "-u", good,
                                f"https://127.0.0.1:{port}/metrics"]).returncode, 0
        check(rc != 0, "a client without the test CA does not trust the server")

        # min_version TLS13.
        before = curl.metric("ibpath_web_config_reloads_total", good)
        write_atomically(cfg, web_config("prometheus", bcrypt("first"), "TLS13"))
        before = wait_reload(curl, good, before)
        check(before is not None, "a changed web configuration is re-read")
        rc, status = curl.run("/metrics", good, extra=["--tls-max", "1.2"])
        check(rc != 0 and status == 0, f"min_version TLS13 refuses TLS 1.2 (curl rc={rc})")
        check(curl.run("/metrics", good) == (0, 200), "TLS 1.3 accepted")

        # Client certificates required and verified against the test CA.
        write_atomically(cfg, web_config("prometheus", bcrypt("first"), "TLS12",
                                         "RequireAndVerifyClientCert"))
        before = wait_reload(curl, good, before, cert="client")
        check(before is not None, "client-certificate configuration re-read")
        for tls_max in ("1.2", "1.3"):
            extra = ["--tls-max", tls_max]
            rc, status = curl.run("/metrics", good, extra=extra)
            check(rc != 0 and status == 0, f"TLS {tls_max} without a client certificate refused "
                                           f"(curl rc={rc})")
            rc, status = curl.run("/metrics", good, cert="rogue", extra=extra)
            check(rc != 0 and status == 0, f"TLS {tls_max} with a certificate from another CA "
                                           f"refused (curl rc={rc})")
            check(curl.run("/metrics", good, cert="client", extra=extra) == (0, 200),
                  f"TLS {tls_max} with the client certificate: 200")
        check(curl.run("/metrics", None, cert="client")[1] == 401,
              "a client certificate does not replace basic auth")

        # A bad new version: the old one keeps serving, the metric says so.
        write_atomically(cfg, web_config("prometheus", "plaintext-password", "TLS12",
                                         "RequireAndVerifyClientCert"))
        before = wait_reload(curl, good, before, cert="client")
        check(before is not None, "bad configuration read")
        check(curl.run("/metrics", good, cert="client") == (0, 200), "old configuration still serves")
        check(curl.metric("ibpath_web_config_last_reload_success", good, "client") == 0,
              "ibpath_web_config_last_reload_success 0 after a bad file")
        check(curl.metric("ibpath_web_config_reload_failures_total", good, "client") == 1,
              "ibpath_web_config_reload_failures_total 1")
        check(agent.poll() is None, "agent still running")

        # A good one with a new user and password.
        write_atomically(cfg, web_config("scraper", bcrypt("second"), "TLS12",
                                         "RequireAndVerifyClientCert"))
        before = wait_reload(curl, "scraper:second", before, cert="client")
        check(before is not None, "new password works after the reload")
        check(curl.run("/metrics", good, cert="client")[1] == 401, "old password refused")
        check(curl.metric("ibpath_web_config_last_reload_success", "scraper:second", "client") == 1,
              "ibpath_web_config_last_reload_success back to 1")
        denied = curl.metric("ibpath_web_unauthorized_requests_total", "scraper:second", "client")
        check(denied is not None and denied >= 13, f"401s counted ({denied})")

        prometheus_up(d, port)
    finally:
        if agent is not None:
            agent.terminate()
            try:
                agent.wait(timeout=10)
            except subprocess.TimeoutExpired:
                agent.kill()
        if failures:
            with open(os.path.join(d, "agent.log")) as f:
                print("--- agent log (tail) ---\n" + f.read()[-4000:])
        shutil.rmtree(d, ignore_errors=True)
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("web TLS and basic auth: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

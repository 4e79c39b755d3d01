#!/usr/bin/env python3
"""Checks of the ibpath-agent .deb (packaging/), run by ctest (label `packaging`).

    deb_test.py build     BUILD_DIR   cpack -G DEB; leaves exactly one .deb in BUILD_DIR/packages
    deb_test.py contents  BUILD_DIR   dpkg-deb -c/-I: files, Depends, conffiles, scripts
    deb_test.py install   BUILD_DIR   dpkg --root into a scratch root: user, enablement,
                                      the installed binary runs, conffile kept, purge
    deb_test.py unit      BUILD_DIR   systemd-analyze verify and security --offline
    deb_test.py caps      BUILD_DIR   the installed binary as an unprivileged user with only
                                      the unit's capabilities serves /metrics (root only)
"""
import glob
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

SKIP = 77  # ctest SKIP_RETURN_CODE
SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UNIT = "/lib/systemd/system/ibpath-agent.service"
# Highest `systemd-analyze security --offline` exposure accepted (lower is better);
# packaging/README.md records the measured value.
MAX_EXPOSURE = 2.0
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def run(cmd, check=True, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def the_deb(build):
    debs = glob.glob(os.path.join(build, "packages", "ibpath-agent_*.deb"))
    if len(debs) != 1:
        raise SystemExit(f"want one ibpath-agent .deb in {build}/packages, found {debs}; run the build test")
    return debs[0]


def build(build_dir):
    out = os.path.join(build_dir, "packages")
    for old in glob.glob(os.path.join(out, "ibpath-agent_*.deb")):
        os.remove(old)
    r = run(["cpack", "-G", "DEB", "--config", os.path.join(build_dir, "CPackConfig.cmake")],
            check=False, cwd=build_dir)
    print(r.stdout[-3000:], r.stderr[-3000:])
    if r.returncode != 0:
        fail(f"cpack exited {r.returncode}")
        return
    print("built", the_deb(build_dir))


def control_field(info, name):
    m = re.search(rf"^ {name}: (.*(?:\n  .*)*)", info, re.M)
    return m.group(1) if m else ""


def needed_packages(binary):
    """Debian packages holding the binary's DT_NEEDED libraries, on this machine."""
    dyn = run(["readelf", "-d", binary]).stdout
    libs = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", dyn)
    pkgs = {}
    for lib in libs:
        r = run(["dpkg", "-S", f"*/{lib}"], check=False)
        owners = {line.split(":")[0] for line in r.stdout.splitlines() if ":" in line}
        # A package also satisfies the names it Provides (libspdlog1.10 provides
        # libspdlog1.10-fmt9, the name dpkg-shlibdeps declares).
        for o in list(owners):
            provides = run(["dpkg-query", "-W", "-f=${Provides}", o], check=False).stdout
            owners |= {p.strip().split(" ")[0] for p in provides.split(",") if p.strip()}
        pkgs[lib] = owners
    return pkgs


def contents(build_dir):
    deb = the_deb(build_dir)
    listing = run(["dpkg-deb", "-c", deb]).stdout
    files = {line.split()[-1].lstrip(".") for line in listing.splitlines()}
    want = [
        "/usr/bin/ibpath-agent",
        UNIT,
        "/etc/default/ibpath-agent",
        "/usr/share/man/man1/ibpath-agent.1.gz",
        "/usr/share/doc/ibpath-agent/README.md",
        "/usr/share/doc/ibpath-agent/runbook.md",
        "/usr/share/doc/ibpath-agent/pod-netns.conf.example",
    ]
    want += ["/usr/share/ibpath/alerts/" + os.path.basename(p)
             for p in glob.glob(os.path.join(SOURCE, "alerts", "*.rules.yml"))]
    want += ["/usr/share/ibpath/dashboards/" + os.path.basename(p)
             for p in glob.glob(os.path.join(SOURCE, "dashboards", "*.json"))]
    if not any(w.startswith("/usr/share/ibpath/alerts/") for w in want):
        fail("no alerts/*.rules.yml in the source tree")
    for w in want:
        if w not in files:
            fail(f"{w} missing from the package")
    for line in listing.splitlines():
        if " root/root " not in line:
            fail(f"not owned by root/root: {line}")
    info = run(["dpkg-deb", "-I", deb]).stdout
    print(info)
    depends = control_field(info, "Depends")
    dep_names = {d.strip().split(" ")[0] for d in depends.split(",") if d.strip()}
    for pkg in ["libnl-route-3-200", "libnl-3-200", "libprometheus-cpp-core1.0", "libcivetweb1",
                "libssl3", "adduser", "init-system-helpers", "libc6", "libstdc++6"]:
        if pkg not in dep_names:
            fail(f"Depends lacks {pkg}: {depends}")
    # Every library the binary links must come from a declared package
    # (libibumad3 too, as soon as the agent links libibumad).
    with tempfile.TemporaryDirectory() as tmp:
        run(["dpkg-deb", "-x", deb, tmp])
        for lib, owners in needed_packages(os.path.join(tmp, "usr/bin/ibpath-agent")).items():
            names = {o.split(":")[0] for o in owners}
            if not names & dep_names:
                fail(f"{lib} (from {sorted(names) or 'no package'}) is not in Depends")
            else:
                print(f"ok: {lib} <- {sorted(names & dep_names)}")
    # Every dependency is installed on this Debian 12 machine in a satisfying version.
    for dep in [d.strip() for d in depends.split(",") if d.strip()]:
        name = dep.split(" ")[0]
        m = re.search(r"\((\S+) (\S+)\)", dep)
        v = run(["dpkg-query", "-W", "-f=${Version}", name], check=False)
        if v.returncode != 0:
            fail(f"dependency {dep} is not installed here")
        elif m and run(["dpkg", "--compare-versions", v.stdout, m.group(1), m.group(2)],
                       check=False).returncode != 0:
            fail(f"dependency {dep}: this machine has {v.stdout}")
    with tempfile.TemporaryDirectory() as tmp:
        run(["dpkg-deb", "-e", deb, tmp])
        conffiles = open(os.path.join(tmp, "conffiles")).read().split() \
            if os.path.exists(os.path.join(tmp, "conffiles")) else []
        if conffiles != ["/etc/default/ibpath-agent"]:
            fail(f"conffiles is {conffiles}, want /etc/default/ibpath-agent")
        for script in ["postinst", "prerm", "postrm"]:
            path = os.path.join(tmp, script)
            if not os.path.exists(path):
                fail(f"maintainer script {script} missing")
                continue
            if not os.access(path, os.X_OK):
                fail(f"{script} is not executable")
            if run(["sh", "-n", path], check=False).returncode != 0:
                fail(f"{script}: sh -n fails")
            if shutil.which("shellcheck"):
                r = run(["shellcheck", "-s", "sh", path], check=False)
                if r.returncode != 0:
                    fail(f"shellcheck {script}:\n{r.stdout}")
        postinst = open(os.path.join(tmp, "postinst")).read()
        if "adduser --quiet --system --group --no-create-home" not in postinst:
            fail("postinst does not create the ibpath system user with adduser")


def dpkg_root(root, *args):
    return run(["dpkg", f"--root={root}", f"--log={root}/var/log/dpkg.log", "--force-not-root",
                "--force-script-chrootless", "--force-depends", *args], check=False,
               env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))


def scratch_root(root):
    """An empty root that dpkg and useradd accept: a dpkg database and /etc/passwd."""
    for d in ["etc", "var/lib/dpkg/updates", "var/lib/dpkg/info", "var/log"]:
        os.makedirs(os.path.join(root, d), exist_ok=True)
    open(os.path.join(root, "var/lib/dpkg/status"), "w").close()
    for name, text, mode in [("passwd", "root:x:0:0:root:/root:/bin/sh\n", 0o644),
                             ("group", "root:x:0:\n", 0o644),
                             ("shadow", "root:*:19000:0:99999:7:::\n", 0o640),
                             ("gshadow", "root:*::\n", 0o640)]:
        p = os.path.join(root, "etc", name)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)


def install(build_dir):
    deb = the_deb(build_dir)
    with tempfile.TemporaryDirectory(prefix="ibpath-root-") as root:
        scratch_root(root)
        # Maintainer scripts run outside the root with DPKG_ROOT set
        # (--force-script-chrootless): the root has no shell to chroot into.
        r = dpkg_root(root, "-i", deb)
        print(r.stdout, r.stderr)
        if r.returncode != 0:
            fail(f"dpkg --root -i exited {r.returncode}")
            return
        status = run(["dpkg-query", f"--admindir={root}/var/lib/dpkg", "-W", "-f=${Status}",
                      "ibpath-agent"], check=False).stdout
        if status != "install ok installed":
            fail(f"package status in the scratch root: {status!r}")
        passwd = open(os.path.join(root, "etc/passwd")).read()
        m = re.search(r"^ibpath:x:(\d+):(\d+):[^:\n]*:([^:\n]*):([^:\n]*)$", passwd, re.M)
        if not m:
            fail(f"postinst made no ibpath user:\n{passwd}")
        elif int(m.group(1)) >= 1000 or m.group(4) != "/usr/sbin/nologin":
            fail(f"ibpath is not a system user without login: {m.group(0)}")
        if "ibpath:x:" not in open(os.path.join(root, "etc/group")).read():
            fail("postinst made no ibpath group")
        wants = os.path.join(root, "etc/systemd/system/multi-user.target.wants/ibpath-agent.service")
        if not os.path.islink(wants) or os.readlink(wants) != UNIT:
            fail(f"unit not enabled: {wants}")
        binary = os.path.join(root, "usr/bin/ibpath-agent")
        v = run([binary, "--version"], check=False)
        print("installed binary:", v.stdout.strip())
        if v.returncode != 0 or not v.stdout.startswith("ibpath-agent "):
            fail(f"{binary} --version: exit {v.returncode} {v.stdout!r} {v.stderr!r}")
        h = run([binary, "--help"], check=False)
        if h.returncode != 0 or "--web.listen-address" not in h.stdout:
            fail("installed binary --help does not list its flags")
        if run(["file", binary]).stdout.find("stripped") < 0 or "not stripped" in run(["file", binary]).stdout:
            fail("installed binary is not stripped")
        # The conffile: a local edit survives a reinstall, is kept on remove, goes on purge.
        conf = os.path.join(root, "etc/default/ibpath-agent")
        with open(conf, "a") as f:
            f.write('ARGS="--datapath.devices=ib0"\n')
        r = dpkg_root(root, "-i", deb)
        if r.returncode != 0 or "--datapath.devices=ib0" not in open(conf).read():
            fail(f"reinstall lost the local edit of {conf}: {r.stdout} {r.stderr}")
        r = dpkg_root(root, "--remove", "ibpath-agent")
        if r.returncode != 0 or os.path.exists(binary) or not os.path.exists(conf):
            fail(f"remove: exit {r.returncode}, binary left {os.path.exists(binary)}, "
                 f"conffile kept {os.path.exists(conf)}")
        r = dpkg_root(root, "--purge", "ibpath-agent")
        if r.returncode != 0 or os.path.exists(conf) or os.path.lexists(wants):
            fail(f"purge: exit {r.returncode}, conffile left {os.path.exists(conf)}, "
                 f"enablement left {os.path.lexists(wants)}\n{r.stdout}{r.stderr}")


def unit(build_dir):
    deb = the_deb(build_dir)
    with tempfile.TemporaryDirectory(prefix="ibpath-unit-") as tmp:
        run(["dpkg-deb", "-x", deb, tmp])
        unit_file = tmp + UNIT
        env = dict(os.environ, MANPATH=os.path.join(tmp, "usr/share/man"), SYSTEMD_LOG_COLOR="0")
        if os.geteuid() == 0 and shutil.which("unshare"):
            # The unit names /usr/bin/ibpath-agent: show the packaged one there, in a
            # private mount namespace, so verify also checks ExecStart= and the man page.
            cmd = ["unshare", "--mount", "sh", "-c",
                   f'mount -t overlay -o lowerdir="{tmp}/usr/bin":/usr/bin overlay /usr/bin && '
                   f'exec systemd-analyze verify "{unit_file}"']
        else:
            text = open(unit_file).read().replace("/usr/bin/ibpath-agent", tmp + "/usr/bin/ibpath-agent")
            unit_file = os.path.join(tmp, "ibpath-agent.service")
            open(unit_file, "w").write(text)
            cmd = ["systemd-analyze", "verify", unit_file]
        r = run(cmd, check=False, env=env)
        print("systemd-analyze verify:", r.returncode, r.stdout, r.stderr)
        # verify only warns about unknown keys and bad values: any output is a failure.
        if r.returncode != 0 or r.stdout.strip() or r.stderr.strip():
            fail("systemd-analyze verify reports problems")
        r = run(["systemd-analyze", "security", "--offline=yes", tmp + UNIT], check=False, env=env)
        print(r.stdout[-6000:], r.stderr)
        m = re.search(r"Overall exposure level for ibpath-agent.service: ([0-9.]+)", r.stdout)
        if r.returncode != 0 or not m:
            fail("systemd-analyze security --offline=yes gave no exposure level")
        elif float(m.group(1)) > MAX_EXPOSURE:
            fail(f"exposure {m.group(1)} > {MAX_EXPOSURE}: the unit lost hardening")
        else:
            print(f"exposure level {m.group(1)} (accepted up to {MAX_EXPOSURE})")
        text = open(tmp + UNIT).read()
        for line in ["User=ibpath", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
                     "PrivateTmp=yes", "CapabilityBoundingSet=CAP_NET_ADMIN",
                     "AmbientCapabilities=CAP_NET_ADMIN",
                     "RestrictAddressFamilies=AF_NETLINK AF_INET AF_INET6 AF_UNIX",
                     "SystemCallFilter=@system-service", "EnvironmentFile=-/etc/default/ibpath-agent",
                     "ExecStart=/usr/bin/ibpath-agent $ARGS", "Restart=on-failure"]:
            if not re.search(rf"^{re.escape(line)}$", text, re.M):
                fail(f"unit lacks {line}")
        if re.search(r"^PrivateNetwork=yes", text, re.M):
            fail("PrivateNetwork=yes would hide the host's network from the agent")
        # The drop-in example must parse as well.
        dropin_dir = os.path.join(tmp, "etc/systemd/system/ibpath-agent.service.d")
        os.makedirs(dropin_dir)
        shutil.copy(os.path.join(tmp, "usr/share/doc/ibpath-agent/pod-netns.conf.example"),
                    os.path.join(dropin_dir, "pod-netns.conf"))
        r = run(["systemd-analyze", "security", "--offline=yes", f"--root={tmp}", "ibpath-agent.service"],
                check=False, env=env)
        m = re.search(r"Overall exposure level for ibpath-agent.service: ([0-9.]+)", r.stdout)
        print("with the pod-netns drop-in:", m.group(0) if m else r.stderr)
        if not m or "CAP_SYS_ADMIN" not in r.stdout or r.stderr.strip():
            fail(f"the pod-netns drop-in was not applied cleanly: {r.stderr}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def caps(build_dir):
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        print("SKIP: needs root and setpriv to drop to an unprivileged user")
        return SKIP
    deb = the_deb(build_dir)
    with tempfile.TemporaryDirectory(prefix="ibpath-caps-") as tmp:
        os.chmod(tmp, 0o755)
        run(["dpkg-deb", "-x", deb, tmp])
        binary = os.path.join(tmp, "usr/bin/ibpath-agent")
        port = free_port()
        # As the unit runs it: not root, only CAP_NET_ADMIN (bounding, ambient), no new privileges.
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--no-new-privs",
               "--inh-caps=-all,+net_admin", "--ambient-caps=-all,+net_admin",
               "--bounding-set=-all,+net_admin", binary, f"--web.listen-address=127.0.0.1:{port}"]
        p = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
        try:
            body = ""
            for _ in range(50):
                try:
                    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
                    break
                except OSError:
                    time.sleep(0.2)
            status = open(f"/proc/{p.pid}/status").read()
            cap_eff = re.search(r"^CapEff:\s*(\S+)", status, re.M).group(1)
            uid = re.search(r"^Uid:\s*(\d+)", status, re.M).group(1)
        finally:
            p.terminate()
            _, err = p.communicate(timeout=10)
        print(body[:0], err)
        if uid != "65534" or int(cap_eff, 16) != 1 << 12:
            fail(f"agent ran as uid {uid} with CapEff {cap_eff}, want 65534 and CAP_NET_ADMIN only")
        for want in ["ibpath_alluxio_close_notices_enabled 1",
                     'ibpath_collector_success{collector="netdev"} 1',
                     'ibpath_collector_success{collector="alluxio_connections"} 1']:
            if want not in body:
                fail(f"unprivileged agent with CAP_NET_ADMIN: /metrics lacks {want!r}")
            else:
                print("ok:", want)
        if p.returncode != 0:
            fail(f"agent exited {p.returncode} on SIGTERM")


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    cmd, build_dir = sys.argv[1], os.path.abspath(sys.argv[2])
    rc = {"build": build, "contents": contents, "install": install, "unit": unit, "caps": caps}[cmd](build_dir)
    if rc == SKIP:
        return SKIP
    print(f"{cmd}: {len(failures)} problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

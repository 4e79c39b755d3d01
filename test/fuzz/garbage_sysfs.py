#!/usr/bin/env python3
"""Garbage sysfs: the real agent scraped over randomly broken sysfs trees.

Each tree starts as a copy of one of test/fixtures/sysfs/* (real layouts of
mlx5 HCAs, IPoIB interfaces and bonds) and then gets a handful of random
faults from CASES: random bytes, huge (64 MiB sparse) and huge-digit files,
empty files, missing files, directories where files belong, symlinks to
themselves and through two links, a dangling link, a directory loop, FIFOs
(an open() that would block for ever), unreadable files (chmod 000; root
reads them anyway, so under root a file that fails on read(2) with EIO, a
link to /proc/self/mem, stands in), names that are not UTF-8, 255-byte
names, hundreds of entries, class/ directories replaced by files or loops,
bonding slaves naming ../../ paths, and garbage port directory names. While
the agent is scraped a background thread renames, deletes and recreates
files of the tree, so files vanish between listing and reading.

One agent runs with --path.sysfs pointing at a symlink that is switched from
tree to tree; every tree is scraped SCRAPES times on loopback. Asserted for
every scrape: an answer within --scrape-timeout seconds (no hang), HTTP 200,
`promtool check metrics` clean, ibpath_build_info and the loopback netdev
series present and the netdev collector successful (the rest of the scrape is
intact); for every tree with a marker fault (garbage in a value the agent
reads): the problems show, as ibpath_read_problems{collector} > 0 or
ibpath_collector_success{collector} 0 for a sysfs collector. At the end the
agent is still running and exits cleanly on SIGTERM, with no sanitizer
report on stderr.

Seeded: the seed is printed; --seed replays a run, --trees/--scrapes size it.
Needs: IBPATH_AGENT (or --agent), promtool. No root needed (root is fine).
"""
import argparse
import os
import random
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(ROOT, "test", "fixtures", "sysfs")
SYSFS_COLLECTORS = ("infiniband", "ipoib", "bond", "kernel_modules")
HUGE = 64 << 20
# promtool lint lines to accept (none: ibpath_ib_port_saturated was renamed
# from a name promtool's naming lint refused).
KNOWN_LINT = set()

# Files the agent parses (a marker fault in one of them must show).
READ_VALUES = re.compile(r"class/infiniband/[^/]+/ports/[^/]+/(state|phys_state|rate|lid|sm_lid|"
                         r"counters/port_(rcv|xmit)_data)$|class/net/[^/]+/(mode|mtu|pkey|umcast)$")


def bpath(*parts):
    return os.path.join(*[os.fsencode(p) for p in parts])


def walk(tree):
    """Relative paths (str, surrogateescape) of regular files and of directories."""
    files, dirs = [], []
    for d, subdirs, names in os.walk(tree):
        rel = os.path.relpath(d, tree)
        for s in subdirs:
            dirs.append(os.path.normpath(os.path.join(rel, s)))
        for n in names:
            p = os.path.join(d, n)
            if os.path.isfile(p) and not os.path.islink(p):
                files.append(os.path.normpath(os.path.join(rel, n)))
    return sorted(files), sorted(dirs)


def replace(path):
    """Removes whatever is at path (file, link, FIFO or directory)."""
    if os.path.islink(path) or not os.path.isdir(path):
        if os.path.lexists(path):
            os.remove(path)
    else:
        shutil.rmtree(path)


# ---- faults: each takes (rng, tree, files, dirs) and returns a description ----

def f_random_bytes(rng, tree, files, dirs):
    rel = rng.choice(files)
    with open(os.path.join(tree, rel), "wb") as f:
        f.write(rng.randbytes(rng.randint(1, 700)))
    return f"random bytes in {rel}"


def f_huge_sparse(rng, tree, files, dirs):
    rel = rng.choice(files)
    with open(os.path.join(tree, rel), "wb") as f:
        f.write(rng.choice([b"4: ACTIVE", b"123", b""]))
        f.truncate(HUGE)
    return f"64 MiB sparse {rel}"


def f_huge_digits(rng, tree, files, dirs):
    rel = rng.choice(files)
    with open(os.path.join(tree, rel), "wb") as f:
        f.write(b"9" * (1 << 20))
    return f"1 MiB of digits in {rel}"


def f_empty(rng, tree, files, dirs):
    rel = rng.choice(files)
    open(os.path.join(tree, rel), "wb").close()
    return f"empty {rel}"


def f_missing(rng, tree, files, dirs):
    rel = rng.choice(files)
    os.remove(os.path.join(tree, rel))
    return f"missing {rel}"


def f_dir_for_file(rng, tree, files, dirs):
    rel = rng.choice(files)
    p = os.path.join(tree, rel)
    os.remove(p)
    os.makedirs(os.path.join(p, "inner"))
    return f"directory in place of {rel}"


def f_symlink_self(rng, tree, files, dirs):
    rel = rng.choice(files + dirs)
    p = os.path.join(tree, rel)
    replace(p)
    os.symlink(os.path.basename(p), p)
    return f"{rel} -> itself"


def f_symlink_pair(rng, tree, files, dirs):
    rel = rng.choice(files + dirs)
    p = os.path.join(tree, rel)
    replace(p)
    os.symlink(os.path.basename(p) + ".loop", p)
    os.symlink(os.path.basename(p), p + ".loop")
    return f"{rel} -> {rel}.loop -> {rel}"


def f_device_loop(rng, tree, files, dirs):
    nets = [d for d in dirs if re.fullmatch(r"class/net/[^/]+", d)] or ["class/net/ib0"]
    d = rng.choice(nets)
    p = os.path.join(tree, d, "device")
    os.makedirs(os.path.dirname(p), exist_ok=True)
    replace(p)
    kind = rng.choice(["self", "parent"])
    os.symlink("device" if kind == "self" else "..", p)
    return f"{d}/device -> {'itself' if kind == 'self' else '.. (a directory loop)'}"


def f_dangling(rng, tree, files, dirs):
    rel = rng.choice(files)
    p = os.path.join(tree, rel)
    os.remove(p)
    os.symlink("/nonexistent/ibpath-garbage", p)
    return f"dangling link {rel}"


def f_fifo(rng, tree, files, dirs):
    rel = rng.choice(files)
    p = os.path.join(tree, rel)
    os.remove(p)
    os.mkfifo(p)
    return f"FIFO in place of {rel}"


def f_unreadable(rng, tree, files, dirs):
    rel = rng.choice(files)
    p = os.path.join(tree, rel)
    if os.geteuid() == 0:
        # Root ignores permission bits: a file whose read(2) fails instead.
        os.remove(p)
        os.symlink("/proc/self/mem", p)
        return f"EIO on read of {rel} (-> /proc/self/mem)"
    os.chmod(p, 0)
    return f"chmod 000 {rel}"


def f_non_utf8(rng, tree, files, dirs):
    name = b"ib" + bytes([rng.choice([0xff, 0xfe, 0xc3, 0x80])]) + b"\xff0"
    net = bpath(tree, "class", "net") + b"/" + name
    os.makedirs(net, exist_ok=True)
    for attr, val in ((b"type", b"32\n"), (b"mode", b"datagram\n"), (b"mtu", b"2044\n"),
                      (b"pkey", b"0xffff\n")):
        with open(net + b"/" + attr, "wb") as f:
            f.write(val)
    ca = bpath(tree, "class", "infiniband") + b"/mlx5_\xfe"
    os.makedirs(ca + b"/ports/1", exist_ok=True)
    for attr, val in ((b"fw_ver", b"28.\xff.1\n"), (b"hca_type", b"MT\xc3(\n"),
                      (b"node_guid", b"\xff" * 19 + b"\n")):
        with open(ca + b"/" + attr, "wb") as f:
            f.write(val)
    for attr, val in ((b"state", b"4: ACTIVE\n"), (b"phys_state", b"5: LinkUp\n"),
                      (b"link_layer", b"Infini\xffBand\n"), (b"rate", b"100 Gb/sec\n")):
        with open(ca + b"/ports/1/" + attr, "wb") as f:
            f.write(val)
    return "non-UTF-8 interface, CA and value names"


def f_long_name(rng, tree, files, dirs):
    name = "ib" + "x" * 253
    d = os.path.join(tree, "class", "net", name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "type"), "w") as f:
        f.write("32\n")
    return "255-byte interface name"


def f_many_entries(rng, tree, files, dirs):
    cas = [d for d in dirs if re.fullmatch(r"class/infiniband/[^/]+/ports/[^/]+", d)]
    if not cas:
        return f_random_bytes(rng, tree, files, dirs)
    d = os.path.join(tree, rng.choice(cas), "hw_counters")
    os.makedirs(d, exist_ok=True)
    for i in range(400):
        value = f"{rng.randint(0, 1 << 64)}\n"
        # "x": never open what an earlier fault left at that name (a FIFO
        # would block this open for ever; a loop or link is a fault to keep).
        try:
            with open(os.path.join(d, f"c{i}"), "x") as f:
                f.write(value)
        except FileExistsError:
            pass
    return f"400 hw_counters under {os.path.relpath(d, tree)}"


def f_class_broken(rng, tree, files, dirs):
    which = rng.choice(["infiniband", "net"])
    p = os.path.join(tree, "class", which)
    replace(p)
    kind = rng.choice(["file", "loop"])
    if kind == "file":
        with open(p, "wb") as f:
            f.write(b"garbage")
    else:
        os.symlink(which, p)
    return f"class/{which} is a {kind}"


def f_slave_traversal(rng, tree, files, dirs):
    bonds = [d for d in dirs if re.fullmatch(r"class/net/[^/]+/bonding", d)]
    d = rng.choice(bonds) if bonds else "class/net/bond0/bonding"
    os.makedirs(os.path.join(tree, d), exist_ok=True)
    with open(os.path.join(tree, d, "slaves"), "wb") as f:
        f.write(b"../../../../../../../etc ib0 \xff\xfe  .. " + b"s" * 300 + b"\n")
    return f"{d}/slaves names ../ paths and junk"


def f_port_names(rng, tree, files, dirs):
    ports = [d for d in dirs if re.fullmatch(r"class/infiniband/[^/]+/ports", d)]
    d = rng.choice(ports) if ports else "class/infiniband/mlx5_9/ports"
    for n in ("-1", "99999999999999999999", "0x1", "1 ", "2147483647"):
        os.makedirs(os.path.join(tree, d, n), exist_ok=True)
    return f"garbage port names under {d}"


CASES = [f_random_bytes, f_huge_sparse, f_huge_digits, f_empty, f_missing, f_dir_for_file,
         f_symlink_self, f_symlink_pair, f_device_loop, f_dangling, f_fifo, f_unreadable,
         f_non_utf8, f_long_name, f_many_entries, f_class_broken, f_slave_traversal,
         f_port_names]


def build_tree(rng, dest):
    scenario = rng.choice(sorted(d for d in os.listdir(FIXTURES)
                                 if os.path.isdir(os.path.join(FIXTURES, d))))
    shutil.copytree(os.path.join(FIXTURES, scenario), dest, symlinks=True)
    faults = []
    for _ in range(rng.randint(2, 6)):
        files, dirs = walk(dest)
        if not files:
            break
        case = rng.choice(CASES)
        try:
            faults.append(case(rng, dest, files, dirs))
        except OSError as e:  # an earlier fault broke the path (class/net is a file)
            faults.append(f"{case.__name__[2:]} not applicable ({e.strerror})")
    # The marker: garbage in a value the agent parses, applied last.
    files, _ = walk(dest)
    candidates = [f for f in files if READ_VALUES.search(f)]
    marker = None
    if candidates:
        marker = rng.choice(candidates)
        with open(os.path.join(dest, marker), "wb") as f:
            f.write(b"\xffgarbage\n")
        faults.append(f"marker: garbage in {marker}")
    return scenario, faults, marker


class Vanisher(threading.Thread):
    """Renames, deletes and recreates files of the current tree while scrapes run."""

    def __init__(self, rng):
        super().__init__(daemon=True)
        self.rng = rng
        self.tree = None
        self.files = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.moves = 0

    def set_tree(self, tree):
        with self.lock:
            self.tree = tree
            self.files = walk(tree)[0] if tree else []

    def run(self):
        while not self.stop.is_set():
            with self.lock:
                if self.tree and self.files:
                    p = os.path.join(self.tree, self.rng.choice(self.files))
                    try:
                        if self.rng.random() < 0.5:
                            os.rename(p, p + ".gone")
                            time.sleep(self.rng.random() / 1000)
                            os.rename(p + ".gone", p)
                        else:
                            data = open(p, "rb").read(4096)
                            os.remove(p)
                            time.sleep(self.rng.random() / 1000)
                            with open(p, "wb") as f:
                                f.write(data)
                        self.moves += 1
                    except OSError:
                        pass  # FIFOs, links and directories the faults left
            time.sleep(0.0005)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')


def samples(text, name):
    """(labels text, value) of every sample of `name`."""
    out = []
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if m and m.group(1) == name:
            out.append((m.group(3) or "", float(m.group(4))))
    return out


def scrape(url, timeout):
    start = time.monotonic()
    with urllib.request.urlopen(url, timeout=timeout) as r:
        body = r.read()
        return r.status, body, time.monotonic() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--agent", default=os.environ.get("IBPATH_AGENT",
                                                      os.path.join(ROOT, "build", "ibpath-agent")))
    ap.add_argument("--promtool", default=shutil.which("promtool") or "promtool")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--trees", type=int, default=30)
    ap.add_argument("--scrapes", type=int, default=4)
    ap.add_argument("--scrape-timeout", type=float, default=5.0)
    ap.add_argument("--keep", action="store_true", help="keep the trees (printed directory)")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 32)
    print(f"garbage_sysfs: seed {seed} (replay with --seed {seed}); {args.trees} trees, "
          f"{args.scrapes} scrapes each", flush=True)
    rng = random.Random(seed)
    work = tempfile.mkdtemp(prefix="ibpath-garbage-sysfs.")
    link = os.path.join(work, "sysfs")
    os.symlink("empty", link)
    os.mkdir(os.path.join(work, "empty"))
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    log = open(os.path.join(work, "agent.log"), "w+")
    agent = subprocess.Popen([args.agent, f"--web.listen-address=127.0.0.1:{port}",
                              f"--path.sysfs={link}", "--scrape.min-interval=0s",
                              "--netns.discover=off"],
                             stdout=log, stderr=subprocess.STDOUT)
    vanisher = Vanisher(random.Random(seed ^ 0x5a5a))
    failures = []
    stats = dict(scrapes=0, slowest=0.0, trees_with_problems=0, markers=0)

    def fail(msg):
        failures.append(msg)
        print("FAIL:", msg, flush=True)

    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                scrape(url, 2)
                break
            except OSError:
                if agent.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"FAIL: agent did not come up on {url}")
                time.sleep(0.05)
        vanisher.start()
        for i in range(args.trees):
            tree = os.path.join(work, f"tree{i:03d}")
            scenario, faults, marker = build_tree(rng, tree)
            tmp_link = link + ".new"
            os.symlink(os.path.basename(tree), tmp_link)
            os.replace(tmp_link, link)  # atomic switch for the agent
            vanisher.set_tree(tree)
            print(f"tree {i} ({scenario}): " + "; ".join(faults), flush=True)
            visible = False
            for s in range(args.scrapes):
                try:
                    status, body, took = scrape(url, args.scrape_timeout)
                except Exception as e:  # timeout, reset: a hang or a crash
                    fail(f"tree {i} scrape {s}: no answer within {args.scrape_timeout}s ({e})")
                    break
                stats["scrapes"] += 1
                stats["slowest"] = max(stats["slowest"], took)
                if status != 200:
                    fail(f"tree {i} scrape {s}: HTTP {status}")
                    continue
                text = body.decode("utf-8", "replace")
                check = subprocess.run([args.promtool, "check", "metrics"], input=body,
                                       capture_output=True)
                lint = [l for l in (check.stdout + check.stderr).decode("utf-8", "replace")
                        .splitlines() if l.strip() and l.strip() not in KNOWN_LINT]
                if check.returncode != 0 and lint:
                    fail(f"tree {i} scrape {s}: promtool check metrics: {' | '.join(lint)[:600]}")
                if not samples(text, "ibpath_build_info"):
                    fail(f"tree {i} scrape {s}: ibpath_build_info missing")
                if not any('device="lo"' in l for l, _ in samples(text, "ibpath_netdev_receive_bytes_total")):
                    fail(f"tree {i} scrape {s}: netdev series of lo missing")
                success = {re.search(r'collector="([^"]*)"', l).group(1): v
                           for l, v in samples(text, "ibpath_collector_success")}
                if success.get("netdev") != 1:
                    fail(f"tree {i} scrape {s}: netdev collector not successful: {success}")
                problems = sum(v for l, v in samples(text, "ibpath_read_problems"))
                if problems > 0 or any(success.get(c) == 0 for c in SYSFS_COLLECTORS):
                    visible = True
            if marker:
                stats["markers"] += 1
                if not visible:
                    fail(f"tree {i}: marker fault in {marker} not reported by ibpath_read_problems "
                         "or ibpath_collector_success")
            stats["trees_with_problems"] += visible
            if agent.poll() is not None:
                fail(f"agent exited with {agent.returncode} on tree {i}")
                break
            vanisher.set_tree(None)
            if not args.keep:
                for d, _, names in os.walk(tree):  # undo chmod 000 for rmtree
                    for n in names:
                        p = os.path.join(d, n)
                        if not os.path.islink(p):
                            try:
                                os.chmod(p, 0o644)
                            except OSError:
                                pass
                shutil.rmtree(tree, ignore_errors=True)
    finally:
        vanisher.stop.set()
        if agent.poll() is None:
            agent.send_signal(signal.SIGTERM)
            try:
                rc = agent.wait(20)
                if rc != 0:
                    fail(f"agent exited with {rc} on SIGTERM")
            except subprocess.TimeoutExpired:
                agent.kill()
                fail("agent did not exit within 20 s of SIGTERM")
        log.seek(0)
        output = log.read()
        for bad in ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer"):
            if bad in output:
                fail(f"sanitizer report in the agent's output ({bad})")
        if failures:
            print("--- agent output (last 3000 chars) ---\n" + output[-3000:])
        if args.keep:
            print("trees kept in", work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"garbage_sysfs: seed {seed}: {stats['scrapes']} scrapes of {args.trees} trees, "
          f"slowest {stats['slowest'] * 1000:.0f} ms, problems shown on "
          f"{stats['trees_with_problems']} trees ({stats['markers']} with a marker fault), "
          f"{vanisher.moves} files moved under the agent, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

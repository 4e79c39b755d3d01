#!/usr/bin/python3
"""Connection-scale benchmark for ibpath-agent (a measurement, not a test).

For each size N it opens N loopback TCP connections to the Alluxio worker
data port (29997) inside a private network namespace, then measures, over
the same sockets:

  * the CPU time (user+sys) of `ss -tni` and of `ss -tn`, median of 5 runs;
  * the CPU time one ibpath-agent sample (one /metrics scrape with
    --scrape.min-interval=0s) costs the agent, summed over all its threads
    from /proc/<pid>/task/*/schedstat, median of 5 scrapes after a warm-up;
  * the agent's VmRSS and VmHWM after the scrapes;

and checks that the agent saw 2*N connections (both ends are local).

Run as root:  sudo /usr/bin/python3 test/bench/conn_scale.py [--sizes 1000,10000,50000]
              [--write-doc]   (replaces docs/benchmarks.md with the results)

Agent binary: $IBPATH_AGENT, else build/ibpath-agent, else
/tmp/stubbuild/ibpath-agent. Exits 0 whether or not the targets are met;
non-zero only when the benchmark itself could not run.

Structure: the outer process creates the namespace `ibpath-bench-<pid>` and
re-runs this script with --inner under `ip netns exec`; the inner process
starts the holder processes (--holder), runs ss, starts the agent and
scrapes it with http.client, so everything it spawns lives in the
namespace and the scraper's CPU is never the agent's. The outer process
deletes the namespace at the end, also on error or Ctrl-C.
"""

import argparse
import datetime
import http.client
import json
import os
import re
import resource
import select
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

ALLUXIO_DATA_PORT = 29997   # alluxio.worker.data.port: the agent counts these
PER_HOLDER = 8400           # connections per holder process (2 fds each, < 20,000)
AGENT_PORT = 9879           # inside the private namespace, so always free
RUNS = 5
RSS_TARGET_MIB = 16.0
TARGET_SIZE = 50000

SCRIPT = os.path.abspath(__file__)
REPO = os.path.dirname(os.path.dirname(os.path.dirname(SCRIPT)))
DOC = os.path.join(REPO, "docs", "benchmarks.md")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Holder: one listener, up to PER_HOLDER established connections, both ends.
# --------------------------------------------------------------------------

def holder(index, count):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if 2 * count + 64 > hard:
        raise SystemExit("holder: %d connections need more than %d files" % (count, hard))
    # RST on close: no TIME_WAIT sockets linger into the next size.
    linger0 = struct.pack("ii", 1, 0)
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger0)
    lst.bind(("127.0.0.%d" % index, ALLUXIO_DATA_PORT))
    lst.listen(4096)
    src = "127.0.%d.1" % index
    held = []
    for _ in range(count):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger0)
        c.bind((src, 0))
        c.connect(("127.0.0.%d" % index, ALLUXIO_DATA_PORT))
        s, _ = lst.accept()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger0)
        c.sendall(b"request!")
        s.sendall(b"response")
        s.recv(8, socket.MSG_WAITALL)
        c.recv(8, socket.MSG_WAITALL)
        held.append((c, s))
    print("READY %d" % len(held), flush=True)
    # Hold until the parent closes our stdin (or kills us).
    try:
        sys.stdin.buffer.read()
    except KeyboardInterrupt:
        pass
    os._exit(0)


# --------------------------------------------------------------------------
# Inner: runs inside the namespace, measures one size after the other.
# --------------------------------------------------------------------------

def cpu_of_child(argv):
    """User+sys CPU seconds of one child run, stdout to /dev/null."""
    with open(os.devnull, "wb") as null:
        p = subprocess.Popen(argv, stdout=null, stderr=subprocess.PIPE)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        err = p.stderr.read().decode(errors="replace")
        p.stderr.close()
    if p.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (" ".join(argv), p.returncode, err.strip()))
    return ru.ru_utime + ru.ru_stime


def agent_cpu_ns(pid):
    """CPU nanoseconds consumed so far by all threads of pid."""
    total = 0
    found = False
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except FileNotFoundError:
        raise RuntimeError("agent (pid %d) is gone" % pid)
    for t in tasks:
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                total += int(f.read().split()[0])
                found = True
        except (FileNotFoundError, ProcessLookupError):
            continue  # thread exited meanwhile
    if found:
        return total
    # No schedstat: fall back to utime+stime (clock ticks) of the process.
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def settled_cpu_ns(pid):
    """Agent CPU once its threads have gone quiet (a response may be sent
    before the worker thread finishes closing the connection)."""
    prev = agent_cpu_ns(pid)
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        time.sleep(0.02)
        cur = agent_cpu_ns(pid)
        if cur == prev:
            return cur
        prev = cur
    return prev


def proc_status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise RuntimeError("no %s in /proc/%d/status" % (key, pid))


def http_get(path, timeout=120):
    conn = http.client.HTTPConnection("127.0.0.1", AGENT_PORT, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


SERIES_RE = re.compile(r"^ibpath_alluxio_connections(\{[^}]*\})?\s+(\S+)", re.M)


def connection_series(body):
    text = body.decode("utf-8", errors="replace")
    return [(labels or "", float(v)) for labels, v in SERIES_RE.findall(text)]


def collector_ok(body, name):
    m = re.search(r'^ibpath_collector_success\{collector="%s"\}\s+(\S+)' % re.escape(name),
                  body.decode("utf-8", errors="replace"), re.M)
    return m is not None and float(m.group(1)) == 1.0


def established_on_port():
    out = subprocess.run(
        "ss -Htn state established '( sport = :%d )' | wc -l" % ALLUXIO_DATA_PORT,
        shell=True, check=True, capture_output=True, text=True).stdout
    return int(out.strip())


def all_tcp_on_port():
    out = subprocess.run(
        ["ss", "-Htan", "( sport = :%d or dport = :%d )" % (ALLUXIO_DATA_PORT, ALLUXIO_DATA_PORT)],
        check=True, capture_output=True, text=True).stdout
    return len(out.splitlines())


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out waiting for " + what)
        time.sleep(0.05)


def start_holders(n):
    counts = []
    left = n
    k = -(-n // PER_HOLDER)
    for i in range(k):
        c = left // (k - i)
        counts.append(c)
        left -= c
    procs = []
    for i, c in enumerate(counts):
        procs.append(subprocess.Popen(
            [sys.executable, "-B", SCRIPT, "--holder", str(i + 1), str(c)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE))
    pending = {p.stdout.fileno(): (p, c) for p, c in zip(procs, counts)}
    bufs = {fd: b"" for fd in pending}
    deadline = time.monotonic() + 600
    while pending:
        if time.monotonic() > deadline:
            raise RuntimeError("holders not ready after 600 s")
        ready, _, _ = select.select(list(pending), [], [], 1.0)
        for fd in ready:
            p, c = pending[fd]
            chunk = os.read(fd, 4096)
            if not chunk:
                raise RuntimeError("holder pid %d exited (%s) before ready"
                                   % (p.pid, p.wait()))
            bufs[fd] += chunk
            if b"\n" in bufs[fd]:
                line = bufs[fd].split(b"\n", 1)[0].decode()
                if line != "READY %d" % c:
                    raise RuntimeError("holder pid %d said %r" % (p.pid, line))
                del pending[fd]
    return procs


def stop_procs(procs, sig=signal.SIGKILL):
    for p in procs:
        if p.poll() is None:
            try:
                p.send_signal(sig)
            except ProcessLookupError:
                pass
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        for f in (p.stdin, p.stdout):
            if f:
                try:
                    f.close()
                except OSError:
                    pass


def measure_size(n, agent_bin, workdir, netns_inode):
    res = {"n": n}
    log("== %d connections" % n)
    wait_until(lambda: all_tcp_on_port() == 0, 60, "no sockets on :%d" % ALLUXIO_DATA_PORT)
    t0 = time.monotonic()
    holders = start_holders(n)
    agent = None
    try:
        res["holders"] = len(holders)
        res["setup_s"] = time.monotonic() - t0
        est = established_on_port()
        res["established_server_side"] = est
        log("   %d holders ready in %.1f s; ss sees %d established with sport %d"
            % (len(holders), res["setup_s"], est, ALLUXIO_DATA_PORT))
        if est != n:
            raise RuntimeError("expected %d established server-side sockets, ss counts %d"
                               % (n, est))

        for name, argv in (("ss_tni", ["ss", "-tni"]), ("ss_tn", ["ss", "-tn"])):
            runs = [cpu_of_child(argv) for _ in range(RUNS)]
            res[name + "_runs_ms"] = [r * 1000 for r in runs]
            res[name + "_ms"] = statistics.median(runs) * 1000
            log("   %-7s CPU ms: %s" % (" ".join(argv), " ".join("%.0f" % (r * 1000) for r in runs)))

        with open(os.path.join(workdir, "agent-%d.log" % n), "wb") as alog:
            agent = subprocess.Popen(
                [agent_bin, "--web.listen-address=127.0.0.1:%d" % AGENT_PORT,
                 "--scrape.min-interval=0s"],
                stdout=alog, stderr=subprocess.STDOUT)

        def healthy():
            if agent.poll() is not None:
                raise RuntimeError("agent exited %d during start-up; see %s"
                                   % (agent.returncode, workdir))
            try:
                return http_get("/healthz", timeout=5)[0] == 200
            except OSError:
                return False
        wait_until(healthy, 120, "agent /healthz")
        res["agent_netns_same"] = (os.stat("/proc/%d/ns/net" % agent.pid).st_ino == netns_inode)

        # One warm-up scrape, then scrapes until RUNS of them carried a
        # successful alluxio_connections sample (a failed sample exports the
        # previous figures and costs almost nothing, so it must not be
        # counted as "one sample").
        good, failed, walls = [], [], []
        body = b""
        warmup = None
        for i in range(3 * RUNS + 1):
            if len(good) >= RUNS:
                break
            before = settled_cpu_ns(agent.pid)
            w0 = time.monotonic()
            status, body = http_get("/metrics")
            wall = time.monotonic() - w0
            after = settled_cpu_ns(agent.pid)
            if status != 200:
                raise RuntimeError("/metrics answered %d" % status)
            ms = (after - before) / 1e6
            ok = collector_ok(body, "alluxio_connections")
            if i == 0:
                warmup = (ms, ok)
            elif ok:
                good.append(ms)
                walls.append(wall)
            else:
                failed.append(ms)
        if not good:
            raise RuntimeError("no successful alluxio_connections sample in %d scrapes; see %s"
                               % (3 * RUNS + 1, workdir))
        res["agent_warmup_ms"], res["agent_warmup_ok"] = warmup
        res["agent_runs_ms"] = good
        res["agent_failed_ms"] = failed
        res["agent_ms"] = statistics.median(good)
        res["agent_wall_ms"] = statistics.median(walls) * 1000
        with open(os.path.join(workdir, "agent-%d.log" % n), "rb") as f:
            msgs = {}
            for l in f.read().decode(errors="replace").splitlines():
                if " warning " in l or " error " in l:
                    m = l.split(" ", 1)[1]  # drop the timestamp
                    msgs[m] = msgs.get(m, 0) + 1
            res["agent_log_tail"] = ["%dx %s" % (c, m) for m, c in msgs.items()]
        log("   agent sample CPU ms: warm-up %.1f (%s), successful %s, failed %s (wall %.0f ms)"
            % (warmup[0], "ok" if warmup[1] else "FAILED",
               " ".join("%.1f" % s for s in good), " ".join("%.1f" % s for s in failed) or "-",
               res["agent_wall_ms"]))
        res["rss_mib"] = proc_status_kib(agent.pid, "VmRSS") / 1024
        res["hwm_mib"] = proc_status_kib(agent.pid, "VmHWM") / 1024

        series = connection_series(body)
        res["series"] = series
        res["agent_connections"] = sum(v for _, v in series)
        for line in body.decode(errors="replace").splitlines():
            m = re.match(r"^(ibpath_alluxio_(?:sampled|tracked)_sockets|"
                         r"ibpath_alluxio_route_lookup_failures_total|"
                         r"ibpath_alluxio_socket_parse_errors_total)\s+(\S+)", line)
            if m:
                res[m.group(1)] = float(m.group(2))
        log("   agent: ibpath_alluxio_connections sum %d (expect %d): %s"
            % (res["agent_connections"], 2 * n,
               ", ".join("%s=%d" % (l, v) for l, v in series)))
        log("   agent RSS %.1f MiB, peak %.1f MiB" % (res["rss_mib"], res["hwm_mib"]))
    finally:
        if agent is not None:
            stop_procs([agent], signal.SIGTERM)
        stop_procs(holders)
    return res


def inner(args):
    netns_inode = os.stat("/proc/self/ns/net").st_ino
    results = {"sizes": [], "agent": args.agent}
    for n in args.sizes:
        results["sizes"].append(measure_size(n, args.agent, args.workdir, netns_inode))
        with open(args.result, "w") as f:
            json.dump(results, f)
    return 0


# --------------------------------------------------------------------------
# Outer: namespace lifecycle, table, doc.
# --------------------------------------------------------------------------

def pick_agent():
    env = os.environ.get("IBPATH_AGENT")
    if env:
        return env
    for cand in (os.path.join(REPO, "build", "ibpath-agent"), "/tmp/stubbuild/ibpath-agent"):
        if os.access(cand, os.X_OK):
            return cand
    return os.path.join(REPO, "build", "ibpath-agent")


def table(results):
    rows = ["| connections | ss -tni CPU ms | ss -tn CPU ms | agent sample CPU ms "
            "| agent/ss -tni | agent RSS MiB | agent peak RSS MiB |",
            "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results["sizes"]:
        rows.append("| %d | %.0f | %.0f | %.1f | %.2f | %.1f | %.1f |" % (
            r["n"], r["ss_tni_ms"], r["ss_tn_ms"], r["agent_ms"],
            r["agent_ms"] / r["ss_tni_ms"] if r["ss_tni_ms"] else float("nan"),
            r["rss_mib"], r["hwm_mib"]))
    return "\n".join(rows)


def verdicts(results):
    out = []
    big = [r for r in results["sizes"] if r["n"] >= TARGET_SIZE]
    if not big:
        out.append("targets not judged: no size >= %d connections" % TARGET_SIZE)
    for r in big:
        ok = r["agent_ms"] < r["ss_tni_ms"]
        out.append("%s: at %d connections one agent sample (%.1f ms CPU) costs less than "
                   "`ss -tni` (%.0f ms)" % ("PASS" if ok else "FAIL", r["n"], r["agent_ms"],
                                           r["ss_tni_ms"]))
        ok = r["hwm_mib"] < RSS_TARGET_MIB
        out.append("%s: at %d connections agent peak RSS (VmHWM %.1f MiB, VmRSS %.1f MiB) "
                   "stays under %.0f MiB" % ("PASS" if ok else "FAIL", r["n"], r["hwm_mib"],
                                             r["rss_mib"], RSS_TARGET_MIB))
    for r in results["sizes"]:
        if int(r["agent_connections"]) != 2 * r["n"]:
            out.append("CHECK FAILED: at %d connections the agent counted %d, expected %d "
                       "(%d server-side + %d client-side)" % (
                           r["n"], r["agent_connections"], 2 * r["n"], r["n"], r["n"]))
        nfail = len(r["agent_failed_ms"]) + (0 if r["agent_warmup_ok"] else 1)
        if nfail:
            out.append("AGENT PROBLEM: at %d connections %d of %d scrapes carried a failed "
                       "alluxio_connections sample (stale figures; excluded from the median)"
                       % (r["n"], nfail, nfail + len(r["agent_runs_ms"])))
        if not r.get("agent_netns_same", False):
            out.append("CHECK FAILED: agent ran outside the benchmark namespace at %d" % r["n"])
    return out


def doc_text(results, kernel, date, tbl, verdict_lines):
    return """# Benchmarks

## Connection scale (`test/bench/conn_scale.py`)

What it answers: what one sample of ibpath-agent costs on a node with many
Alluxio connections, compared with `ss`, and how much memory the agent holds.

How it measures, for each size N (1,000, 10,000 and 50,000 connections):

- It creates a private network namespace `ibpath-bench-<pid>` and, inside it,
  opens N loopback TCP connections to the Alluxio worker data port 29997.
  They are spread over holder processes of at most %d connections each (a
  process may hold at most 20,000 open files), each with its own listener on
  127.0.0.k:29997 and clients bound to 127.0.k.1, both ends in the same
  process; a few bytes go each way on every connection. `ss -Htn state
  established '( sport = :29997 )'` must count exactly N.
- `ss -tni` and `ss -tn` CPU: user+sys time of the `ss` child (from
  `wait4` rusage), output to /dev/null, median of %d runs.
- Agent sample CPU: the agent runs in the same namespace with
  `--scrape.min-interval=0s`, so every scrape of /metrics takes a fresh
  sample (sock_diag dump, route lookups, byte ledger, exposition). After
  /healthz answers and one warm-up scrape, %d scrapes are made; each one's
  cost is the growth of the sum over the agent's threads of
  /proc/<pid>/task/*/schedstat (CPU ns). The scraper is a separate process,
  so its CPU is not counted. The table gives the median.
- Agent RSS and peak RSS: VmRSS and VmHWM from /proc/<pid>/status after the
  scrapes.
- Check: the summed `ibpath_alluxio_connections` must be 2N, since both ends
  are local (N server-side sockets on port 29997 and N client-side sockets
  whose peer port is 29997).

Targets: at 50,000 connections one agent sample costs less CPU than
`ss -tni`, and the agent's RSS stays under %d MiB.

How to run (root; a few minutes; nothing is written outside /tmp unless
`--write-doc` is given, which rewrites this file):

    sudo /usr/bin/python3 test/bench/conn_scale.py --write-doc

Options: `--sizes 1000,10000,50000`; the agent binary is taken from
`$IBPATH_AGENT`, else `build/ibpath-agent`.

## Results

Kernel %s, %s, agent `%s`.

%s

%s
""" % (PER_HOLDER, RUNS, RUNS, RSS_TARGET_MIB, kernel, date, results["agent"], tbl,
       "\n".join("- " + v for v in verdict_lines))


def outer(args):
    if os.geteuid() != 0:
        log("conn_scale.py needs root (ip netns); run with sudo")
        return 2
    agent = args.agent or pick_agent()
    if not os.access(agent, os.X_OK):
        log("no agent binary at %s (set IBPATH_AGENT)" % agent)
        return 2
    ns = "ibpath-bench-%d" % os.getpid()
    workdir = tempfile.mkdtemp(prefix="ibpath-bench-")
    result_file = os.path.join(workdir, "result.json")
    created = False
    child = None
    rc = 1

    def on_term(signum, frame):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, on_term)
    try:
        subprocess.run(["ip", "netns", "add", ns], check=True)
        created = True
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        log("namespace %s, agent %s, work dir %s" % (ns, agent, workdir))
        child = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, "-B", SCRIPT, "--inner",
             "--sizes", ",".join(str(s) for s in args.sizes), "--agent", agent,
             "--workdir", workdir, "--result", result_file])
        crc = child.wait()
        if crc != 0:
            log("benchmark failed (exit %d); logs kept in %s" % (crc, workdir))
            return 1
        with open(result_file) as f:
            results = json.load(f)
        kernel = os.uname().release
        date = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
        tbl = table(results)
        vs = verdicts(results)
        print("Kernel %s, %s, agent %s" % (kernel, date, agent))
        print()
        print(tbl)
        print()
        for v in vs:
            print(v)
        for r in results["sizes"]:
            print("N=%d: warm-up sample %.1f ms CPU%s; successful samples %s ms; failed "
                  "samples %s; scrape wall %.0f ms; sampled_sockets %s, tracked_sockets %s" % (
                      r["n"], r["agent_warmup_ms"], "" if r["agent_warmup_ok"] else " (failed)",
                      "/".join("%.1f" % x for x in r["agent_runs_ms"]),
                      "/".join("%.1f" % x for x in r["agent_failed_ms"]) or "none",
                      r["agent_wall_ms"], r.get("ibpath_alluxio_sampled_sockets"),
                      r.get("ibpath_alluxio_tracked_sockets")))
            for l in r.get("agent_log_tail", []):
                print("   agent log: " + l)
        if args.write_doc:
            with open(DOC, "w") as f:
                f.write(doc_text(results, kernel, date, tbl, vs))
            print("wrote %s" % DOC)
        shutil.rmtree(workdir, ignore_errors=True)
        rc = 0
    except KeyboardInterrupt:
        log("interrupted")
        shutil.rmtree(workdir, ignore_errors=True)
        rc = 130
    except (OSError, subprocess.CalledProcessError, ValueError, KeyError) as e:
        log("benchmark broke: %s; logs kept in %s" % (e, workdir))
        rc = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if created:
            # Whatever the inner run left behind lives only in our namespace.
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True,
                                  text=True).stdout.split()
            for p in pids:
                try:
                    os.kill(int(p), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            subprocess.run(["ip", "netns", "del", ns])
    return rc


def parse_sizes(s):
    sizes = [int(x) for x in s.split(",") if x.strip()]
    if not sizes or any(n <= 0 for n in sizes):
        raise argparse.ArgumentTypeError("sizes must be positive integers")
    if any(-(-n // PER_HOLDER) > 254 for n in sizes):
        raise argparse.ArgumentTypeError("at most %d connections" % (254 * PER_HOLDER))
    return sizes


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--holder":
        holder(int(sys.argv[2]), int(sys.argv[3]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=parse_sizes, default=[1000, 10000, 50000],
                    help="comma-separated connection counts (default 1000,10000,50000)")
    ap.add_argument("--write-doc", action="store_true",
                    help="replace docs/benchmarks.md with an explanation and the results")
    ap.add_argument("--agent", help=argparse.SUPPRESS)
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--workdir", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.inner:
        def on_term(signum, frame):
            raise KeyboardInterrupt()
        signal.signal(signal.SIGTERM, on_term)
        try:
            return inner(args)
        except KeyboardInterrupt:
            return 130
        except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
            log("benchmark broke: %s" % e)
            return 1
    return outer(args)


if __name__ == "__main__":
    sys.exit(main())

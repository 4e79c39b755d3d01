#!/usr/bin/env python3
"""Static checks of packaging/Dockerfile (no Docker daemon here, no hadolint in Debian 12).

Parses the Dockerfile (continuation lines joined) and checks: two stages, both
FROM debian:12; the build stage builds the agent; the runtime stage installs no
compiler or -dev package, copies the binary from the build stage, runs as a
named non-root USER, EXPOSEs 9879 and has an exec-form ENTRYPOINT; apt lists
are removed in the same RUN; nothing is piped from the network into a shell;
every runtime library the agent links on this machine is installed by package
name in the runtime stage; the .dockerignore keeps build trees out of the context.
"""
import os
import re
import subprocess
import sys

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def instructions(text):
    text = re.sub(r"\\\n", " ", text)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        out.append((word.upper(), " ".join(rest.split())))
    return out


def main():
    agent = sys.argv[1] if len(sys.argv) > 1 else None
    path = os.path.join(SOURCE, "packaging", "Dockerfile")
    ins = instructions(open(path).read())
    stages = []
    for word, arg in ins:
        if word == "FROM":
            stages.append({"from": arg, "ins": []})
        elif not stages:
            if word != "ARG":
                fail(f"{word} before the first FROM")
        else:
            stages[-1]["ins"].append((word, arg))
    if len(stages) != 2:
        fail(f"want 2 stages (build, runtime), found {len(stages)}")
        return finish()
    build, runtime = stages
    for s in stages:
        image = s["from"].split()[0]
        if image != "debian:12":
            fail(f"FROM {s['from']}: want debian:12")
    if not re.search(r"\bAS build\b", build["from"], re.I):
        fail("first stage is not named (AS build)")
    build_runs = " ".join(a for w, a in build["ins"] if w == "RUN")
    if "cmake --build" not in build_runs or "--target ibpath-agent" not in build_runs:
        fail("build stage does not build ibpath-agent with cmake")
    rt_runs = " ".join(a for w, a in runtime["ins"] if w == "RUN")
    for bad in ["build-essential", "cmake", "-dev ", "g++", "gcc"]:
        if bad in rt_runs + " ":
            fail(f"runtime stage installs {bad.strip()}")
    for w, a in build["ins"] + runtime["ins"]:
        if w == "RUN" and "apt-get install" in a:
            if "--no-install-recommends" not in a:
                fail("apt-get install without --no-install-recommends")
            if "rm -rf /var/lib/apt/lists" not in a:
                fail("apt lists are not removed in the RUN that installs")
        if w == "RUN" and re.search(r"(curl|wget)[^|;&]*\|\s*(ba|z|da)?sh", a):
            fail(f"pipes a download into a shell: {a}")
        if w == "ADD" and re.search(r"https?://", a):
            fail(f"ADD from a URL: {a}")
    copies = [a for w, a in runtime["ins"] if w == "COPY"]
    if not any(c.startswith("--from=build ") and "/usr/bin/ibpath-agent" in c for c in copies):
        fail("runtime stage does not COPY --from=build the binary to /usr/bin/ibpath-agent")
    users = [a for w, a in runtime["ins"] if w == "USER"]
    if not users:
        fail("runtime stage has no USER")
    else:
        user = users[-1].split(":")[0]
        if user in ("root", "0") or not user:
            fail(f"USER {users[-1]} is root")
        if f"adduser --system --group" not in rt_runs or user not in rt_runs:
            fail(f"USER {user} is not created as a system user in the runtime stage")
        last_user_idx = max(i for i, (w, _) in enumerate(runtime["ins"]) if w == "USER")
        if any(w == "RUN" for w, _ in runtime["ins"][last_user_idx:]):
            pass  # RUN after USER runs unprivileged: fine
    if not any(w == "EXPOSE" and "9879" in a.split() for w, a in runtime["ins"]):
        fail("runtime stage does not EXPOSE 9879")
    ep = [a for w, a in runtime["ins"] if w == "ENTRYPOINT"]
    if not ep or not ep[-1].startswith('["/usr/bin/ibpath-agent"'):
        fail("ENTRYPOINT is not the exec form of /usr/bin/ibpath-agent")
    # The runtime packages cover what the agent links on this machine (same Debian 12).
    if agent:
        dyn = subprocess.run(["readelf", "-d", agent], capture_output=True, text=True).stdout
        for lib in re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", dyn):
            r = subprocess.run(["dpkg", "-S", f"*/{lib}"], capture_output=True, text=True)
            owners = {l.split(":")[0] for l in r.stdout.splitlines()}
            provides = set()
            for o in owners:
                p = subprocess.run(["dpkg-query", "-W", "-f=${Provides}", o], capture_output=True, text=True).stdout
                provides |= {x.strip().split(" ")[0] for x in p.split(",") if x.strip()}
            essential = {"libc6", "libgcc-s1", "libstdc++6"}  # in debian:12 already
            if owners & essential:
                continue
            if not any(re.search(rf"(^|\s){re.escape(o)}(\s|$)", rt_runs) for o in owners | provides):
                fail(f"runtime stage does not install {sorted(owners)} ({lib})")
            else:
                print(f"ok: {lib} installed in the runtime stage")
    ignore = os.path.join(SOURCE, ".dockerignore")
    if not os.path.exists(ignore) or "build*/" not in open(ignore).read().split():
        fail(".dockerignore does not keep build*/ out of the build context")
    return finish()


def finish():
    print(f"dockerfile: {len(failures)} problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

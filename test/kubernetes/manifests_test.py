#!/usr/bin/env python3
"""Checks the Kubernetes manifests in packaging/kubernetes/ (ctest kubernetes.manifests).

Parses every manifest and checks what matters for the agent to work and for the
pieces to find each other: kinds and apiVersions, the kustomization's list,
selectors against labels (DaemonSet, Service, ServiceMonitor), the ports against
--web.listen-address, host namespaces, capabilities (exactly NET_ADMIN,
SYS_ADMIN, SYS_PTRACE; ALL dropped), read-only host mounts matching
--path.sysfs/--path.procfs, every container flag against the agent's --help
($IBPATH_AGENT, else README.md's flags table), the PrometheusRule against
alerts/ (through gen_prometheusrule.py and independently), and the Multus
examples against each other.

Python 3 and python3-yaml only; `kubectl kustomize` is also run when kubectl is
installed. Exit 0 when every check passes, 1 otherwise (all failures listed).
"""
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
K8S = ROOT / "packaging" / "kubernetes"
sys.path.insert(0, str(K8S))
import gen_prometheusrule  # noqa: E402

API_VERSIONS = {
    "Namespace": "v1",
    "DaemonSet": "apps/v1",
    "Service": "v1",
    "ConfigMap": "v1",
    "Pod": "v1",
    "ServiceMonitor": "monitoring.coreos.com/v1",
    "PrometheusRule": "monitoring.coreos.com/v1",
    "NetworkAttachmentDefinition": "k8s.cni.cncf.io/v1",
    "Kustomization": "kustomize.config.k8s.io/v1beta1",
}
CAPS = {"NET_ADMIN", "SYS_ADMIN", "SYS_PTRACE"}

failures = []


def check(cond, what):
    if cond:
        print(f"ok   {what}")
    else:
        print(f"FAIL {what}")
        failures.append(what)
    return cond


def load_all():
    """{path: [documents]} for every YAML file under packaging/kubernetes/."""
    docs = {}
    for path in sorted(K8S.rglob("*.yaml")):
        try:
            docs[path] = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        except yaml.YAMLError as e:
            check(False, f"{path.relative_to(ROOT)} parses: {e}")
    return docs


def one(docs, kind, path=None):
    found = [d for p, ds in docs.items() for d in ds
             if d.get("kind") == kind and (path is None or p == path)]
    check(len(found) == 1, f"exactly one {kind} (found {len(found)})")
    return found[0] if found else {}


def subset(small, big):
    return bool(small) and all(big.get(k) == v for k, v in small.items())


def agent_flags():
    """Flag names the agent accepts: from `$IBPATH_AGENT --help`, else README.md."""
    agent = os.environ.get("IBPATH_AGENT")
    if agent:
        if not check(os.access(agent, os.X_OK), f"IBPATH_AGENT={agent} is executable"):
            return set(), "nothing"
        out = subprocess.run([agent, "--help"], capture_output=True, text=True, timeout=10)
        text = out.stdout + out.stderr
        flags = set(re.findall(r"^\s+--([a-z0-9][a-z0-9.-]*)", text, re.M))
        check(flags, f"`{agent} --help` lists flags")
        return flags, f"`{agent} --help`"
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Flags", 1)[1].split("\n## ", 1)[0]
    flags = set()
    for line in table.splitlines():
        if line.startswith("| `--"):
            flags |= set(re.findall(r"`--([a-z0-9][a-z0-9.-]*)`", line.split("|")[1]))
    check(flags, "README.md's flags table lists flags")
    return flags, "README.md's flags table"


def check_kinds(docs):
    for path, ds in docs.items():
        rel = path.relative_to(ROOT)
        check(ds, f"{rel}: has a document")
        for d in ds:
            kind = d.get("kind")
            check(kind in API_VERSIONS, f"{rel}: kind {kind} is known")
            check(d.get("apiVersion") == API_VERSIONS.get(kind),
                  f"{rel}: {kind} apiVersion {d.get('apiVersion')} == {API_VERSIONS.get(kind)}")
            if kind != "Kustomization":
                check(d.get("metadata", {}).get("name"), f"{rel}: {kind} has metadata.name")


def check_kustomization(docs):
    kust = one(docs, "Kustomization", K8S / "kustomization.yaml")
    listed = kust.get("resources", [])
    top = sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
    check(sorted(listed) == top,
          f"kustomization lists every top-level manifest, examples/ excluded: {listed} vs {top}")
    kinds = {d["kind"] for p, ds in docs.items() if p.parent == K8S for d in ds}
    check({"Namespace", "DaemonSet", "Service", "ServiceMonitor", "PrometheusRule"} <= kinds,
          f"top-level kinds {sorted(kinds)}")
    namespaces = {d["metadata"]["name"] for ds in docs.values() for d in ds if d.get("kind") == "Namespace"}
    for path, ds in docs.items():
        if path.parent != K8S:
            continue
        for d in ds:
            if d["kind"] not in ("Namespace", "Kustomization"):
                check(d.get("metadata", {}).get("namespace") in namespaces,
                      f"{path.name}: {d['kind']} in the Namespace of namespace.yaml {sorted(namespaces)}")
    ns = one(docs, "Namespace")
    check(ns.get("metadata", {}).get("labels", {}).get("pod-security.kubernetes.io/enforce") == "privileged",
          "Namespace enforces Pod Security 'privileged' (hostPID/hostNetwork/SYS_ADMIN)")
    kubectl = shutil.which("kubectl")
    if kubectl:
        out = subprocess.run([kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=60)
        if check(out.returncode == 0, f"kubectl kustomize succeeds {out.stderr.strip()[:300]}"):
            built = [d["kind"] for d in yaml.safe_load_all(out.stdout) if d]
            check(sorted(built) == sorted(d["kind"] for p, ds in docs.items()
                                          if p.parent == K8S and p.name != "kustomization.yaml" for d in ds),
                  f"kubectl kustomize builds {sorted(built)}")
    else:
        print("note kubectl not installed: kustomize build not checked")


def listen_port(args):
    for a in args:
        if a.startswith("--web.listen-address="):
            m = re.fullmatch(r"--web\.listen-address=(?:\[[^\]]*\]|[^:]*):(\d+)", a)
            return int(m.group(1)) if m else None
    return 9879  # the flag's default


def check_daemonset(docs, flags, flag_source):
    ds = one(docs, "DaemonSet")
    spec = ds.get("spec", {})
    tmpl = spec.get("template", {})
    pod = tmpl.get("spec", {})
    pod_labels = tmpl.get("metadata", {}).get("labels", {})
    check(subset(spec.get("selector", {}).get("matchLabels", {}), pod_labels),
          "DaemonSet selector.matchLabels matches the pod template's labels")
    check(not spec.get("selector", {}).get("matchExpressions"), "DaemonSet selector has no matchExpressions")
    check(pod.get("hostNetwork") is True, "hostNetwork: true")
    check(pod.get("hostPID") is True, "hostPID: true")
    check(pod.get("dnsPolicy") == "ClusterFirstWithHostNet", "dnsPolicy: ClusterFirstWithHostNet")
    check(pod.get("automountServiceAccountToken") is False, "no service account token (no API client)")
    tol = pod.get("tolerations", [])
    check(all(t.get("key") for t in tol), "no toleration without a key (tolerates everything)")
    check(any(t.get("key") == "nvidia.com/gpu" and t.get("effect") == "NoSchedule" for t in tol),
          "tolerates nvidia.com/gpu:NoSchedule")

    containers = pod.get("containers", [])
    check(len(containers) == 1, "one container")
    c = containers[0] if containers else {}
    args = c.get("args", [])
    check(c.get("image") == "ibpath-agent:0.1.0", f"image ibpath-agent:0.1.0 ({c.get('image')})")
    dockerfile = (ROOT / "packaging" / "Dockerfile").read_text()
    check('ENTRYPOINT ["/usr/bin/ibpath-agent"]' in dockerfile,
          "packaging/Dockerfile's ENTRYPOINT is the agent, so args are its flags")
    check("command" not in c or c["command"][:1] == ["/usr/bin/ibpath-agent"],
          "container command is the image's entrypoint")

    # Flags.
    for a in args:
        m = re.fullmatch(r"--([a-z0-9][a-z0-9.-]*)(=.*)?", a)
        if check(m, f"arg {a!r} is a --flag[=value]"):
            check(m.group(1) in flags, f"--{m.group(1)} is a flag in {flag_source}")
    argmap = dict(a[2:].split("=", 1) for a in args if "=" in a)

    # Ports and probes.
    port = listen_port(args)
    ports = c.get("ports", [])
    named = {p.get("name"): p for p in ports}
    check("metrics" in named, "container port named metrics")
    cport = named.get("metrics", {}).get("containerPort")
    check(cport == port == 9879, f"containerPort {cport} == --web.listen-address port {port} == 9879")
    for probe in ("livenessProbe", "readinessProbe"):
        get = c.get(probe, {}).get("httpGet", {})
        check(get.get("path") == "/healthz" and get.get("port") in ("metrics", port),
              f"{probe} is GET /healthz on the metrics port ({get})")

    # Security context.
    sc = c.get("securityContext", {})
    caps = sc.get("capabilities", {})
    added = caps.get("add", [])
    check(sorted(added) == sorted(CAPS) and len(added) == len(set(added)),
          f"capabilities added are exactly {sorted(CAPS)} ({added})")
    check(caps.get("drop") == ["ALL"], f"capabilities drop ALL ({caps.get('drop')})")
    check(not any(a.startswith("CAP_") for a in added),
          "capability names without CAP_ (the API rejects CAP_SYS_ADMIN with allowPrivilegeEscalation false)")
    check(sc.get("privileged") in (None, False), "not privileged")
    check(sc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation: false")
    check(sc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem: true")
    seccomp = sc.get("seccompProfile") or pod.get("securityContext", {}).get("seccompProfile", {})
    check(seccomp.get("type") == "RuntimeDefault", "seccompProfile RuntimeDefault")
    check(not (sc.get("runAsNonRoot") is True and sc.get("runAsUser") == 0),
          "runAsNonRoot and runAsUser agree")
    check(sc.get("runAsUser") == 0,
          "runs as uid 0 (added capabilities reach a non-root user's bounding set only)")

    # Resources.
    res = c.get("resources", {})
    check(res.get("requests", {}).get("cpu") and res.get("requests", {}).get("memory"),
          "cpu and memory requests")
    check(res.get("limits", {}).get("memory"), "a memory limit")

    # Host mounts.
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mounts = {m["name"]: m for m in c.get("volumeMounts", [])}
    by_host = {}
    for name, v in volumes.items():
        hp = v.get("hostPath")
        if not hp:
            continue
        check(hp.get("type") not in ("DirectoryOrCreate", "FileOrCreate"),
              f"hostPath {hp['path']} is not created on the host (type {hp.get('type')})")
        m = mounts.get(name)
        if check(m, f"hostPath volume {name} is mounted"):
            check(m.get("readOnly") is True, f"hostPath {hp['path']} mounted readOnly")
            by_host[hp["path"]] = m["mountPath"]
    for host, flag in (("/sys", "path.sysfs"), ("/proc", "path.procfs")):
        check(host in by_host, f"host {host} is mounted")
        check(argmap.get(flag, host) == by_host.get(host),
              f"--{flag}={argmap.get(flag)} is where host {host} is mounted ({by_host.get(host)})")
    check(by_host.get("/run/netns") == "/run/netns",
          "host /run/netns at /run/netns (the agent's fixed path for named namespaces)")
    netns_mount = next((m for n, m in mounts.items()
                        if volumes.get(n, {}).get("hostPath", {}).get("path") == "/run/netns"), {})
    check(netns_mount.get("mountPropagation") == "HostToContainer",
          "/run/netns with HostToContainer propagation (namespaces pinned later)")
    return ds, c


def check_service(docs, ds, container):
    svc = one(docs, "Service")
    pod_labels = ds.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {})
    check(subset(svc.get("spec", {}).get("selector", {}), pod_labels),
          "Service selector matches the DaemonSet's pod labels")
    check(svc.get("metadata", {}).get("namespace") == ds.get("metadata", {}).get("namespace"),
          "Service in the DaemonSet's namespace")
    ports = {p.get("name"): p for p in svc.get("spec", {}).get("ports", [])}
    cports = {p.get("name"): p.get("containerPort") for p in container.get("ports", [])}
    p = ports.get("metrics", {})
    check(p.get("port") == 9879, "Service port metrics is 9879")
    target = p.get("targetPort", p.get("port"))
    check(target in cports or target in cports.values(),
          f"Service targetPort {target} is a container port {cports}")
    # The ServiceMonitor's job label is the Service name (no jobLabel): IbpathAgentDown
    # matches up{job=~"ibpath.*"}.
    return svc


def check_servicemonitor(docs, svc):
    sm = one(docs, "ServiceMonitor")
    spec = sm.get("spec", {})
    check(subset(spec.get("selector", {}).get("matchLabels", {}), svc.get("metadata", {}).get("labels", {})),
          "ServiceMonitor selector matches the Service's labels")
    svc_ns = svc.get("metadata", {}).get("namespace")
    names = spec.get("namespaceSelector", {}).get("matchNames")
    check(svc_ns in names if names else sm.get("metadata", {}).get("namespace") == svc_ns,
          "ServiceMonitor looks in the Service's namespace")
    svc_ports = {p.get("name") for p in svc.get("spec", {}).get("ports", [])}
    eps = spec.get("endpoints", [])
    check(eps, "ServiceMonitor has endpoints")
    for ep in eps:
        check(ep.get("port") in svc_ports, f"endpoint port {ep.get('port')} is a Service port {svc_ports}")
        check(ep.get("port") == "metrics", "endpoint port is metrics")
        check(ep.get("interval") == "15s", "interval 15s")
        check(any(r.get("sourceLabels") == ["__meta_kubernetes_pod_node_name"] and r.get("targetLabel") == "node"
                  and r.get("action", "replace") == "replace" for r in ep.get("relabelings", [])),
              "relabels __meta_kubernetes_pod_node_name to node")
    job = svc.get("metadata", {}).get("labels", {}).get(spec["jobLabel"]) if spec.get("jobLabel") \
        else svc.get("metadata", {}).get("name", "")
    check(re.fullmatch(r"ibpath.*", job or ""), f"scrape job {job!r} matches up{{job=~\"ibpath.*\"}} (IbpathAgentDown)")


def check_prometheusrule(docs):
    path = K8S / "prometheusrule.yaml"
    check(path.read_text() == gen_prometheusrule.generate(ROOT / "alerts"),
          "prometheusrule.yaml is what gen_prometheusrule.py makes of alerts/ (else run it with --write)")
    rule = one(docs, "PrometheusRule")
    expected = []
    for f in sorted((ROOT / "alerts").glob("*.rules.yml")):
        expected.extend(yaml.safe_load(f.read_text())["groups"])
    check(rule.get("spec", {}).get("groups") == expected and expected,
          f"PrometheusRule spec.groups == the groups of alerts/*.rules.yml ({len(expected)})")


def check_examples(docs):
    nad = one(docs, "NetworkAttachmentDefinition")
    try:
        conf = json.loads(nad.get("spec", {}).get("config", ""))
    except ValueError as e:
        check(False, f"NetworkAttachmentDefinition config is JSON: {e}")
        conf = {}
    check(conf.get("type") in ("ipoib", "ib-sriov", "host-device"), f"CNI type {conf.get('type')}")
    check(conf.get("name") == nad["metadata"]["name"], "CNI config name is the object's name")
    check(conf.get("ipam", {}).get("type"), "CNI config has IPAM")
    pod = one(docs, "Pod")
    nets = json.loads(pod["metadata"]["annotations"]["k8s.v1.cni.cncf.io/networks"])
    check(any(n.get("name") == nad["metadata"]["name"] and n.get("interface") == "net1"
              and n.get("namespace", pod["metadata"]["namespace"]) == nad["metadata"]["namespace"]
              for n in nets), "worker pod's networks annotation asks for the NAD as net1")
    cm = one(docs, "ConfigMap")
    props = cm["data"]["alluxio-site.properties"]
    check(re.search(r"^alluxio\.worker\.data\.bind\.device\s*=\s*net1$", props, re.M),
          "alluxio.worker.data.bind.device=net1")
    ctr = pod["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in ctr.get("env", [])}
    mounts = [m for m in ctr.get("volumeMounts", []) if m.get("subPath") == "alluxio-site.properties"]
    check(mounts and env.get("ALLUXIO_CONF_DIR") == str(pathlib.PurePosixPath(mounts[0]["mountPath"]).parent),
          "ALLUXIO_CONF_DIR is where the properties are mounted (the agent finds them there)")


def main():
    docs = load_all()
    check_kinds(docs)
    check_kustomization(docs)
    flags, source = agent_flags()
    ds, container = check_daemonset(docs, flags, source)
    svc = check_service(docs, ds, container)
    check_servicemonitor(docs, svc)
    check_prometheusrule(docs)
    check_examples(docs)
    if failures:
        print(f"\n{len(failures)} check(s) failed:", *failures, sep="\n  ")
        return 1
    print("\nall checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Writes the seed corpora under test/fuzz/corpus/<target>/ (run from anywhere:
python3 test/fuzz/make_seeds.py). Small, real-looking inputs; the committed
files are the seeds, so edit this and re-run to change them. Inputs that once
crashed a target are kept next to them as crash-<what>, written by hand, and
are not touched by this script.
"""
import os, struct, sys

BASE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    d = os.path.join(BASE, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


SITE = """# alluxio-site.properties of a worker bound to the fabric
alluxio.master.hostname=master-0.alluxio.svc
alluxio.worker.hostname=worker-1.ib.example.com
alluxio.worker.data.bind.device=ib0
alluxio.user.network.data.bind.device=ib0
alluxio.worker.rpc.port=29999
alluxio.worker.http.server.port=28080
alluxio.home=/opt/alluxio
alluxio.work.dir=${alluxio.home}
alluxio.worker.page.store.dirs=${alluxio.work.dir}/pagestore
alluxio.dora.client.ufs.root=s3://bucket/data
"""
SYNTAX = ("! java.util.Properties corners\n"
          "alluxio.a = spaced value \\\n"
          "    continued here\n"
          "alluxio.b:colon\\tsep\n"
          "alluxio.c   whitespace separator\n"
          "alluxio.key\\ with\\=escapes=v\\u00e9\\uD83D\\uDE00\r\n"
          "alluxio.bad=\\u12G4\n"
          "other.key=ignored\n"
          "=no key\r"
          "alluxio.trailing=\\\\\n"
          "alluxio.last\\")
SUBST = ("alluxio.a=${alluxio.b}/${alluxio.b}\nalluxio.b=${alluxio.c}x\nalluxio.c=${alluxio.home}\n"
         "alluxio.loop1=${alluxio.loop2}\nalluxio.loop2=${alluxio.loop1}\n"
         "alluxio.self=${alluxio.self}\nalluxio.unknown=${alluxio.nope}\n"
         "alluxio.open=${alluxio.a\nalluxio.fb=${alluxio.fallback.ref}\n")
DEEP = "".join(f"alluxio.d{i}=${{alluxio.d{i + 1}}}\n" for i in range(40)) + "alluxio.d40=end\n"
WIDE = "alluxio.w0=" + "x" * 512 + "\n" + "".join(
    f"alluxio.w{i + 1}=${{alluxio.w{i}}}${{alluxio.w{i}}}\n" for i in range(10))

for target in ("properties", "alluxio_conf"):
    put(target, "site", SITE)
    put(target, "syntax", SYNTAX)
    put(target, "substitution", SUBST)
    put(target, "deep", DEEP)
    put(target, "wide", WIDE)
    put(target, "empty", "")
put("alluxio_conf", "ports", "alluxio.worker.data.port= 29997 \nalluxio.worker.rpc.port=0\n"
    "alluxio.worker.web.port=65536\nalluxio.user.hostname=\t\n"
    "alluxio.worker.rpc.bind.device=  bond0\t\nalluxio.master.rpc.port=1e3\n")

# sysfs values, as the kernel writes them
for name, text in {
        "state": "4: ACTIVE\n", "phys_state": "5: LinkUp\n", "state_down": "1: DOWN\n",
        "rate": "400 Gb/sec (4X NDR)\n", "rate_sdr": "2.5 Gb/sec (1X SDR)\n",
        "counter": "18446744073709551615\n", "counter_na": "N/A (no PMA)\n",
        "lid": "0x1a\n", "pkey": "0xffff\n", "mode_connected": "connected\n",
        "mode_datagram": "datagram\n", "bond_mode": "active-backup 1\n",
        "bond_8023ad": "802.3ad 4\n", "mii": "up\n", "slaves": "ib0 ib1\n",
        "overflow": "18446744073709551616\n", "nul": "12\0\0\0", "empty": ""}.items():
    put("sysfs_values", name, text)


def nlmsg(payload, type_=20):  # SOCK_DIAG_BY_FAMILY
    return struct.pack("=IHHII", 16 + len(payload), type_, 2, 1, 0) + payload


def diag_msg(family, state, src, dst, sport, dport, ifindex=0, cookie=(1, 2), uid=1000, inode=4242):
    addr = lambda a: a.ljust(16, b"\0")
    sockid = struct.pack(">HH", sport, dport) + addr(src) + addr(dst) + struct.pack("=III", ifindex, *cookie)
    return struct.pack("=BBBB", family, state, 0, 0) + sockid + struct.pack("=IIIII", 0, 0, 0, uid, inode)


def nla(type_, data):
    n = 4 + len(data)
    return struct.pack("=HH", n, type_) + data + b"\0" * ((4 - n % 4) % 4)


tcp_info = bytearray(232)
struct.pack_into("=Q", tcp_info, 120, 123456789)  # tcpi_bytes_acked
struct.pack_into("=Q", tcp_info, 128, 987654321)  # tcpi_bytes_received
v4 = diag_msg(2, 1, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]), 29997, 40000)
v6 = diag_msg(10, 10, bytes(15) + b"\1", bytes(16), 29999, 0, ifindex=3)
put("inet_diag", "v4_info_mark", nlmsg(v4 + nla(2, bytes(tcp_info)) + nla(15, struct.pack("=I", 7))))
put("inet_diag", "v6_listen", nlmsg(v6))
put("inet_diag", "v4_short_info", nlmsg(v4 + nla(2, bytes(tcp_info[:100]))))
put("inet_diag", "attr_overrun", nlmsg(v4 + struct.pack("=HH", 200, 2) + b"\0" * 8))
put("inet_diag", "payload_only", v4 + nla(2, bytes(tcp_info)))

# port filter: count, ports (little-endian u16), then query ports
put("port_filter", "alluxio_ports", bytes([4]) + struct.pack("<4H", 29997, 29999, 28080, 19998)
    + struct.pack("<4H", 29997, 1, 28081, 65535))
put("port_filter", "one_port", bytes([1]) + struct.pack("<H", 0) + struct.pack("<2H", 0, 1))
put("port_filter", "none", b"\0")
put("port_filter", "bytecode", bytes([1, 8, 12, 0, 0, 0, 0x35, 0x75, 3, 8, 12, 0, 0, 0, 0x35, 0x75]))

# probe: offset u64, length u64, worker NUL path
probe = lambda off, n, worker, path: struct.pack("<QQ", off, n) + worker + b"\0" + path
put("probe_url", "host_port", probe(0, 64 << 20, b"worker-1:28080", b"s3://bucket/key/part-0000.parquet"))
put("probe_url", "v6", probe(4096, 1 << 20, b"[fd00::2]:28080", b"/local/data/file with space&x=1"))
put("probe_url", "v6_noport", probe(0, 1, b"[fd00::2]", "hdfs://nn:8020/ü/#?".encode()))
put("probe_url", "bad_port", probe(0, 1, b"worker:99999", b"s3://b/k"))
put("probe_url", "empty_port", probe(0, 1, b"worker:", b"s3://b/k"))

put("probe_query", "target", "target=http%3A%2F%2Fworker-1%3A28080%2Fv1%2Frange%2Fabc&bytes=64MiB")
put("probe_query", "worker_path", "worker=worker-1:28080&path=s3://bucket/key+with+plus&bytes=1048576")
put("probe_query", "odd", "a&&=b&c=%zz&d=%4&e=%00x&bytes=2TiB&bytes=0&=")

put("netns", "nslink", "net:[4026531840]")
put("netns", "cmdline_worker", "/usr/lib/jvm/bin/java\0-Xmx4g\0-cp\0/opt/alluxio/lib/*\0"
    "alluxio.worker.AlluxioWorker\0")
put("netns", "cmdline_fuse", "/opt/alluxio/bin/alluxio-fuse\0mount\0/mnt/alluxio\0")
put("netns", "cgroup_v2", "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/"
    "cri-containerd-" + "0123456789abcdef" * 4 + ".scope\n")
put("netns", "cgroup_v1", "12:pids:/docker/" + "fedcba9876543210" * 4 + "\n11:net_cls:/\n")
put("netns", "environ", "ALLUXIO_CONF_DIR\0PATH=/usr/bin\0ALLUXIO_CONF_DIR=/opt/alluxio/conf\0HOME=/root\0")

for name, text in {"v4": "10.0.0.1", "v6": "fd00::1", "mapped": "::ffff:10.0.0.1",
                   "v6_full": "fe80:0000:0000:0000:b859:9f03:00d4:5e0c", "bad": "10.0.0.256",
                   "nul": "10.0.0.1\0junk"}.items():
    put("ip_address", name, text)

# label values: valid UTF-8 and the ways bytes fail to be
for name, data in {"ascii": b"mlx5_0", "utf8": "ib-\u00e9-\U0001F600".encode(), "latin1": b"mlx5_\xfe",
                   "truncated": b"ab\xe2\x82", "surrogate": b"\xed\xa0\x80",
                   "overlong": b"\xc0\xaf\xe0\x80\xaf", "above": b"\xf4\x90\x80\x80",
                   "nul": b"a\0b"}.items():
    put("label_value", name, data)

# web configuration (exporter-toolkit schema), NUL, an Authorization header
HASH = "$2y$10$" + "abcdefghijklmnopqrstuv" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ01234"
put("web_config", "tls_users", "tls_server_config:\n  cert_file: server.crt\n  key_file: /etc/k.key\n"
    "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  min_version: TLS13\n"
    f"basic_auth_users:\n  prometheus: {HASH}\n\0Basic cHJvbWV0aGV1czpzZWNyZXQ=")
put("web_config", "users_only", f"basic_auth_users:\n  alice: '{HASH}'\n  'b:ob': {HASH}\n\0basic  YTpi  ")
put("web_config", "bad", "tls_server_config: [1, 2\nhttp_server_config:\n  http2: true\n\0Basic ====")
put("web_config", "flow", "{tls_server_config: {cert_file: a, key_file: b, min_version: TLS10}, x: &a [*a]}\0Basic Og==")
put("web_config", "empty", "\0")

print("seeds written under", BASE)

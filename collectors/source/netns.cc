#include "collectors/source/netns.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <thread>

namespace ibpath {
namespace {

// Reads at most `max` bytes; procfs files report size 0, so read until EOF.
std::optional<std::string> ReadAll(const std::string& path, std::size_t max = 1 << 16) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() >= max) break;
  }
  close(fd);
  return out;
}

std::optional<std::string> ReadLink(const std::string& path) {
  char buf[256];
  ssize_t n = readlink(path.c_str(), buf, sizeof(buf) - 1);
  if (n < 0) return std::nullopt;
  return std::string(buf, static_cast<std::size_t>(n));
}

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

std::vector<std::string> SplitNul(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < s.size()) {
    std::size_t end = s.find('\0', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool Exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

// Where the process's alluxio-site.properties is, seen from the host: the
// same search Alluxio does (-Dalluxio.conf.dir, $ALLUXIO_CONF_DIR,
// $ALLUXIO_HOME/conf, the image's default home), under /proc/<pid>/root.
std::string FindConf(const std::string& root, const std::vector<std::string>& argv,
                     const std::string& environ) {
  std::vector<std::string> dirs;
  for (const auto& a : argv) {
    const std::string flag = "-Dalluxio.conf.dir=";
    if (a.rfind(flag, 0) == 0) dirs.push_back(a.substr(flag.size()));
  }
  if (auto d = EnvironValue(environ, "ALLUXIO_CONF_DIR")) dirs.push_back(*d);
  if (auto h = EnvironValue(environ, "ALLUXIO_HOME")) dirs.push_back(*h + "/conf");
  dirs.push_back("/opt/alluxio/conf");
  for (const auto& d : dirs) {
    if (d.empty() || d.front() != '/') continue;  // relative to an unknown cwd
    const std::string p = root + d + "/alluxio-site.properties";
    if (Exists(p)) return p;
  }
  return "";
}

}  // namespace

std::optional<uint64_t> ParseNsLink(const std::string& link) {
  constexpr std::string_view kPrefix = "net:[";
  if (link.size() <= kPrefix.size() + 1 || link.compare(0, kPrefix.size(), kPrefix) != 0 ||
      link.back() != ']') {
    return std::nullopt;
  }
  const std::string_view digits(link.data() + kPrefix.size(), link.size() - kPrefix.size() - 1);
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return v;
}

std::optional<std::string> AlluxioProcessKind(const std::string& cmdline) {
  const std::vector<std::string> argv = SplitNul(cmdline);
  if (argv.empty()) return std::nullopt;
  const std::string& exe = argv.front();
  const std::string base = exe.substr(exe.rfind('/') == std::string::npos ? 0 : exe.rfind('/') + 1);
  if (base == "alluxio-fuse") return "fuse";
  std::optional<std::string> client;
  for (const auto& a : argv) {
    // Java main classes; the JVM's own flags come first, the class once.
    if (a.rfind("alluxio.worker.", 0) == 0 && a.find("AlluxioWorker") != std::string::npos) {
      return "worker";
    }
    if (a.rfind("alluxio.fuse.", 0) == 0) return "fuse";
    if (a.rfind("alluxio.master.", 0) == 0) return "master";
    if (a.rfind("alluxio.", 0) == 0 && a.size() > 8) {
      const std::string last = a.substr(a.rfind('.') + 1);
      if (!last.empty() && std::isupper(static_cast<unsigned char>(last.front())))
        client = "client";
    }
  }
  return client;
}

std::optional<std::string> ContainerIdFromCgroup(const std::string& cgroup) {
  // Runtimes name the container's cgroup after its 64-hex-digit id
  // (docker-<id>.scope, cri-containerd-<id>.scope, kubepods/.../<id>).
  std::size_t run = 0;
  for (std::size_t i = 0; i < cgroup.size(); ++i) {
    const char c = cgroup[i];
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) {
      if (++run == 64) {
        const bool more =
            i + 1 < cgroup.size() && std::isxdigit(static_cast<unsigned char>(cgroup[i + 1]));
        if (!more) return cgroup.substr(i + 1 - 64, 12);  // short form, as `crictl ps` prints
      }
    } else {
      run = 0;
    }
  }
  return std::nullopt;
}

std::optional<std::string> EnvironValue(const std::string& environ, const std::string& name) {
  for (const auto& kv : SplitNul(environ)) {
    if (kv.size() > name.size() && kv.compare(0, name.size(), name) == 0 &&
        kv[name.size()] == '=') {
      return kv.substr(name.size() + 1);
    }
  }
  return std::nullopt;
}

Result<uint64_t> CurrentNetnsInode(const std::string& procfs) {
  const std::string path = procfs + "/thread-self/ns/net";
  auto link = ReadLink(path);
  if (!link) return Status::FromErrno(errno, "reading " + path);
  auto inode = ParseNsLink(*link);
  if (!inode) return Status::InvalidData(path + ": unexpected link \"" + *link + "\"");
  return *inode;
}

NetnsDiscovery DiscoverNetns(const std::string& procfs, const std::string& run_netns_dir,
                             uint64_t self_inode) {
  NetnsDiscovery out;
  std::map<uint64_t, DiscoveredNetns> by_inode;
  DiscoveredNetns& self = by_inode[self_inode];
  self.inode = self_inode;
  self.id = "host";
  std::map<uint64_t, std::pair<std::string, std::string>> named;  // inode -> name, path

  if (!run_netns_dir.empty()) {
    if (DIR* d = opendir(run_netns_dir.c_str())) {
      while (dirent* e = readdir(d)) {
        const std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        const std::string path = run_netns_dir + "/" + name;
        struct stat st {};
        // An unmounted name (a namespace being torn down) is a plain file
        // on the tmpfs, not nsfs: its inode is not a namespace's.
        if (stat(path.c_str(), &st) != 0 || st.st_ino == self_inode) continue;
        struct stat parent {};
        if (stat(run_netns_dir.c_str(), &parent) == 0 && st.st_dev == parent.st_dev) continue;
        named[st.st_ino] = {name, path};
      }
      closedir(d);
    }
  }

  // Without procfs the agent's own namespace (and the named ones) are still
  // listed.
  DIR* proc = opendir(procfs.c_str());
  while (dirent* e = proc != nullptr ? readdir(proc) : nullptr) {
    const char* n = e->d_name;
    if (*n == '\0' ||
        !std::all_of(n, n + std::strlen(n), [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    const std::string dir = procfs + "/" + n;
    auto cmdline = ReadAll(dir + "/cmdline");
    if (!cmdline) continue;
    auto kind = AlluxioProcessKind(*cmdline);
    if (!kind) continue;
    auto link = ReadLink(dir + "/ns/net");
    auto inode = link ? ParseNsLink(*link) : std::nullopt;
    if (!inode) {
      ++out.unreadable_processes;
      continue;
    }
    const pid_t pid = static_cast<pid_t>(std::atol(n));
    DiscoveredNetns& ns = by_inode[*inode];
    ns.inode = *inode;
    if (ns.id.empty()) {
      if (auto n = named.find(*inode); n != named.end()) {
        ns.id = n->second.first;
        ns.path = n->second.second;
      } else {
        ns.id = "inode:" + std::to_string(*inode);
        ns.path = dir + "/ns/net";
      }
    }
    ns.processes.push_back({pid, *kind});
    const std::string environ = ReadAll(dir + "/environ").value_or("");
    const std::string cgroup = ReadAll(dir + "/cgroup").value_or("");
    const std::string root = dir + "/root";
    if (ns.conf_path.empty()) ns.conf_path = FindConf(root, SplitNul(*cmdline), environ);
    // Kubernetes metadata only where the process is in a pod: elsewhere the
    // hostname is the node's, not a pod's.
    const bool in_pod = cgroup.find("kubepods") != std::string::npos ||
                        EnvironValue(environ, "KUBERNETES_SERVICE_HOST").has_value();
    if (in_pod && !ns.pod) {
      if (auto v = EnvironValue(environ, "POD_NAME")) {
        ns.pod = v;
      } else if (auto h = ReadAll(root + "/etc/hostname", 256)) {
        if (!Trim(*h).empty()) ns.pod = Trim(*h);
      }
      if (!ns.pod) ns.pod = EnvironValue(environ, "HOSTNAME");
    }
    if (in_pod && !ns.k8s_namespace) {
      if (auto v = EnvironValue(environ, "POD_NAMESPACE")) {
        ns.k8s_namespace = v;
      } else if (auto f = ReadAll(root + "/var/run/secrets/kubernetes.io/serviceaccount/namespace",
                                  256)) {
        if (!Trim(*f).empty()) ns.k8s_namespace = Trim(*f);
      }
    }
    if (!ns.container) ns.container = ContainerIdFromCgroup(cgroup);
  }
  if (proc != nullptr) closedir(proc);

  for (auto& [inode, ns] : by_inode) {
    std::sort(ns.processes.begin(), ns.processes.end(),
              [](const AlluxioProcess& a, const AlluxioProcess& b) { return a.pid < b.pid; });
    out.namespaces.push_back(std::move(ns));
  }
  std::sort(out.namespaces.begin(), out.namespaces.end(),
            [](const DiscoveredNetns& a, const DiscoveredNetns& b) {
              if ((a.id == "host") != (b.id == "host")) return a.id == "host";
              return a.id < b.id;
            });
  return out;
}

Result<std::shared_ptr<const NetnsHandle>> NetnsHandle::Open(const std::string& path) {
  if (path.empty()) return std::shared_ptr<const NetnsHandle>(new NetnsHandle(-1));
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "opening network namespace " + path);
  return std::shared_ptr<const NetnsHandle>(new NetnsHandle(fd));
}

NetnsHandle::~NetnsHandle() {
  if (fd_ >= 0) close(fd_);
}

Status NetnsHandle::Run(const std::function<Status()>& fn) const {
  if (fd_ < 0) return fn();
  Status status;
  // setns() moves only the calling thread; a fresh thread keeps the
  // agent's other threads where they are.
  std::thread t([&] {
    if (setns(fd_, CLONE_NEWNET) != 0) {
      status = Status::FromErrno(errno, "entering network namespace (setns)");
      return;
    }
    status = fn();
  });
  t.join();
  return status;
}

}  // namespace ibpath

// Network namespaces that hold Alluxio processes, and a way to open sockets
// inside them.
//
// Discovery reads a procfs tree (injectable root) and a directory of named
// namespaces (`ip netns`, /run/netns): every process whose command line is an
// Alluxio worker, FUSE, client or master process puts its network namespace
// on the list, with what can be learned about it without a Kubernetes API
// client (pod name from the hostname, Kubernetes namespace from the service
// account mount or the environment, container id from the cgroup path) and
// where its alluxio-site.properties is (through /proc/<pid>/root and the
// process's ALLUXIO_CONF_DIR / ALLUXIO_HOME). Namespaces are identified by
// inode: a pod that restarts comes back as a new namespace.
//
// NetnsHandle runs a function on a short-lived thread that has entered the
// namespace (setns(CLONE_NEWNET) affects only the calling thread). A netlink
// socket belongs for life to the namespace it was created in, so sockets
// opened through Run() may then be used from any thread.
//
// Thread-safety: discovery functions are stateless; a NetnsHandle is
// immutable after Open() and Run() may be called from any thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "collectors/source/status.h"

namespace ibpath {

struct AlluxioProcess {
  pid_t pid = 0;
  std::string kind;  // worker, fuse, master, client
};

struct DiscoveredNetns {
  uint64_t inode = 0;
  // "host" (the agent's own), the /run/netns name, or "inode:<n>".
  std::string id;
  // A path that names the namespace, to enter it: /run/netns/<name> or
  // <procfs>/<pid>/ns/net. Empty for the agent's own namespace.
  std::string path;
  std::vector<AlluxioProcess> processes;
  std::optional<std::string> pod, k8s_namespace, container;
  // alluxio-site.properties as seen from the host, if one was found.
  std::string conf_path;
};

struct NetnsDiscovery {
  std::vector<DiscoveredNetns> namespaces;  // sorted by id; the agent's own first
  // Processes whose namespace could not be read (exited, or no permission).
  uint64_t unreadable_processes = 0;
};

// `self_inode`: the agent's own network namespace (always listed, as "host").
// Other namespaces are listed when an Alluxio process runs in them; those
// named under `run_netns_dir` (`ip netns`) carry that name. A named
// namespace without Alluxio is not sampled: on a node, CNI and other tools
// keep namespaces there that have nothing to do with Alluxio.
NetnsDiscovery DiscoverNetns(const std::string& procfs, const std::string& run_netns_dir,
                             uint64_t self_inode);

// Pure parts, tested table-driven.
// "net:[4026531840]" -> 4026531840.
std::optional<uint64_t> ParseNsLink(const std::string& link);
// The Alluxio role a command line (NUL-separated argv) runs, if any.
std::optional<std::string> AlluxioProcessKind(const std::string& cmdline);
// Container id from a /proc/<pid>/cgroup text (cgroup v1 or v2, docker,
// containerd, cri-o and kubepods layouts), if any.
std::optional<std::string> ContainerIdFromCgroup(const std::string& cgroup);
// A variable from a NUL-separated environ text.
std::optional<std::string> EnvironValue(const std::string& environ, const std::string& name);

// The inode of the calling thread's network namespace.
Result<uint64_t> CurrentNetnsInode(const std::string& procfs);

class NetnsHandle {
 public:
  // Empty `path`: the agent's own namespace; Run() then calls directly.
  static Result<std::shared_ptr<const NetnsHandle>> Open(const std::string& path);
  ~NetnsHandle();
  NetnsHandle(const NetnsHandle&) = delete;
  NetnsHandle& operator=(const NetnsHandle&) = delete;

  // Runs `fn` inside the namespace and returns its status; entering fails
  // with PermissionDenied without CAP_SYS_ADMIN.
  Status Run(const std::function<Status()>& fn) const;
  bool is_own() const { return fd_ < 0; }

 private:
  explicit NetnsHandle(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// Opens a socket-owning reader (RouteNetlink, TcpDiag, DestroyWatch: any T
// with a static Open()) inside `ns`; null `ns` means the agent's own.
template <typename T>
Result<std::unique_ptr<T>> OpenIn(const NetnsHandle* ns) {
  if (ns == nullptr || ns->is_own()) return T::Open();
  std::optional<Result<std::unique_ptr<T>>> opened;
  Status entered = ns->Run([&] {
    opened.emplace(T::Open());
    return opened->status();
  });
  if (!opened) return entered;
  return std::move(*opened);
}

}  // namespace ibpath

// Least privilege: the agent keeps exactly the capabilities its enabled
// features use and drops every other one at start, before any thread exists
// (capabilities are per thread: a thread started earlier would keep them).
//
//   CAP_NET_ADMIN     a large receive buffer for the kernel's socket-destroy
//                     notices (SO_RCVBUFFORCE), so a burst of closes is not
//                     lost; without it the buffer is capped by rmem_max and
//                     the agent resynchronises from dumps after a loss.
//   CAP_SYS_ADMIN     entering other network namespaces (setns) to follow
//                     Alluxio pods (--netns.discover).
//   CAP_SYS_PTRACE    opening /proc/<pid>/ns/net, environ and root of other
//                     users' processes (the same feature).
//   CAP_NET_BIND_SERVICE  only when --web.listen-address names a port < 1024.
//
// A wanted capability the process does not have is not an error: the feature
// degrades, ibpath_capability_missing{capability,feature} says so, and one
// log line explains it.
//
// Thread-safety: DropPrivileges() must run while the process has one thread.
#pragma once

#include <string>
#include <vector>

#include "collectors/collector.h"

namespace ibpath {

struct WantedCapability {
  int capability;       // CAP_* value
  std::string name;     // "cap_net_admin"
  std::string feature;  // what it is for, a label value: "close_notices_buffer"
};

struct PrivilegeReport {
  std::vector<WantedCapability> kept;     // wanted and held: still effective
  std::vector<WantedCapability> missing;  // wanted but not held
  std::vector<std::string> dropped;       // held but not wanted: now gone
  bool ok = true;                         // false if dropping failed
  std::string error;
};

// The capabilities the enabled features use.
std::vector<WantedCapability> WantedCapabilities(bool netns_discovery, int listen_port);

// Keeps the wanted capabilities the process holds (permitted and effective)
// and clears every other one from the effective, permitted and inheritable
// sets; clears the ambient set and, when allowed, sets no_new_privs.
PrivilegeReport DropPrivileges(const std::vector<WantedCapability>& wanted);

// Exports ibpath_capability_missing{capability,feature} and
// ibpath_capability_effective{capability}.
class PrivilegeCollector : public Collector {
 public:
  explicit PrivilegeCollector(PrivilegeReport report) : report_(std::move(report)) {}
  Status Collect(MetricSink& out) override;

 private:
  const PrivilegeReport report_;
};

}  // namespace ibpath

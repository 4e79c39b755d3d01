#include "agent/privileges.h"

#include <sys/capability.h>
#include <sys/prctl.h>

#include <cerrno>
#include <cstring>

namespace ibpath {
namespace {

bool Holds(cap_t caps, int cap, cap_flag_t set) {
  cap_flag_value_t v = CAP_CLEAR;
  return cap_get_flag(caps, static_cast<cap_value_t>(cap), set, &v) == 0 && v == CAP_SET;
}

std::string CapName(int cap) {
  char* n = cap_to_name(static_cast<cap_value_t>(cap));
  std::string out = n != nullptr ? n : "cap_" + std::to_string(cap);
  cap_free(n);
  return out;
}

}  // namespace

std::vector<WantedCapability> WantedCapabilities(bool netns_discovery, int listen_port) {
  std::vector<WantedCapability> w = {{CAP_NET_ADMIN, "cap_net_admin", "close_notices_buffer"}};
  if (netns_discovery) {
    w.push_back({CAP_SYS_ADMIN, "cap_sys_admin", "netns_discovery"});
    w.push_back({CAP_SYS_PTRACE, "cap_sys_ptrace", "netns_discovery"});
  }
  if (listen_port > 0 && listen_port < 1024) {
    w.push_back({CAP_NET_BIND_SERVICE, "cap_net_bind_service", "web_listen_port"});
  }
  return w;
}

PrivilegeReport DropPrivileges(const std::vector<WantedCapability>& wanted) {
  PrivilegeReport r;
  cap_t current = cap_get_proc();
  if (current == nullptr) {
    r.ok = false;
    r.error = std::string("reading the process's capabilities: ") + std::strerror(errno);
    r.missing = wanted;
    return r;
  }
  cap_t next = cap_init();  // all clear
  for (const WantedCapability& w : wanted) {
    if (Holds(current, w.capability, CAP_PERMITTED)) {
      const cap_value_t v = static_cast<cap_value_t>(w.capability);
      cap_set_flag(next, CAP_PERMITTED, 1, &v, CAP_SET);
      cap_set_flag(next, CAP_EFFECTIVE, 1, &v, CAP_SET);
      r.kept.push_back(w);
    } else {
      r.missing.push_back(w);
    }
  }
  for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    if (!Holds(current, cap, CAP_PERMITTED)) continue;
    bool want = false;
    for (const WantedCapability& w : wanted) want |= w.capability == cap;
    if (!want) r.dropped.push_back(CapName(cap));
  }
  // The ambient set would hand capabilities to anything the agent executes
  // (it executes nothing; clear it anyway).
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  if (cap_set_proc(next) != 0) {
    r.ok = false;
    r.error = std::string("dropping capabilities: ") + std::strerror(errno);
  }
  cap_free(next);
  cap_free(current);
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  return r;
}

Status PrivilegeCollector::Collect(MetricSink& out) {
  constexpr const char* kMissing =
      "1 for each capability a feature wants and the agent does not hold; the feature degrades "
      "(see the agent's log).";
  constexpr const char* kEffective = "Capabilities the agent holds after dropping the others.";
  out.Declare("ibpath_capability_missing", kMissing, prometheus::MetricType::Gauge);
  out.Declare("ibpath_capability_effective", kEffective, prometheus::MetricType::Gauge);
  for (const auto& m : report_.missing) {
    out.Gauge("ibpath_capability_missing", kMissing,
              {{"capability", m.name}, {"feature", m.feature}}, 1);
  }
  for (const auto& k : report_.kept) {
    out.Gauge("ibpath_capability_effective", kEffective, {{"capability", k.name}}, 1);
  }
  if (!report_.ok) return Status::PermissionDenied(report_.error);
  return Status::Ok();
}

}  // namespace ibpath

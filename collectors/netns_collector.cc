#include "collectors/netns_collector.h"

#include <spdlog/spdlog.h>
#include <sys/capability.h>

#include <algorithm>

namespace ibpath {
namespace {

constexpr const char* kKinds[] = {"netdev", "datapath", "alluxio_connections"};

std::string ProcessKinds(const DiscoveredNetns& ns) {
  std::set<std::string> kinds;
  for (const auto& p : ns.processes) kinds.insert(p.kind);
  std::string out;
  for (const auto& k : kinds) out += (out.empty() ? "" : ",") + k;
  return out;
}

}  // namespace

Result<bool> ResolveNetnsDiscovery(const std::string& mode) {
  if (mode == "on") return true;
  if (mode == "off") return false;
  if (mode != "auto") {
    return Status::InvalidArgument("--netns.discover='" + mode + "': want auto, on or off");
  }
  cap_t caps = cap_get_proc();
  if (caps == nullptr) return false;
  cap_flag_value_t admin = CAP_CLEAR;
  cap_get_flag(caps, CAP_SYS_ADMIN, CAP_EFFECTIVE, &admin);
  cap_free(caps);
  return admin == CAP_SET;
}

NetnsCollector::NetnsCollector(Options options) : options_(std::move(options)) {
  auto self = CurrentNetnsInode("/proc");
  if (self.ok()) {
    self_inode_ = *self;
  } else {
    spdlog::warn("{}; other namespaces cannot be told from the agent's own",
                 self.status().message());
  }
  DiscoveredNetns host;
  host.inode = self_inode_;
  host.id = "host";
  Status why;
  bundles_[self_inode_] = MakeBundle(host, &why);
  // The host bundle is never replaced nor dropped (see Reconcile).
  if (bundles_[self_inode_]) host_connections_ = bundles_[self_inode_]->connections.get();
}

NetnsCollector::~NetnsCollector() { Stop(); }

void NetnsCollector::Start() {
  auto it = bundles_.find(self_inode_);
  if (it != bundles_.end() && it->second) it->second->connections->Start();
}

void NetnsCollector::Stop() {
  for (auto& [inode, b] : bundles_) {
    if (b) b->connections->Stop();
  }
}

std::unique_ptr<NetnsCollector::Bundle> NetnsCollector::MakeBundle(const DiscoveredNetns& ns,
                                                                   Status* why) {
  auto handle = NetnsHandle::Open(ns.path);
  if (!handle.ok()) {
    *why = handle.status();
    return nullptr;
  }
  // Entering needs CAP_SYS_ADMIN: find out now, once, rather than at every
  // socket the collectors would open.
  if (Status s = (*handle)->Run([] { return Status::Ok(); }); !s.ok()) {
    *why = s;
    return nullptr;
  }
  auto b = std::make_unique<Bundle>();
  b->info = ns;
  b->handle = *handle;
  const bool own = ns.id == "host";
  if (own) {
    b->config = options_.host_config;
  } else {
    b->own_config = std::make_unique<AlluxioConfigState>(ns.conf_path);
    if (Status s = b->own_config->Reload(); !s.ok()) {
      spdlog::warn("netns {}: {}; judging against Alluxio's defaults", ns.id, s.message());
    }
    b->config = b->own_config.get();
  }
  const std::vector<std::string> flag_devices =
      own ? options_.flag_devices : std::vector<std::string>{};
  b->netdev = std::make_unique<NetdevCollector>(b->handle);
  b->datapath = std::make_unique<DatapathCollector>(
      flag_devices, b->config, own ? options_.host_advertised : nullptr, b->handle);
  b->connections = std::make_unique<AlluxioConnCollector>(flag_devices, b->config, b->handle);
  b->labels = {{"netns", ns.id}};
  if (ns.pod) b->labels.push_back({"pod", *ns.pod});
  if (ns.k8s_namespace) b->labels.push_back({"k8s_namespace", *ns.k8s_namespace});
  if (ns.container) b->labels.push_back({"container", *ns.container});
  return b;
}

void NetnsCollector::Reconcile(const NetnsDiscovery& found) {
  std::set<uint64_t> seen;
  failed_.clear();
  for (const DiscoveredNetns& ns : found.namespaces) {
    seen.insert(ns.inode);
    auto it = bundles_.find(ns.inode);
    if (it != bundles_.end()) {
      it->second->info.processes = ns.processes;
      continue;
    }
    Status why;
    auto b = MakeBundle(ns, &why);
    if (!b) {
      failed_[ns.id] = why.message();
      if (logged_failures_.insert(ns.id).second) {
        spdlog::warn("netns {}: cannot sample it: {}", ns.id, why.message());
      }
      continue;
    }
    spdlog::info("netns {}: following it ({} Alluxio process(es){}{})", ns.id, ns.processes.size(),
                 ns.pod ? ", pod " : "", ns.pod.value_or(""));
    b->connections->Start();
    bundles_[ns.inode] = std::move(b);
    ++appeared_;
  }
  for (auto it = bundles_.begin(); it != bundles_.end();) {
    if (it->first != self_inode_ && !seen.count(it->first)) {
      spdlog::info("netns {}: gone; dropping its series", it->second->info.id);
      it->second->connections->Stop();
      logged_failures_.erase(it->second->info.id);
      it = bundles_.erase(it);
      ++vanished_;
    } else {
      ++it;
    }
  }
}

Status NetnsCollector::Collect(MetricSink& out) {
  if (options_.discover) {
    NetnsDiscovery found = DiscoverNetns(options_.procfs, options_.run_netns_dir, self_inode_);
    unreadable_processes_ = found.unreadable_processes;
    Reconcile(found);
  }

  std::map<std::string, bool> kind_ok;
  std::map<std::string, double> kind_seconds;
  for (const char* k : kKinds) kind_ok[k] = true;
  Status first_error;

  for (auto& [inode, b] : bundles_) {
    if (b->own_config) b->own_config->ReloadIfChanged();
    MetricSink one;
    bool ns_ok = true;
    Collector* parts[] = {b->netdev.get(), b->datapath.get(), b->connections.get()};
    for (std::size_t i = 0; i < 3; ++i) {
      const auto start = std::chrono::steady_clock::now();
      Status s = parts[i]->Collect(one);
      kind_seconds[kKinds[i]] +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (!s.ok()) {
        ns_ok = false;
        kind_ok[kKinds[i]] = false;
        if (first_error.ok()) first_error = s.WithContext("netns " + b->info.id);
        spdlog::warn("netns {}: {} failed: {}", b->info.id, kKinds[i], s.message());
      }
    }
    out.Merge(one.Take(), b->labels);
    out.Gauge("ibpath_netns_collector_success",
              "1 if every collector read all it tried in this network namespace.",
              {{"netns", b->info.id}}, ns_ok ? 1 : 0);
    Labels info = b->labels;
    info.push_back({"inode", std::to_string(b->info.inode)});
    info.push_back({"processes", ProcessKinds(b->info)});
    out.Gauge("ibpath_netns_info",
              "Network namespaces the agent samples: netns id, inode, Alluxio processes in it, "
              "and pod metadata where known.",
              info, 1);
  }
  for (const auto& [id, reason] : failed_) {
    out.Gauge("ibpath_netns_collector_success",
              "1 if every collector read all it tried in this network namespace.", {{"netns", id}},
              0);
  }
  for (const char* k : kKinds) {
    out.Gauge("ibpath_collector_success",
              "1 if the collector's last run read everything it tried to read.", {{"collector", k}},
              kind_ok[k] ? 1 : 0);
    out.Gauge("ibpath_collector_duration_seconds", "How long the collector's last run took.",
              {{"collector", k}}, kind_seconds[k]);
  }
  out.Gauge("ibpath_netns_discovery_enabled",
            "1 if the agent follows Alluxio processes into other network namespaces.", {},
            options_.discover ? 1 : 0);
  out.Counter("ibpath_netns_appeared_total", "Network namespaces that started being sampled.", {},
              static_cast<double>(appeared_));
  out.Counter("ibpath_netns_vanished_total", "Network namespaces dropped because they went away.",
              {}, static_cast<double>(vanished_));
  out.Gauge("ibpath_netns_unreadable_processes",
            "Alluxio processes whose network namespace could not be read at the last discovery.",
            {}, static_cast<double>(unreadable_processes_));
  if (!failed_.empty() && first_error.ok()) {
    first_error = Status::PermissionDenied(std::to_string(failed_.size()) +
                                           " network namespace(s) could not be entered");
  }
  return first_error;
}

}  // namespace ibpath

// netns: runs the per-namespace collectors (netdev, datapath,
// alluxio_connections) for the agent's own network namespace and, with
// discovery on, for every other namespace that holds an Alluxio process
// (pods with a Multus `net1`, `ip netns` namespaces), each from inside its
// namespace: devices, routes, policy rules, sockets and counters are that
// namespace's own. Every series gets `netns` ("host", a /run/netns name or
// "inode:<n>") and, for pods, `pod`, `k8s_namespace` and `container`.
//
// A pod is judged against its own alluxio-site.properties (found through
// /proc/<pid>/root); the agent's --datapath.devices and --alluxio.conf apply
// to its own namespace. Advertised hostnames are resolved for the agent's
// namespace only: a pod's resolver is not the node's.
//
// Churn: namespaces are re-discovered every sample; one that vanished is
// dropped with its series; one that returns with a new inode starts new
// counters (nothing is carried over, so nothing is counted twice). A
// namespace that cannot be entered is reported failed (reason logged once)
// and never stops the others.
//
// Thread-safety: Collect() is not reentrant (the registry serialises it).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "collectors/advertised_hosts.h"
#include "collectors/alluxio_config_state.h"
#include "collectors/alluxio_conn_collector.h"
#include "collectors/collector.h"
#include "collectors/datapath_collector.h"
#include "collectors/netdev_collector.h"
#include "collectors/source/netns.h"

namespace ibpath {

class NetnsCollector : public Collector {
 public:
  struct Options {
    std::string procfs = "/proc";
    std::string run_netns_dir = "/run/netns";
    bool discover = false;
    std::vector<std::string> flag_devices;  // the agent's own namespace only
    const AlluxioConfigState* host_config = nullptr;
    const AdvertisedHosts* host_advertised = nullptr;
  };

  explicit NetnsCollector(Options options);
  ~NetnsCollector() override;

  // Starts the agent's own namespace's collectors (baseline sample, destroy
  // notices); others start when first discovered.
  void Start();
  void Stop();
  Status Collect(MetricSink& out) override;

  // The agent's own namespace's connection collector (null if it could not
  // be set up). It lives as long as this object; safe from any thread.
  AlluxioConnCollector* host_connections() const { return host_connections_; }

 private:
  struct Bundle {
    DiscoveredNetns info;
    std::shared_ptr<const NetnsHandle> handle;
    std::unique_ptr<AlluxioConfigState> own_config;  // pods: their own file
    const AlluxioConfigState* config = nullptr;
    std::unique_ptr<NetdevCollector> netdev;
    std::unique_ptr<DatapathCollector> datapath;
    std::unique_ptr<AlluxioConnCollector> connections;
    Labels labels;
  };

  std::unique_ptr<Bundle> MakeBundle(const DiscoveredNetns& ns, Status* why);
  void Reconcile(const NetnsDiscovery& found);

  const Options options_;
  uint64_t self_inode_ = 0;
  AlluxioConnCollector* host_connections_ = nullptr;
  std::map<uint64_t, std::unique_ptr<Bundle>> bundles_;  // by namespace inode
  // Namespaces that could not be entered: id -> reason (logged once).
  std::map<std::string, std::string> failed_;
  std::set<std::string> logged_failures_;
  uint64_t unreadable_processes_ = 0;
  uint64_t appeared_ = 0, vanished_ = 0;
};

// "auto", "on" or "off"; auto means on when the agent may enter other
// network namespaces (effective CAP_SYS_ADMIN).
Result<bool> ResolveNetnsDiscovery(const std::string& mode);

}  // namespace ibpath

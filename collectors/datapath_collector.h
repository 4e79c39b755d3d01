// datapath: what the agent judges traffic against. The expected data
// devices and where they came from, the Alluxio configuration's health, the
// ports it assigns to each role, and what the advertised hostnames resolve
// to on this node (and whether that lands on a data device).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "collectors/advertised_hosts.h"
#include "collectors/alluxio_config_state.h"
#include "collectors/collector.h"
#include "collectors/source/netlink_route.h"
#include "collectors/source/netns.h"

namespace ibpath {

class DatapathCollector : public Collector {
 public:
  // `advertised` may be null (not resolved here, e.g. for a pod, whose
  // resolver is not the node's); `netns` null: the agent's own namespace.
  DatapathCollector(std::vector<std::string> flag_devices, const AlluxioConfigState* config,
                    const AdvertisedHosts* advertised,
                    std::shared_ptr<const NetnsHandle> netns = nullptr)
      : flag_devices_(std::move(flag_devices)),
        config_(config),
        advertised_(advertised),
        netns_(std::move(netns)) {}
  Status Collect(MetricSink& out) override;

 private:
  std::vector<std::string> flag_devices_;
  const AlluxioConfigState* config_;
  const AdvertisedHosts* advertised_;
  const std::shared_ptr<const NetnsHandle> netns_;
  std::unique_ptr<RouteNetlink> netlink_;
};

}  // namespace ibpath

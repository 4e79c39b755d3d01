// netdev: every interface of the agent's network namespace, its transport
// (infiniband, ethernet, loopback, other), state, MTU and counters, read
// through rtnetlink (not by parsing `ip` output). Names do not matter:
// an IPoIB device is recognised by its link type, whatever it is called.
#pragma once

#include <memory>

#include "collectors/collector.h"
#include "collectors/source/netlink_route.h"
#include "collectors/source/netns.h"

namespace ibpath {

class NetdevCollector : public Collector {
 public:
  // `netns`: the namespace to read (null: the agent's own).
  explicit NetdevCollector(std::shared_ptr<const NetnsHandle> netns = nullptr)
      : netns_(std::move(netns)) {}
  Status Collect(MetricSink& out) override;

 private:
  const std::shared_ptr<const NetnsHandle> netns_;
  std::unique_ptr<RouteNetlink> netlink_;  // opened on first use, reopened after errors
};

}  // namespace ibpath

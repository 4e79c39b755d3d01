// Which devices Alluxio's data path is expected to use, and where that
// expectation came from: --datapath.devices, else the bind.device keys of
// alluxio-site.properties, else every interface whose transport is
// InfiniBand.
// Thread-safety: plain values and pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "collectors/source/alluxio_conf.h"
#include "collectors/source/netlink_route.h"

namespace ibpath {

struct ExpectedDevices {
  std::string source;  // "flag", "alluxio-conf", "auto"
  std::vector<std::string> devices;

  // True when traffic leaving on `device` is on the expected path: the device
  // is expected, or it is the master (bond, team) of an expected device, or
  // an expected device is its master. Routes name the bond, binds may name
  // a member, and either way the bytes ride the same fabric.
  bool Covers(const NetSnapshot& net, std::string_view device) const;
};

// The name of the device a route lookup returned, for labels: the link's
// name, or "if<ifindex>" when the snapshot does not know it (a device that
// appeared after the snapshot was taken).
std::string EgressDeviceName(const NetSnapshot& net, int ifindex);

ExpectedDevices ResolveExpectedDevices(const std::vector<std::string>& flag_devices,
                                       const AlluxioConf& conf, const NetSnapshot& net);

}  // namespace ibpath

#include "collectors/datapath.h"

#include <algorithm>

namespace ibpath {

bool ExpectedDevices::Covers(const NetSnapshot& net, std::string_view device) const {
  auto expected = [&](std::string_view name) {
    return !name.empty() && std::find(devices.begin(), devices.end(), name) != devices.end();
  };
  if (expected(device)) return true;
  const Link* link = net.ByName(device);
  if (link == nullptr) return false;
  if (expected(net.MasterName(*link))) return true;
  for (const Link& l : net.links) {
    if (l.master_ifindex == link->ifindex && expected(l.name)) return true;
  }
  return false;
}

std::string EgressDeviceName(const NetSnapshot& net, int ifindex) {
  const Link* link = net.ByIndex(ifindex);
  return link != nullptr ? link->name : "if" + std::to_string(ifindex);
}

ExpectedDevices ResolveExpectedDevices(const std::vector<std::string>& flag_devices,
                                       const AlluxioConf& conf, const NetSnapshot& net) {
  ExpectedDevices out;
  auto add = [&](const std::string& d) {
    if (std::find(out.devices.begin(), out.devices.end(), d) == out.devices.end()) {
      out.devices.push_back(d);
    }
  };
  if (!flag_devices.empty()) {
    out.source = "flag";
    for (const std::string& d : flag_devices) add(d);
    return out;
  }
  if (!conf.bind_devices.empty()) {
    out.source = "alluxio-conf";
    for (const auto& [key, dev] : conf.bind_devices) add(dev);
    return out;
  }
  out.source = "auto";
  for (const Link& l : net.links) {
    if (l.transport == Transport::kInfiniband) add(l.name);
  }
  return out;
}

}  // namespace ibpath

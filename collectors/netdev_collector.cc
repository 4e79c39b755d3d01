#include "collectors/netdev_collector.h"

namespace ibpath {

Status NetdevCollector::Collect(MetricSink& out) {
  if (!netlink_) {
    auto nl = OpenIn<RouteNetlink>(netns_.get());
    if (!nl.ok()) return nl.status();
    netlink_ = std::move(*nl);
  }
  auto links = netlink_->ReadLinks();
  if (!links.ok()) {
    netlink_.reset();  // a fresh socket next time; a failed dump can leave it mid-stream
    return links.status();
  }
  NetSnapshot net;
  net.links = std::move(*links);
  for (const Link& l : net.links) {
    const Labels dev = {{"device", l.name}};
    out.Gauge("ibpath_netdev_info",
              "Interfaces of the agent's network namespace; transport is infiniband for IPoIB "
              "devices and bonds of them.",
              {{"device", l.name},
               {"transport", std::string(TransportName(l.transport))},
               {"kind", l.kind},
               {"operstate", l.operstate},
               {"master", net.MasterName(l)}},
              1);
    out.Gauge("ibpath_netdev_mtu_bytes", "Interface MTU in bytes.", dev, l.mtu);
    if (!l.stats) continue;
    const LinkStats& s = *l.stats;
    out.Counter("ibpath_netdev_receive_bytes_total", "Bytes received by the interface.", dev,
                static_cast<double>(s.rx_bytes));
    out.Counter("ibpath_netdev_transmit_bytes_total", "Bytes transmitted by the interface.", dev,
                static_cast<double>(s.tx_bytes));
    out.Counter("ibpath_netdev_receive_packets_total", "Packets received by the interface.", dev,
                static_cast<double>(s.rx_packets));
    out.Counter("ibpath_netdev_transmit_packets_total", "Packets transmitted by the interface.",
                dev, static_cast<double>(s.tx_packets));
    out.Counter("ibpath_netdev_receive_errors_total", "Receive errors on the interface.", dev,
                static_cast<double>(s.rx_errors));
    out.Counter("ibpath_netdev_transmit_errors_total", "Transmit errors on the interface.", dev,
                static_cast<double>(s.tx_errors));
    out.Counter("ibpath_netdev_receive_dropped_total", "Received packets dropped.", dev,
                static_cast<double>(s.rx_dropped));
    out.Counter("ibpath_netdev_transmit_dropped_total", "Transmit packets dropped.", dev,
                static_cast<double>(s.tx_dropped));
  }
  return Status::Ok();
}

}  // namespace ibpath

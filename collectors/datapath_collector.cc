#include "collectors/datapath_collector.h"

#include "collectors/datapath.h"

namespace ibpath {

namespace {
const char* Bool(bool b) { return b ? "true" : "false"; }
}  // namespace

Status DatapathCollector::Collect(MetricSink& out) {
  const std::shared_ptr<const AlluxioConf> conf = config_->Current();
  const AlluxioConfigState::ReloadInfo info = config_->Info();

  out.Gauge("ibpath_alluxio_config_info",
            "The alluxio-site.properties the agent judges against (path \"none\": Alluxio's "
            "defaults).",
            {{"path", conf->path.empty() ? "none" : conf->path}}, 1);
  out.Gauge("ibpath_alluxio_config_last_reload_success",
            "1 if the last read of the Alluxio configuration succeeded without problems.", {},
            info.last_success ? 1 : 0);
  out.Gauge("ibpath_alluxio_config_last_reload_success_timestamp_seconds",
            "Unix time of the last successful read of the Alluxio configuration.", {},
            info.last_success_unix_seconds);
  out.Gauge("ibpath_alluxio_config_problems",
            "Malformed lines and unresolvable values in the last read of the Alluxio "
            "configuration.",
            {}, static_cast<double>(info.problems_in_last_read));
  out.Counter("ibpath_alluxio_config_reloads_total", "Reads of the Alluxio configuration.", {},
              static_cast<double>(info.attempts));
  out.Counter("ibpath_alluxio_config_reload_failures_total",
              "Reads of the Alluxio configuration that failed or found problems.", {},
              static_cast<double>(info.failures));
  for (const PortRole& r : conf->roles) {
    out.Gauge(
        "ibpath_alluxio_port_info",
        "TCP port of each Alluxio role, from the configuration or Alluxio's default.",
        {{"role", r.role}, {"port", std::to_string(r.port)}, {"data_path", Bool(r.data_path)}}, 1);
  }

  if (!netlink_) {
    auto nl = OpenIn<RouteNetlink>(netns_.get());
    if (!nl.ok()) return nl.status();
    netlink_ = std::move(*nl);
  }
  auto net = netlink_->ReadSnapshot();
  if (!net.ok()) {
    netlink_.reset();
    return net.status();
  }
  const ExpectedDevices expected = ResolveExpectedDevices(flag_devices_, *conf, *net);
  out.Declare("ibpath_datapath_expected_device",
              "Devices Alluxio data is expected to use; source is flag, alluxio-conf or auto.",
              prometheus::MetricType::Gauge);
  for (const std::string& d : expected.devices) {
    out.Gauge("ibpath_datapath_expected_device",
              "Devices Alluxio data is expected to use; source is flag, alluxio-conf or auto.",
              {{"device", d}, {"source", expected.source}}, 1);
    out.Gauge("ibpath_datapath_expected_device_present",
              "1 if the expected data device exists in this network namespace.", {{"device", d}},
              net->ByName(d) != nullptr ? 1 : 0);
  }

  if (advertised_ == nullptr) return Status::Ok();
  out.Declare("ibpath_alluxio_advertised_address_info",
              "Addresses the advertised Alluxio hostnames resolve to on this node, the device "
              "that owns each, and whether it is an expected data device.",
              prometheus::MetricType::Gauge);
  for (const ResolvedHost& h : advertised_->Results()) {
    out.Gauge("ibpath_alluxio_advertised_host_resolved",
              "1 if the advertised hostname resolved through this node's resolver.",
              {{"property", h.property}, {"host", h.host}}, h.addresses.empty() ? 0 : 1);
    for (const IpAddress& a : h.addresses) {
      const Link* owner = net->OwnerOf(a);
      const std::string device = owner != nullptr ? owner->name : "none";
      out.Gauge("ibpath_alluxio_advertised_address_info",
                "Addresses the advertised Alluxio hostnames resolve to on this node, the device "
                "that owns each, and whether it is an expected data device.",
                {{"property", h.property},
                 {"host", h.host},
                 {"address", a.ToString()},
                 {"device", device},
                 {"on_data_device", Bool(owner != nullptr && expected.Covers(*net, device))}},
                1);
    }
  }
  return Status::Ok();
}

}  // namespace ibpath

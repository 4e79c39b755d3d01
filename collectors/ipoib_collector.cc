#include "collectors/ipoib_collector.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "collectors/infiniband_collector.h"

namespace ibpath {

uint32_t IpoibMaxMtu(IpoibMode mode) {
  switch (mode) {
    case IpoibMode::kDatagram: return kIpoibDatagramMaxMtu;
    case IpoibMode::kConnected: return kIpoibConnectedMaxMtu;
    case IpoibMode::kUnknown: break;
  }
  return 0;
}

uint32_t IpoibExpectedMtu(IpoibMode mode, std::optional<uint32_t> flag) {
  const uint32_t max = IpoibMaxMtu(mode);
  if (flag) return std::min(*flag, max);
  return mode == IpoibMode::kConnected ? kIpoibConnectedDefaultExpectedMtu : max;
}

void IpoibCollector::Export(const IpoibReading& reading, std::optional<uint32_t> expected_mtu,
                            MetricSink& out) {
  using prometheus::MetricType;
  out.Declare("ibpath_ipoib_mode", "IPoIB interfaces by transport mode (connected or datagram).",
              MetricType::Gauge);
  out.Declare("ibpath_ipoib_info",
              "IPoIB interfaces: P_Key, multicast mode, and the HCA (ca) and port they sit on.",
              MetricType::Gauge);
  out.Declare("ibpath_ipoib_mtu_bytes", "MTU of the IPoIB interface.", MetricType::Gauge);
  out.Declare("ibpath_ipoib_mtu_max_bytes",
              "Largest MTU the interface's mode allows: 2044 in datagram mode, 65520 in connected "
              "mode.",
              MetricType::Gauge);
  out.Declare("ibpath_ipoib_mtu_expected_bytes",
              "MTU the interface should run at: --ipoib.expected-mtu capped at the mode's maximum "
              "(default 9000 in connected mode, 2044 in datagram mode).",
              MetricType::Gauge);
  out.Declare("ibpath_ipoib_mtu_below_expected",
              "1 if the interface's MTU is below ibpath_ipoib_mtu_expected_bytes.",
              MetricType::Gauge);
  for (const IpoibInterface& i : reading.interfaces) {
    const Labels dev = {{"device", i.device}};
    out.Gauge("ibpath_ipoib_mode", "",
              {{"device", i.device}, {"mode", std::string(IpoibModeName(i.mode))}}, 1);
    out.Gauge("ibpath_ipoib_info", "",
              {{"device", i.device},
               {"pkey", i.pkey},
               {"umcast", i.umcast ? (*i.umcast ? "1" : "0") : ""},
               {"ca", i.ca},
               {"port", i.port ? std::to_string(*i.port) : ""}},
              1);
    if (i.mtu) out.Gauge("ibpath_ipoib_mtu_bytes", "", dev, *i.mtu);
    if (i.mode == IpoibMode::kUnknown) continue;
    const uint32_t expected = IpoibExpectedMtu(i.mode, expected_mtu);
    out.Gauge("ibpath_ipoib_mtu_max_bytes", "", dev, IpoibMaxMtu(i.mode));
    out.Gauge("ibpath_ipoib_mtu_expected_bytes", "", dev, expected);
    if (i.mtu) out.Gauge("ibpath_ipoib_mtu_below_expected", "", dev, *i.mtu < expected ? 1 : 0);
  }
  out.Gauge("ibpath_read_problems", kReadProblemsHelp, {{"collector", "ipoib"}},
            static_cast<double>(reading.problems.size()));
}

Status IpoibCollector::Collect(MetricSink& out) {
  auto reading = sysfs_.ReadIpoib();
  if (!reading.ok()) {
    Export(IpoibReading{}, expected_mtu_, out);
    return reading.status();
  }
  for (const std::string& p : reading->problems) spdlog::debug("ipoib: {}", p);
  Export(*reading, expected_mtu_, out);
  return Status::Ok();
}

}  // namespace ibpath

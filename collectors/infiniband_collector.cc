#include "collectors/infiniband_collector.h"

#include <spdlog/spdlog.h>

#include <string>

namespace ibpath {
namespace {

std::string CounterMetric(const IbCounterSpec& spec) {
  return std::string("ibpath_ib_port_") + spec.name + "_total";
}

}  // namespace

void InfinibandCollector::Export(const IbReading& reading, MetricSink& out) {
  using prometheus::MetricType;
  out.Declare("ibpath_ib_ca_info", "InfiniBand host channel adapters (CAs) and their firmware.",
              MetricType::Gauge);
  out.Declare("ibpath_ib_ca_read_success", "1 if the CA and its ports could be read.",
              MetricType::Gauge);
  out.Declare("ibpath_ib_port_active",
              "1 if the port's state is ACTIVE and its physical state LinkUp.", MetricType::Gauge);
  out.Declare("ibpath_ib_port_info",
              "HCA ports: state, physical state, link layer (InfiniBand, or Ethernet for RoCE), "
              "LID and subnet manager LID.",
              MetricType::Gauge);
  out.Declare("ibpath_ib_port_rate_bytes_per_second",
              "Signalling rate of the port in bytes per second.", MetricType::Gauge);
  for (const IbCounterSpec& spec : IbCounterSpecs()) {
    out.Declare(CounterMetric(spec), spec.help, MetricType::Counter);
  }
  out.Declare("ibpath_ib_port_hw_events_total", "Driver counters of the port (hw_counters/).",
              MetricType::Counter);
  out.Declare("ibpath_ib_port_saturated",
              "1 for a 32-bit-or-narrower port counter stuck at its maximum: it no longer counts "
              "until cleared (e.g. perfquery -x -R).",
              MetricType::Gauge);

  for (const IbCa& ca : reading.cas) {
    out.Gauge("ibpath_ib_ca_read_success", "", {{"ca", ca.name}}, ca.error.empty() ? 1 : 0);
    if (!ca.error.empty()) continue;
    out.Gauge("ibpath_ib_ca_info", "",
              {{"ca", ca.name},
               {"fw_ver", ca.fw_ver},
               {"hca_type", ca.hca_type},
               {"node_guid", ca.node_guid}},
              1);
    for (const IbPort& p : ca.ports) {
      const Labels port = {{"ca", ca.name}, {"port", std::to_string(p.number)}};
      out.Gauge("ibpath_ib_port_active", "", port, p.active() ? 1 : 0);
      out.Gauge("ibpath_ib_port_info", "",
                {{"ca", ca.name},
                 {"port", std::to_string(p.number)},
                 {"state", IbPortStateName(p.state)},
                 {"phys_state", IbPhysStateName(p.phys_state)},
                 {"link_layer", p.link_layer},
                 {"lid", std::to_string(p.lid)},
                 {"sm_lid", std::to_string(p.sm_lid)}},
                1);
      if (p.rate_gbps) {
        out.Gauge("ibpath_ib_port_rate_bytes_per_second", "", port, *p.rate_gbps * 1e9 / 8);
      }
      for (const IbCounterSpec& spec : IbCounterSpecs()) {
        const auto& v = p.counters.*spec.field;
        if (v) out.Counter(CounterMetric(spec), "", port, static_cast<double>(*v));
      }
      for (const auto& [name, v] : p.counters.hw) {
        out.Counter("ibpath_ib_port_hw_events_total", "",
                    {{"ca", ca.name}, {"port", std::to_string(p.number)}, {"counter", name}},
                    static_cast<double>(v));
      }
      for (const std::string& name : p.counters.saturated) {
        out.Gauge("ibpath_ib_port_saturated", "",
                  {{"ca", ca.name}, {"port", std::to_string(p.number)}, {"counter", name}}, 1);
      }
    }
  }
  out.Gauge("ibpath_read_problems", kReadProblemsHelp, {{"collector", "infiniband"}},
            static_cast<double>(reading.problems.size()));
}

Status InfinibandCollector::Collect(MetricSink& out) {
  Result<IbReading> reading = IbReading{};
  if (umad_ != nullptr) {
    reading = umad_->Read();
    if (reading.ok()) {
      // libibumad does not read counters; sysfs does, for the CAs it returned.
      for (IbCa& ca : reading->cas) {
        if (!ca.error.empty()) continue;
        for (IbPort& p : ca.ports) {
          p.counters = sysfs_.ReadPortCounters(ca.name, p.number, &reading->problems);
        }
      }
    }
  } else {
    reading = sysfs_.ReadInfiniband();
  }
  if (!reading.ok()) {
    Export(IbReading{}, out);
    return reading.status();
  }
  for (const std::string& p : reading->problems) spdlog::debug("infiniband: {}", p);
  Export(*reading, out);
  return Status::Ok();
}

}  // namespace ibpath

#include "collectors/bond_collector.h"

#include <spdlog/spdlog.h>

#include "collectors/infiniband_collector.h"

namespace ibpath {

void BondCollector::Export(const BondReading& reading, MetricSink& out) {
  using prometheus::MetricType;
  out.Declare("ibpath_bond_info",
              "Bonding masters: mode and transport (infiniband when the members are IPoIB).",
              MetricType::Gauge);
  out.Declare("ibpath_bond_up", "1 if the bond's MII status is up.", MetricType::Gauge);
  out.Declare("ibpath_bond_slaves", "Members of the bond.", MetricType::Gauge);
  out.Declare("ibpath_bond_active_slaves", "Members of the bond whose MII status is up.",
              MetricType::Gauge);
  out.Declare("ibpath_bond_slave_up", "1 if the bond member's MII status is up.",
              MetricType::Gauge);
  out.Declare("ibpath_bond_slave_state",
              "Bond members by bonding state (active carries traffic, backup stands by).",
              MetricType::Gauge);
  for (const Bond& b : reading.bonds) {
    const Labels bond = {{"bond", b.name}};
    out.Gauge("ibpath_bond_info", "",
              {{"bond", b.name}, {"mode", b.mode}, {"transport", b.transport}}, 1);
    out.Gauge("ibpath_bond_up", "", bond, b.mii_status == "up" ? 1 : 0);
    int up = 0;
    for (const BondSlave& s : b.slaves) {
      up += s.up() ? 1 : 0;
      out.Gauge("ibpath_bond_slave_up", "", {{"bond", b.name}, {"slave", s.name}}, s.up() ? 1 : 0);
      out.Gauge("ibpath_bond_slave_state", "",
                {{"bond", b.name}, {"slave", s.name}, {"state", s.state}}, 1);
    }
    out.Gauge("ibpath_bond_slaves", "", bond, static_cast<double>(b.slaves.size()));
    out.Gauge("ibpath_bond_active_slaves", "", bond, up);
  }
  out.Gauge("ibpath_read_problems", kReadProblemsHelp, {{"collector", "bond"}},
            static_cast<double>(reading.problems.size()));
}

Status BondCollector::Collect(MetricSink& out) {
  auto reading = sysfs_.ReadBonds();
  if (!reading.ok()) {
    Export(BondReading{}, out);
    return reading.status();
  }
  for (const std::string& p : reading->problems) spdlog::debug("bond: {}", p);
  Export(*reading, out);
  return Status::Ok();
}

}  // namespace ibpath

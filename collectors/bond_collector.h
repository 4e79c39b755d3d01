// bond: every bonding master of the sysfs tree, its mode, how many members
// it has and how many are up, each member's state, and the transport the
// bond runs over (infiniband for a bond of IPoIB interfaces). A 2 x 200 Gbps
// IPoIB bond with one member down still passes traffic at half the rate;
// this is where that shows.
//
// Contract: ibpath_bond_active_slaves counts members whose MII status is up
// (usable), not the one active-backup member carrying traffic; that one has
// state="active" in ibpath_bond_slave_state.
// Thread-safety: as Collector.
#pragma once

#include "collectors/collector.h"
#include "collectors/source/infiniband_sysfs.h"

namespace ibpath {

class BondCollector : public Collector {
 public:
  explicit BondCollector(SysfsReader sysfs) : sysfs_(std::move(sysfs)) {}
  Status Collect(MetricSink& out) override;

  static void Export(const BondReading& reading, MetricSink& out);

 private:
  SysfsReader sysfs_;
};

}  // namespace ibpath

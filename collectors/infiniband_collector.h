// infiniband: every HCA (CA) and port, as ibstat shows them, and the port
// counters from sysfs. An alert can then say "mlx5_0 port 1 is DOWN/Polling"
// instead of "reads are slow".
//
// Contract: CAs and ports come from libibumad when `umad` is given (the agent
// reads the real /sys), else from the sysfs tree at sysfs.root() (fixtures,
// or a host's sysfs mounted elsewhere); counters always come from sysfs. No
// class/infiniband means zero CAs and success. A CA that cannot be read is
// exported with ibpath_ib_ca_read_success 0; unreadable single values are
// skipped and counted in ibpath_read_problems{collector="infiniband"}.
// Thread-safety: as Collector.
#pragma once

#include "collectors/collector.h"
#include "collectors/source/infiniband_sysfs.h"
#include "collectors/source/umad.h"

namespace ibpath {

// HELP of ibpath_read_problems{collector}, shared by the sysfs collectors.
inline constexpr char kReadProblemsHelp[] =
    "Values the collector could not read in its last run (missing, unavailable or malformed "
    "files, failed library calls); everything else was still exported.";

class InfinibandCollector : public Collector {
 public:
  InfinibandCollector(SysfsReader sysfs, UmadReader* umad)
      : sysfs_(std::move(sysfs)), umad_(umad) {}
  Status Collect(MetricSink& out) override;

  // Writes the metrics of one reading; public for tests.
  static void Export(const IbReading& reading, MetricSink& out);

 private:
  SysfsReader sysfs_;
  UmadReader* umad_;  // not owned; may be null
};

}  // namespace ibpath

// kernel_modules: whether the InfiniBand drivers (ib_core, ib_ipoib, ib_umad,
// mlx5_core, mlx5_ib) are loaded, from <sysfs>/module/<name>, so "IB
// interface missing after reboot" can be told apart from "driver not loaded".
// Thread-safety: as Collector.
#pragma once

#include "collectors/collector.h"
#include "collectors/source/infiniband_sysfs.h"

namespace ibpath {

class KernelModuleCollector : public Collector {
 public:
  explicit KernelModuleCollector(SysfsReader sysfs) : sysfs_(std::move(sysfs)) {}
  Status Collect(MetricSink& out) override;

 private:
  SysfsReader sysfs_;
};

}  // namespace ibpath

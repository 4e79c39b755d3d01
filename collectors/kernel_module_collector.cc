#include "collectors/kernel_module_collector.h"

namespace ibpath {

Status KernelModuleCollector::Collect(MetricSink& out) {
  for (const KernelModule& m : sysfs_.ReadModules(IbKernelModules())) {
    out.Gauge("ibpath_kernel_module_loaded",
              "1 if the kernel module is loaded (or built in with parameters), from "
              "/sys/module.",
              {{"module", m.name}}, m.loaded ? 1 : 0);
  }
  return Status::Ok();
}

}  // namespace ibpath

// Collector: one unit per thing sampled, behind a one-method interface.
//
// Contract: Collect() appends what it could read to `out` and returns OK, or
// returns the first error it met. A non-OK status marks the collector failed
// for this scrape (ibpath_collector_success = 0) but whatever it appended is
// still exported: partial results are results. It must not throw; the
// registry treats an exception like an error status.
// Thread-safety: the registry never calls Collect() of one collector
// concurrently with itself; collectors with background threads guard their
// own shared state.
#pragma once

#include "collectors/metric_sink.h"
#include "collectors/source/status.h"

namespace ibpath {

class Collector {
 public:
  virtual ~Collector() = default;
  virtual Status Collect(MetricSink& out) = 0;
};

}  // namespace ibpath

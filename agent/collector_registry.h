// CollectorRegistry: runs every registered collector for a scrape and adds
// ibpath_collector_success / ibpath_collector_duration_seconds for each.
//
// Contract: a failing or throwing collector never fails the scrape; what it
// appended is kept and its success is 0. Scrapes that arrive while a
// collection runs, or within `min_interval` of the last one, share its result,
// so a scrape storm costs one collection per interval.
// Thread-safety: Collect() is safe from any number of HTTP threads.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "collectors/collector.h"

namespace ibpath {

class CollectorRegistry : public prometheus::Collectable {
 public:
  explicit CollectorRegistry(std::chrono::milliseconds min_interval, std::string version)
      : min_interval_(min_interval), version_(std::move(version)) {}

  // Not thread-safe: register everything before serving.
  void Register(std::string name, Collector* collector);

  std::vector<prometheus::MetricFamily> Collect() const override;
  // Collections actually run (not shared); for tests and self-metrics.
  uint64_t collections() const;

 private:
  std::vector<prometheus::MetricFamily> CollectNow() const;

  struct Entry {
    std::string name;
    Collector* collector;
  };
  std::vector<Entry> entries_;
  const std::chrono::milliseconds min_interval_;
  const std::string version_;

  mutable std::mutex mu_;
  mutable std::condition_variable done_;
  mutable bool in_flight_ = false;
  mutable uint64_t generation_ = 0;
  mutable uint64_t collections_ = 0;
  mutable std::chrono::steady_clock::time_point last_at_{};
  mutable std::vector<prometheus::MetricFamily> last_;
};

}  // namespace ibpath

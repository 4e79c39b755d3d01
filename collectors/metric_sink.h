// MetricSink: what a collector writes its samples into. It builds
// prometheus-cpp MetricFamily values, keeping the metric model apart from
// HTTP and from the collectors' own data structures.
//
// Contract: the first Add* call for a name fixes its help text and type; a
// later call with another type is a programming error and is dropped (and
// counted in dropped_samples()) rather than producing invalid exposition.
// Thread-safety: not thread-safe; one sink per collection.
#pragma once

#include <prometheus/metric_family.h>

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ibpath {

using Labels = std::vector<std::pair<std::string, std::string>>;

// `v` if it is valid UTF-8, else a copy with every byte that does not start
// a valid sequence replaced by U+FFFD. Label values come from sysfs, interface
// names and configuration, which may hold any bytes; one invalid label value
// makes Prometheus reject the whole scrape.
std::string ValidUtf8(std::string_view v);

class MetricSink {
 public:
  void Gauge(std::string_view name, std::string_view help, const Labels& labels, double value);
  void Counter(std::string_view name, std::string_view help, const Labels& labels, double value);
  // Declares a family with no samples yet so that it appears with HELP/TYPE
  // even when empty (e.g. no Alluxio connections right now).
  void Declare(std::string_view name, std::string_view help, prometheus::MetricType type);
  // Adds what another sink collected, with `extra` labels put first on every
  // sample (e.g. netns="host" for one namespace's collectors).
  void Merge(std::vector<prometheus::MetricFamily> families, const Labels& extra);

  // Moves out every family, sorted by name (stable, diffable output).
  std::vector<prometheus::MetricFamily> Take();
  std::size_t dropped_samples() const { return dropped_; }

 private:
  prometheus::MetricFamily* Family(std::string_view name, std::string_view help,
                                   prometheus::MetricType type);
  void Add(std::string_view name, std::string_view help, prometheus::MetricType type,
           const Labels& labels, double value);

  std::vector<prometheus::MetricFamily> families_;
  std::unordered_map<std::string, std::size_t> index_;
  std::size_t dropped_ = 0;
};

}  // namespace ibpath

// `ibpath-agent check`: the seed's manual checklist (drivers, HCA ports,
// IPoIB mode and MTU, bonds, the data devices, the worker's listeners and
// advertised host, where Alluxio's data connections leave, the probe) as one
// command, judged from one collection of the agent's own metrics, so the
// command and the alerts can never disagree about what they saw.
//
// Contract: EvaluateChecks() is a pure function of the metric families; a
// family that is absent (a collector that does not exist on this build or
// found nothing) makes its check SKIP, never FAIL. Any FAIL means the data
// path is unhealthy (exit status 1).
// Thread-safety: stateless functions.
#pragma once

#include <prometheus/metric_family.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ibpath {

enum class CheckStatus { kOk, kWarn, kFail, kSkip };

// One sample of a family: its labels by name and its value.
struct MetricSample {
  std::map<std::string, std::string> labels;
  double value = 0;
  // The label's value, "" when absent.
  std::string Label(const std::string& key) const {
    auto it = labels.find(key);
    return it == labels.end() ? std::string() : it->second;
  }
};

// The metric families of one collection indexed by name (the checks and the
// status page read the same index); a name that is absent is not the same as
// a name with no samples (the collector ran and found nothing).
class MetricIndex {
 public:
  explicit MetricIndex(const std::vector<prometheus::MetricFamily>& families);
  bool Has(const std::string& name) const { return by_name_.count(name) != 0; }
  const std::vector<MetricSample>& Get(const std::string& name) const;
  // The first sample's value.
  std::optional<double> Value(const std::string& name) const;
  // The sum over distinct label sets (every network namespace's series).
  std::optional<double> Sum(const std::string& name) const;

 private:
  std::map<std::string, std::vector<MetricSample>> by_name_;
};

struct CheckResult {
  std::string name;   // stable identifier, e.g. "data_connections"
  std::string title;  // what the seed asks the operator to verify
  CheckStatus status = CheckStatus::kSkip;
  std::string detail;  // what was found, with device and interface names
  std::string fix;     // for WARN/FAIL: the seed's remedy, names filled in
  // Evidence that Alluxio data left on a device that is not a data device
  // (data connections, or the probe's bytes).
  bool off_fabric = false;
};

std::vector<CheckResult> EvaluateChecks(const std::vector<prometheus::MetricFamily>& families);

// True when no check failed.
bool Healthy(const std::vector<CheckResult>& results);

// Where Alluxio's data travels, from the checks: kFallback when a check saw
// data off the fabric; kOnFabric when data connections (or the probe) were
// seen and all on a data device; kUnknown when nothing could tell (no data
// connections and no probe).
enum class DataPathVerdict { kOnFabric, kFallback, kUnknown };
DataPathVerdict JudgeDataPath(const std::vector<CheckResult>& results);

std::string_view CheckStatusName(CheckStatus s);  // "OK", "WARN", "FAIL", "SKIP"

// One line per check, fixes indented under failures.
std::string FormatChecksText(const std::vector<CheckResult>& results);
// {"healthy": bool, "checks": [{"name","title","status","detail","fix"}]}
std::string FormatChecksJson(const std::vector<CheckResult>& results);

}  // namespace ibpath

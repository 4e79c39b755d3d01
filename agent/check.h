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

#include <string>
#include <vector>

namespace ibpath {

enum class CheckStatus { kOk, kWarn, kFail, kSkip };

struct CheckResult {
  std::string name;    // stable identifier, e.g. "data_connections"
  std::string title;   // what the seed asks the operator to verify
  CheckStatus status = CheckStatus::kSkip;
  std::string detail;  // what was found, with device and interface names
  std::string fix;     // for WARN/FAIL: the seed's remedy, names filled in
};

std::vector<CheckResult> EvaluateChecks(const std::vector<prometheus::MetricFamily>& families);

// True when no check failed.
bool Healthy(const std::vector<CheckResult>& results);

std::string_view CheckStatusName(CheckStatus s);  // "OK", "WARN", "FAIL", "SKIP"

// One line per check, fixes indented under failures.
std::string FormatChecksText(const std::vector<CheckResult>& results);
// {"healthy": bool, "checks": [{"name","title","status","detail","fix"}]}
std::string FormatChecksJson(const std::vector<CheckResult>& results);

}  // namespace ibpath

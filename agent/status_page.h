// The node status page the agent serves at `/`: the data-path verdict, the
// expected data devices, IPoIB interfaces, HCA ports, bonds, Alluxio
// connections and listeners, the last probe, the `check` checklist and the
// collectors that failed, from one collection of the agent's own metrics.
//
// Contract: RenderStatusPage() is a pure function of its arguments. The
// verdict and the checklist are EvaluateChecks()/JudgeDataPath() (the same as
// `ibpath-agent check`), never re-derived here. Every value that comes from
// the system or the configuration is HTML-escaped. The page is self-contained:
// inline CSS, no JavaScript, no external URL; it refreshes itself every 10 s.
// Thread-safety: stateless.
#pragma once

#include <prometheus/metric_family.h>

#include <ctime>
#include <string>
#include <utility>
#include <vector>

namespace ibpath {

struct StatusPageInfo {
  std::string version;
  std::string hostname;
  std::string telemetry_path = "/metrics";
  // Extra endpoints (path, description), listed after the telemetry path and
  // /healthz.
  std::vector<std::pair<std::string, std::string>> endpoints;
  std::time_t now = 0;  // when the page was rendered (Unix time)
};

std::string RenderStatusPage(const std::vector<prometheus::MetricFamily>& families,
                             const StatusPageInfo& info);

// &, <, >, " and ' as character references.
std::string HtmlEscape(const std::string& text);

}  // namespace ibpath

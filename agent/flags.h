// Command-line flags of ibpath-agent, Prometheus-exporter style
// (--web.listen-address=:9879, --path.sysfs=/sys, ...).
//
// Contract: ParseFlags never exits or prints; it returns the flags or an
// InvalidArgument status whose message is the one line to show the user.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "collectors/source/status.h"

namespace ibpath {

struct Flags {
  std::string web_listen_address = ":9879";
  std::string web_telemetry_path = "/metrics";
  std::string path_sysfs = "/sys";
  std::string path_procfs = "/proc";
  std::string alluxio_conf;                   // empty: search Alluxio's locations
  std::vector<std::string> datapath_devices;  // empty: from the Alluxio conf, else auto
  std::string log_level = "info";
  std::chrono::milliseconds scrape_min_interval{1000};
  bool show_version = false;
  bool show_help = false;
};

Result<Flags> ParseFlags(const std::vector<std::string>& args);
std::string FlagsHelp();

}  // namespace ibpath

// Command-line flags of ibpath-agent, Prometheus-exporter style
// (--web.listen-address=:9879, --path.sysfs=/sys, ...).
//
// Contract: ParseFlags never exits or prints; it returns the flags or an
// InvalidArgument status whose message is the one line to show the user.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "collectors/source/status.h"

namespace ibpath {

struct Flags {
  std::string web_listen_address = ":9879";
  std::string web_telemetry_path = "/metrics";
  std::string web_config_file;  // empty: plain HTTP, no authentication
  std::string path_sysfs = "/sys";
  std::string path_procfs = "/proc";
  std::optional<uint32_t> ipoib_expected_mtu;  // empty: 9000 connected, 2044 datagram
  std::string alluxio_conf;                    // empty: search Alluxio's locations
  std::vector<std::string> datapath_devices;   // empty: from the Alluxio conf, else auto
  std::string log_level = "info";
  std::chrono::milliseconds scrape_min_interval{1000};
  // Data-path probe (issue 4); no probe runs on a schedule without a URL.
  std::string probe_url;        // full URL, or built from probe_worker + probe_path
  std::string probe_worker;     // host[:port] of a worker's HTTP server
  std::string probe_path;       // full UFS path of the file to read
  std::string probe_fuse_path;  // a file on an Alluxio FUSE mount to read every interval
  std::chrono::milliseconds probe_interval{60000};
  std::chrono::milliseconds probe_timeout{30000};
  uint64_t probe_bytes = 64ull << 20;
  std::string probe_device;  // empty: alluxio.user.network.data.bind.device, else none
  bool probe_pin_device = false;
  int probe_max_concurrent = 2;
  std::string netns_discover = "auto";  // auto: on with CAP_SYS_ADMIN
  bool show_version = false;
  bool show_help = false;
};

Result<Flags> ParseFlags(const std::vector<std::string>& args);
std::string FlagsHelp();

// A byte size: 1048576, 512KiB, 64MiB, 1GiB (1 byte to 1 TiB).
Status ParseSize(const std::string& v, uint64_t* out);

}  // namespace ibpath

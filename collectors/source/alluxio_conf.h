// The parts of an Alluxio configuration that decide where data should flow:
// which ports carry which role, which devices services bind to, which
// hostnames nodes advertise. Read from alluxio-site.properties with Alluxio's
// own defaults where a key is unset.
//
// Contract: LoadAlluxioConf fails only when the file cannot be read; bad lines
// and unresolvable substitutions become `problems` and leave the rest usable.
// Thread-safety: AlluxioConf is an immutable value once built; share it as
// shared_ptr<const AlluxioConf>.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/source/properties.h"
#include "collectors/source/status.h"

namespace ibpath {

// One TCP port Alluxio serves on, and what runs over it.
struct PortRole {
  std::string role;      // worker_data, worker_rpc, ... (metric label)
  std::string property;  // the key that sets the port
  uint16_t port = 0;
  bool data_path = false;  // carries worker <-> client data (must ride the fabric)
  bool operator==(const PortRole&) const = default;
};

// The built-in table: role, property, Alluxio default, data path or not.
const std::vector<PortRole>& DefaultPortRoles();

// Properties that bind a data-path socket to a device (bind.device keys).
const std::vector<std::string>& DataBindDeviceProperties();

// Properties whose value is the host a node advertises to its peers.
const std::vector<std::string>& AdvertisedHostProperties();

struct AlluxioConf {
  std::string path;                           // file read; empty when no configuration was found
  std::map<std::string, std::string> values;  // resolved key -> value
  std::vector<PropertyProblem> problems;      // malformed lines, bad substitutions, bad ports
  std::vector<PortRole> roles;                // defaults overridden by the file
  // bind.device property -> device named, in DataBindDeviceProperties order.
  std::vector<std::pair<std::string, std::string>> bind_devices;
  // advertised-host property -> host, for those set.
  std::vector<std::pair<std::string, std::string>> advertised_hosts;

  const PortRole* RoleForPort(uint16_t port) const;
  std::vector<uint16_t> Ports() const;
};

// Builds an AlluxioConf from already-read file text. `path` is for messages.
AlluxioConf BuildAlluxioConf(std::string_view path, std::string_view text);

// The configuration with no file at all: every default.
AlluxioConf DefaultAlluxioConf();

// Where alluxio-site.properties is, searched the way Alluxio searches:
// explicit flag, then $ALLUXIO_CONF_DIR, $ALLUXIO_HOME/conf, ~/.alluxio/,
// /etc/alluxio/. `getenv` and `exists` are seams for tests. Returns the
// empty string when none exists (running with Alluxio's defaults is normal
// on a node whose Alluxio is configured elsewhere).
std::string LocateAlluxioSiteProperties(
    std::string_view flag_value,
    const std::function<std::optional<std::string>(const char*)>& getenv,
    const std::function<bool(const std::string&)>& exists);

}  // namespace ibpath

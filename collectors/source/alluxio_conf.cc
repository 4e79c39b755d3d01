#include "collectors/source/alluxio_conf.h"

#include <charconv>

namespace ibpath {

const std::vector<PortRole>& DefaultPortRoles() {
  // Names and defaults from Alluxio's PropertyKey. The first four carry data
  // between workers and clients; the rest are control or UI traffic, which
  // the seed says need not ride the fabric.
  static const std::vector<PortRole> kRoles = {
      {"worker_rpc", "alluxio.worker.rpc.port", 29999, true},
      {"worker_data", "alluxio.worker.data.port", 29997, true},
      {"worker_http", "alluxio.worker.http.server.port", 28080, true},
      {"worker_rest", "alluxio.worker.rest.port", 29998, true},
      {"worker_web", "alluxio.worker.web.port", 30000, false},
      {"master_rpc", "alluxio.master.rpc.port", 19998, false},
      {"master_web", "alluxio.master.web.port", 19999, false},
      {"fuse_web", "alluxio.fuse.web.port", 49999, false},
  };
  return kRoles;
}

const std::vector<std::string>& DataBindDeviceProperties() {
  static const std::vector<std::string> kKeys = {
      "alluxio.worker.data.bind.device",
      "alluxio.worker.rpc.bind.device",
      "alluxio.user.network.data.bind.device",
  };
  return kKeys;
}

const std::vector<std::string>& AdvertisedHostProperties() {
  static const std::vector<std::string> kKeys = {
      "alluxio.worker.hostname",
      "alluxio.user.hostname",
  };
  return kKeys;
}

const PortRole* AlluxioConf::RoleForPort(uint16_t port) const {
  for (const PortRole& r : roles) {
    if (r.port == port) return &r;
  }
  return nullptr;
}

std::vector<uint16_t> AlluxioConf::Ports() const {
  std::vector<uint16_t> ports;
  for (const PortRole& r : roles) ports.push_back(r.port);
  return ports;
}

namespace {

// Alluxio's built-in defaults that site files commonly reference.
std::optional<std::string> BuiltinDefault(std::string_view key) {
  static const std::map<std::string, std::string, std::less<>> kDefaults = [] {
    std::map<std::string, std::string, std::less<>> m = {
        {"alluxio.home", "/opt/alluxio"},
        {"alluxio.conf.dir", "${alluxio.home}/conf"},
        {"alluxio.work.dir", "${alluxio.home}"},
        {"alluxio.logs.dir", "${alluxio.work.dir}/logs"},
    };
    for (const PortRole& r : DefaultPortRoles()) m.emplace(r.property, std::to_string(r.port));
    return m;
  }();
  auto it = kDefaults.find(key);
  if (it == kDefaults.end()) return std::nullopt;
  return it->second;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

void ApplyFile(AlluxioConf& conf, const Properties& props) {
  auto line_of = [&](const std::string& key) {
    auto it = props.entries.find(key);
    return it == props.entries.end() ? 0 : it->second.line;
  };
  for (PortRole& r : conf.roles) {
    auto it = conf.values.find(r.property);
    if (it == conf.values.end()) continue;
    std::string_view v = Trim(it->second);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), port);
    if (ec != std::errc() || end != v.data() + v.size() || port == 0 || port > 65535) {
      conf.problems.push_back({line_of(r.property), r.property,
                               "'" + std::string(v) + "' is not a TCP port; using the default " +
                                   std::to_string(r.port)});
      continue;
    }
    r.port = static_cast<uint16_t>(port);
  }
  for (const std::string& key : DataBindDeviceProperties()) {
    auto it = conf.values.find(key);
    if (it == conf.values.end()) continue;
    std::string_view dev = Trim(it->second);
    if (dev.empty()) continue;
    conf.bind_devices.emplace_back(key, std::string(dev));
  }
  for (const std::string& key : AdvertisedHostProperties()) {
    auto it = conf.values.find(key);
    if (it == conf.values.end()) continue;
    std::string_view host = Trim(it->second);
    if (host.empty()) continue;
    conf.advertised_hosts.emplace_back(key, std::string(host));
  }
}

}  // namespace

AlluxioConf DefaultAlluxioConf() {
  AlluxioConf conf;
  conf.roles = DefaultPortRoles();
  return conf;
}

AlluxioConf BuildAlluxioConf(std::string_view path, std::string_view text) {
  AlluxioConf conf = DefaultAlluxioConf();
  conf.path = std::string(path);
  Properties props = ParseProperties(text);
  ResolvedProperties resolved = ResolveSubstitutions(props, BuiltinDefault);
  conf.problems = props.problems;
  conf.problems.insert(conf.problems.end(), resolved.problems.begin(), resolved.problems.end());
  conf.values = resolved.values;
  ApplyFile(conf, props);
  return conf;
}

std::string LocateAlluxioSiteProperties(
    std::string_view flag_value,
    const std::function<std::optional<std::string>(const char*)>& getenv,
    const std::function<bool(const std::string&)>& exists) {
  if (!flag_value.empty()) return std::string(flag_value);
  constexpr const char* kFile = "alluxio-site.properties";
  std::vector<std::string> candidates;
  if (auto dir = getenv("ALLUXIO_CONF_DIR"); dir && !dir->empty()) {
    candidates.push_back(*dir + "/" + kFile);
  }
  if (auto home = getenv("ALLUXIO_HOME"); home && !home->empty()) {
    candidates.push_back(*home + "/conf/" + kFile);
  }
  if (auto home = getenv("HOME"); home && !home->empty()) {
    candidates.push_back(*home + "/.alluxio/" + kFile);
  }
  candidates.push_back(std::string("/etc/alluxio/") + kFile);
  for (const std::string& c : candidates) {
    if (exists(c)) return c;
  }
  return "";
}

}  // namespace ibpath
